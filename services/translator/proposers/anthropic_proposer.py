"""Proposer backed by the Anthropic Messages API (prompt caching, tool use, our own retries)."""

from __future__ import annotations

from typing import Any

import anthropic

from kernelwright.translator.proposers.base import ProposalRequest, Usage
from kernelwright.translator.proposers.config import ProposerSettings, resolve_secret
from kernelwright.translator.proposers.llm import Completion, LLMProposer
from kernelwright.translator.proposers.parsing import SUBMIT_TOOL
from kernelwright.translator.proposers.prompts import RenderedPrompt
from kernelwright.translator.proposers.retry import RETRYABLE_STATUS, Failure, parse_retry_after

CACHE = {"type": "ephemeral"}


def classify_sdk_error(exc: BaseException, sdk: Any) -> Failure | None:
    """Shared by the anthropic and openai SDKs (same exception shapes)."""
    if isinstance(exc, sdk.APITimeoutError):
        return Failure(True, "request timed out")
    if isinstance(exc, sdk.APIConnectionError):
        return Failure(True, f"connection error: {exc}")
    if isinstance(exc, sdk.APIStatusError):
        status = exc.status_code
        headers = getattr(exc.response, "headers", None)
        reason = f"HTTP {status}" + (" overloaded" if status == 529 else "") + f": {str(exc)[:200]}"
        return Failure(status in RETRYABLE_STATUS, reason, parse_retry_after(headers))
    return None


class AnthropicProposer(LLMProposer):
    backend = "anthropic"

    def __init__(self, settings: ProposerSettings, **kw: Any) -> None:
        key = resolve_secret(settings, "anthropic_api_key", "anthropic")
        self.client = anthropic.AsyncAnthropic(
            api_key=key, base_url=settings.anthropic_base_url, max_retries=0,
            timeout=settings.request_timeout_s,
        )
        super().__init__(settings, model=settings.anthropic_model,
                         endpoint=f"anthropic endpoint {str(self.client.base_url).rstrip('/')}", **kw)

    def request_params(self, prompt: RenderedPrompt) -> dict[str, Any]:
        # Two cache breakpoints: the rules (shared by every task) and the task context with its
        # stepping stones (shared by every call for the task). Tools precede system in the prefix.
        params: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self.settings.max_output_tokens,
            "system": [
                {"type": "text", "text": prompt.system, "cache_control": CACHE},
                {"type": "text", "text": prompt.context, "cache_control": CACHE},
            ],
            "messages": [{"role": "user", "content": prompt.user}],
            "tools": [SUBMIT_TOOL],
            "tool_choice": {"type": "auto"},
        }
        if self.settings.temperature is not None:
            params["temperature"] = self.settings.temperature
        return params

    async def _complete(self, prompt: RenderedPrompt, request: ProposalRequest) -> Completion:
        msg = await self.client.messages.create(**self.request_params(prompt), timeout=self.settings.request_timeout_s)
        texts, tools = [], []
        for block in msg.content or []:
            if block.type == "text":
                texts.append(block.text)
            elif block.type == "tool_use" and block.name == SUBMIT_TOOL["name"]:
                tools.append(dict(block.input) if isinstance(block.input, dict) else {"_raw": block.input})
        u = msg.usage
        usage = Usage(
            input_tokens=u.input_tokens or 0,
            output_tokens=u.output_tokens or 0,
            cache_read_tokens=getattr(u, "cache_read_input_tokens", None) or 0,
            cache_write_tokens=getattr(u, "cache_creation_input_tokens", None) or 0,
        )
        return Completion("\n".join(texts), tools, usage)

    def _classify(self, exc: BaseException) -> Failure | None:
        return classify_sdk_error(exc, anthropic)
