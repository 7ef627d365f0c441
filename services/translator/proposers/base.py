"""The proposer facade: request/result types, errors and the ``Proposer`` protocol."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, NamedTuple, Protocol, runtime_checkable

from kernelwright.common.v1 import kernel_pb2, task_pb2, verdict_pb2

__all__ = [
    "Attempt",
    "ProposalRequest",
    "ProposalResult",
    "Proposer",
    "ProposerConfigError",
    "ProposerError",
    "ProposerUnavailable",
    "SteppingStone",
    "Usage",
]


class ProposerError(Exception):
    """Base class of proposer errors (bad model output is never an error: see ``problems``)."""


class ProposerConfigError(ProposerError):
    """A proposer cannot be built: a setting is missing or invalid (the message names it)."""


class ProposerUnavailable(ProposerError):
    """The model endpoint failed after the bounded retries (the message names the endpoint)."""

    def __init__(self, message: str, *, endpoint: str = "", attempts: int = 0) -> None:
        super().__init__(message)
        self.endpoint = endpoint
        self.attempts = attempts


class SteppingStone(NamedTuple):
    """A verified kernel of a related task, shown to the model as a starting point."""

    cuda_source: str
    speedup: float
    notes: str = ""


class Attempt(NamedTuple):
    """A previous candidate and the verdict it got (fed back to the model)."""

    candidate: kernel_pb2.KernelCandidate
    verdict: verdict_pb2.Verdict


@dataclass
class ProposalRequest:
    task_name: str
    task_source: str
    functional_source: str
    format: int = kernel_pb2.CANDIDATE_FORMAT_KERNELBENCH  # kernel_pb2.CandidateFormat
    ops: list[str] = field(default_factory=list)
    input_specs: list[task_pb2.TensorSpec] = field(default_factory=list)
    target_gpu: str = ""
    stepping_stones: list[SteppingStone] = field(default_factory=list)
    history: list[Attempt] = field(default_factory=list)
    n: int = 1
    # Reference parameter/buffer names ('.' -> '_') that a fast plan may name; validated when given.
    parameter_names: list[str] | None = None
    # Copied into each candidate's ``program`` when given.
    program: task_pb2.FunctionalProgram | None = None
    # "translate": a fresh proposal (history is feedback); "repair": fix history[-1] (compile log).
    mode: Literal["translate", "repair", "crossover"] = "translate"
    # "crossover": the parents whose schedules/ideas a proposer combines (the builtin mixes knobs).
    parents: list[kernel_pb2.KernelCandidate] = field(default_factory=list)


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float = 0.0
    calls: int = 0
    # False when some call used a model missing from the price table (its cost counted as 0).
    priced: bool = True

    def add(self, other: Usage) -> None:
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cache_read_tokens += other.cache_read_tokens
        self.cache_write_tokens += other.cache_write_tokens
        self.cost_usd += other.cost_usd
        self.calls += other.calls
        self.priced = self.priced and other.priced


@dataclass
class ProposalResult:
    candidates: list[kernel_pb2.KernelCandidate] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    raw_text: str = ""
    problems: list[str] = field(default_factory=list)

    def extend(self, other: ProposalResult) -> None:
        self.candidates.extend(other.candidates)
        self.usage.add(other.usage)
        self.raw_text = other.raw_text if not self.raw_text else self.raw_text + "\n\n---\n\n" + other.raw_text
        self.problems.extend(other.problems)


@runtime_checkable
class Proposer(Protocol):
    name: str

    async def propose(self, request: ProposalRequest) -> ProposalResult: ...
