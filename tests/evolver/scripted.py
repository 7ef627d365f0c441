"""Scripted proposers for the evolver's tests: deterministic fast-format candidates whose behaviour on
the simulated evaluator is chosen by markers in the source (see gpu_evaluator/simulated_worker.py)."""

from __future__ import annotations

import hashlib

from kernelwright.common.v1 import kernel_pb2
from kernelwright.translator.proposers import ProposalRequest, ProposalResult, Usage, register_proposer


def fast_candidate(marker: str, block: int = 256) -> kernel_pb2.KernelCandidate:
    c = kernel_pb2.KernelCandidate(format=kernel_pb2.CANDIDATE_FORMAT_FAST,
                                   cuda_source=f'extern "C" __global__ void k(float* x) {{}} // {marker}\n')
    step = c.plan.steps.add()
    step.launch.kernel = "k"
    step.launch.grid.add(expr="1")
    step.launch.block.add(expr=str(block))
    step.launch.args.add(tensor="x")
    c.schedule["block"] = block
    return c


class ScriptedProposer:
    """``marker`` goes into every candidate (e.g. "SLOW:0.2", "FATAL"); children differ from parents by a
    hash of the parents' ids, so every generation proposes something new until the budget ends."""

    def __init__(self, name: str, marker: str = "", per_call: int = 2, cost_usd: float = 0.0) -> None:
        self.name = name
        self.marker = marker
        self.per_call = per_call
        self.cost_usd = cost_usd
        self.calls: list[ProposalRequest] = []

    async def propose(self, request: ProposalRequest) -> ProposalResult:
        self.calls.append(request)
        parents = "+".join(a.candidate.id for a in request.history)
        seed = hashlib.sha256(f"{self.name}:{parents}:{len(self.calls)}".encode()).hexdigest()[:10]
        result = ProposalResult(usage=Usage(cost_usd=self.cost_usd, calls=1))
        for i in range(self.per_call):
            result.candidates.append(fast_candidate(f"{self.marker} {seed}-{i}", block=64 << (i % 3)))
        return result


def register(name: str, **kwargs) -> ScriptedProposer:
    proposer = ScriptedProposer(name, **kwargs)
    register_proposer(name, lambda _settings: proposer)
    return proposer
