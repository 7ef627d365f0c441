"""``BuiltinProposer``: the Proposer facade over the deterministic generators (no network, no keys)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from kernelwright.common.v1 import kernel_pb2
from kernelwright.translator.builtin.elementwise import (
    DEFAULT_SCHEDULES,
    Schedule,
    Unsupported,
    analyze_task,
    generate_candidate,
)
from kernelwright.translator.proposers.base import ProposalRequest, ProposalResult
from kernelwright.translator.proposers.config import ProposerSettings

__all__ = ["BuiltinProposer", "make_builtin_proposer", "register"]


class BuiltinProposer:
    """Fused elementwise kernels for a schedule grid; ``problems`` says why a task is unsupported.

    Candidates come in ``schedules`` order (deterministic); ``request.n`` is ignored (the whole grid
    is returned). Only the fast format is produced: a KernelBench-format request gets a problem line.
    """

    name = "builtin"

    def __init__(self, settings: ProposerSettings | None = None, *,
                 schedules: Sequence[Schedule] = DEFAULT_SCHEDULES) -> None:
        self.settings = settings
        self.schedules = tuple(schedules)

    def propose_sync(self, request: ProposalRequest) -> ProposalResult:
        result = ProposalResult()
        if request.format not in (kernel_pb2.CANDIDATE_FORMAT_FAST, kernel_pb2.CANDIDATE_FORMAT_UNSPECIFIED):
            result.problems.append("builtin proposer only produces the fast format (CANDIDATE_FORMAT_FAST)")
            return result
        prog = analyze_task(request.task_source)
        if isinstance(prog, Unsupported):
            result.problems.append(f"builtin: unsupported: {prog.reason}")
            return result
        parents = [a.candidate.id for a in request.history[-1:] if a.candidate.id]
        for s in self.schedules:
            c = generate_candidate(prog, s)
            if request.program is not None:
                c.program.CopyFrom(request.program)
            c.parent_ids.extend(parents)
            result.candidates.append(c)
        result.raw_text = f"builtin elementwise: {len(result.candidates)} schedules; ops: {', '.join(prog.ops)}"
        return result

    async def propose(self, request: ProposalRequest) -> ProposalResult:
        # Tracing runs the task's module code and torch.fx: keep it off the event loop.
        return await asyncio.to_thread(self.propose_sync, request)


def make_builtin_proposer(settings: ProposerSettings) -> BuiltinProposer:
    return BuiltinProposer(settings)


def register() -> None:
    from kernelwright.translator.proposers.registry import register_proposer

    register_proposer("builtin", make_builtin_proposer)
