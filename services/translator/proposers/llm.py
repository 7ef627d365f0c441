"""Shared machinery of the LLM-backed proposers: prompt → n calls with retries → parsed candidates."""

from __future__ import annotations

import asyncio
import random
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from kernelwright.gpu_evaluator.pool import candidate_id
from kernelwright.translator.proposers.base import ProposalRequest, ProposalResult, Usage
from kernelwright.translator.proposers.config import ProposerSettings
from kernelwright.translator.proposers.parsing import parse_answer
from kernelwright.translator.proposers.pricing import PriceTable
from kernelwright.translator.proposers.prompts import RenderedPrompt, build_prompt
from kernelwright.translator.proposers.retry import Failure, RetryPolicy, call_with_retries


@dataclass
class Completion:
    text: str
    tool_inputs: list[dict[str, Any]] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)


class LLMProposer(ABC):
    """Subclasses implement one chat call (``_complete``) and error classification (``_classify``)."""

    backend: str = "llm"

    def __init__(self, settings: ProposerSettings, *, model: str, endpoint: str, prices: PriceTable | None = None,
                 rng: random.Random | None = None) -> None:
        self.settings = settings
        self.model = model
        self.endpoint = endpoint
        self.name = f"{self.backend}:{model}"
        self.prices = prices or PriceTable.load(settings.prices_file)
        self.policy = RetryPolicy(
            max_retries=settings.max_retries,
            backoff_initial_s=settings.backoff_initial_s,
            backoff_max_s=settings.backoff_max_s,
            deadline_s=settings.deadline_s,
        )
        self._rng = rng or random.Random()
        self.retries = 0  # retries made over this proposer's life (for metrics/tests)

    @abstractmethod
    async def _complete(self, prompt: RenderedPrompt, request: ProposalRequest) -> Completion: ...

    @abstractmethod
    def _classify(self, exc: BaseException) -> Failure | None: ...

    def _price(self, usage: Usage) -> Usage:
        usage.cost_usd, usage.priced = self.prices.cost(
            self.model, input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
            cache_read=usage.cache_read_tokens, cache_write=usage.cache_write_tokens,
        )
        usage.calls = 1
        return usage

    def _count_retry(self, attempt: int, failure: Failure, delay: float) -> None:
        self.retries += 1

    async def _one(self, prompt: RenderedPrompt, request: ProposalRequest) -> ProposalResult:
        completion = await call_with_retries(
            lambda: self._complete(prompt, request),
            classify=self._classify, policy=self.policy, endpoint=self.endpoint, rng=self._rng,
            on_retry=self._count_retry,
        )
        usage = self._price(completion.usage)
        problems: list[str] = []
        if not usage.priced:
            problems.append(f"no price for model {self.model!r} in the price table; cost counted as 0")
        n_inputs = len(request.input_specs)
        parsed = parse_answer(
            completion.text, request.format, tool_inputs=completion.tool_inputs,
            input_names=[f"in{i}" for i in range(n_inputs)] if n_inputs else None,
            param_names=request.parameter_names, proposer=self.name,
        )
        for c in parsed.candidates:
            if request.program is not None:
                c.program.CopyFrom(request.program)
            for att in request.history[-1:]:
                if att.candidate.id:
                    c.parent_ids.append(att.candidate.id)
            c.id = candidate_id(c)
        return ProposalResult(parsed.candidates, usage, completion.text, problems + parsed.problems)

    async def propose(self, request: ProposalRequest) -> ProposalResult:
        prompt = build_prompt(request)
        parts = await asyncio.gather(*(self._one(prompt, request) for _ in range(max(1, request.n))))
        result = ProposalResult()
        for p in parts:
            result.extend(p)
        return result
