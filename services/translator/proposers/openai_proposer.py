"""Proposer backed by an OpenAI-compatible chat endpoint (a local vLLM / SGLang server)."""

from __future__ import annotations

from typing import Any

import openai

from kernelwright.translator.proposers.anthropic_proposer import classify_sdk_error
from kernelwright.translator.proposers.base import ProposalRequest, Usage
from kernelwright.translator.proposers.config import ProposerSettings, require, resolve_secret
from kernelwright.translator.proposers.llm import Completion, LLMProposer
from kernelwright.translator.proposers.prompts import RenderedPrompt
from kernelwright.translator.proposers.retry import Failure


class OpenAICompatibleProposer(LLMProposer):
    backend = "openai"

    def __init__(self, settings: ProposerSettings, **kw: Any) -> None:
        base_url = require(settings, "openai_base_url", "openai")
        model = require(settings, "openai_model", "openai")
        key = resolve_secret(settings, "openai_api_key", "openai")
        self.client = openai.AsyncOpenAI(api_key=key, base_url=base_url, max_retries=0,
                                         timeout=settings.request_timeout_s)
        super().__init__(settings, model=model, endpoint=f"openai endpoint {base_url.rstrip('/')}", **kw)

    def request_params(self, prompt: RenderedPrompt) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self.settings.max_output_tokens,
            # The shared prefix (rules, then task context) first, so servers with prefix caching reuse it.
            "messages": [
                {"role": "system", "content": prompt.system + "\n\n" + prompt.context},
                {"role": "user", "content": prompt.user},
            ],
        }
        if self.settings.temperature is not None:
            params["temperature"] = self.settings.temperature
        return params

    async def _complete(self, prompt: RenderedPrompt, request: ProposalRequest) -> Completion:
        resp = await self.client.chat.completions.create(**self.request_params(prompt),
                                                         timeout=self.settings.request_timeout_s)
        text = ""
        if resp.choices:
            text = resp.choices[0].message.content or ""
        u = resp.usage
        usage = Usage()
        if u is not None:
            details = getattr(u, "prompt_tokens_details", None)
            cached = (getattr(details, "cached_tokens", None) or 0) if details is not None else 0
            usage = Usage(input_tokens=max(0, (u.prompt_tokens or 0) - cached),
                          output_tokens=u.completion_tokens or 0, cache_read_tokens=cached)
        return Completion(text, [], usage)

    def _classify(self, exc: BaseException) -> Failure | None:
        return classify_sdk_error(exc, openai)
