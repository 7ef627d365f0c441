"""``BuiltinProposer``: the Proposer facade over the deterministic generators (no network, no keys).

* A forward that is one elementwise chain over same-shaped inputs gets the vectorized
  ``elementwise`` generator's grid; anything else goes through the general lowering
  (``codegen.analyze_program``), whose grid lists library-call candidates first and the own
  GEMM/conv kernels (helper B's ``compute_kernels``) after them.
* Mutation (stage 3): when ``request.history`` ends with a builtin candidate carrying a
  ``schedule`` map, the result is that parent's one-knob neighbours (``parent_ids`` set).
* Crossover: ``mode == "crossover"`` with two builtin ``request.parents`` mixes their knobs.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace

from kernelwright.common.v1 import kernel_pb2
from kernelwright.core.logger import get_logger
from kernelwright.translator.builtin.codegen import analyze_program, build_candidate
from kernelwright.translator.builtin.elementwise import (
    DEFAULT_SCHEDULES,
    Schedule,
    Unsupported,
    analyze_task,
    generate_candidate,
)
from kernelwright.translator.builtin.graph import LoweringError
from kernelwright.translator.builtin.schedule import LoweringSchedule, crossover, default_grid, neighbours
from kernelwright.translator.proposers.base import ProposalRequest, ProposalResult
from kernelwright.translator.proposers.config import ProposerSettings

__all__ = ["BuiltinProposer", "make_builtin_proposer", "register"]

log = get_logger("kernelwright.translator.builtin")

# Tracing (torch.fx, make_fx, the forward-constant patch) uses process-wide state: two threads tracing at
# once corrupt each other's graphs (a batch size baked in, "CURRENT_PATCHER is None"). The evolver's runs
# and the translator call this proposer from several threads, so one proposal runs at a time.
_PROPOSE_LOCK = threading.Lock()

# Tracing a level-3 network takes seconds (DenseNet201: ~7 s on a 2-core machine), and every mutation and
# crossover call of a run asks again for the same task source, behind the lock above: with several runs,
# proposals queued behind each other's re-tracing while the GPU waited. The analysis of a source is
# deterministic (it depends on the source text only), so the last few are kept.
_ANALYSIS_CACHE_SIZE = 16
_analysis_cache: OrderedDict[str, object] = OrderedDict()


def _analysis(task_source: str):
    """``analyze_program`` of the source, from the cache when it was analysed lately (call under the lock)."""
    key = hashlib.sha256(task_source.encode()).hexdigest()
    if key in _analysis_cache:
        _analysis_cache.move_to_end(key)
        return _analysis_cache[key]
    prog = analyze_program(task_source)
    _analysis_cache[key] = prog
    while len(_analysis_cache) > _ANALYSIS_CACHE_SIZE:
        _analysis_cache.popitem(last=False)
    return prog


_EW_VALUES = {"block_size": (32, 64, 128, 256, 512, 1024), "vector_width": (1, 4), "unroll": (1, 2, 4, 8)}


def _ew_from_map(m: dict[str, int]) -> Schedule:
    return Schedule(int(m.get("block_size", 256)), int(m.get("vector_width", 4)), int(m.get("unroll", 1)))


def _ew_neighbours(s: Schedule) -> list[Schedule]:
    out = []
    for k, vals in _EW_VALUES.items():
        i = vals.index(getattr(s, k)) if getattr(s, k) in vals else 0
        for j in (i - 1, i + 1):
            if 0 <= j < len(vals):
                out.append(replace(s, **{k: vals[j]}))
    return out


def _is_lowering(m: dict[str, int]) -> bool:
    return "reduce_strategy" in m


class BuiltinProposer:
    """Candidates for a deterministic schedule grid; ``problems`` says why a task is unsupported.

    Candidates come in a fixed order (deterministic); ``request.n`` is ignored (the whole grid or
    neighbourhood is returned). Only the fast format is produced.
    """

    name = "builtin"

    def __init__(self, settings: ProposerSettings | None = None, *,
                 schedules: Sequence[Schedule] = DEFAULT_SCHEDULES) -> None:
        self.settings = settings
        self.schedules = tuple(schedules)

    def propose_sync(self, request: ProposalRequest) -> ProposalResult:
        asked = time.monotonic()
        with _PROPOSE_LOCK:
            began = time.monotonic()
            result = self._propose_locked(request)
        # Where a run's wall time goes: waiting for the lock (other runs' proposals) versus proposing.
        log.info("builtin proposal", task=request.task_name, mode=request.mode,
                 candidates=len(result.candidates), waited_s=round(began - asked, 2),
                 seconds=round(time.monotonic() - began, 2))
        return result

    def _propose_locked(self, request: ProposalRequest) -> ProposalResult:
        result = ProposalResult()
        if request.format not in (kernel_pb2.CANDIDATE_FORMAT_FAST, kernel_pb2.CANDIDATE_FORMAT_UNSPECIFIED):
            result.problems.append("builtin proposer only produces the fast format (CANDIDATE_FORMAT_FAST)")
            return result
        parents = self._parents(request)
        ew = analyze_task(request.task_source)
        if not isinstance(ew, Unsupported) and all(not _is_lowering(dict(p.schedule)) for p in parents):
            self._elementwise(request, ew, parents, result)
            return result
        prog = _analysis(request.task_source)
        if not prog:
            result.problems.append(f"builtin: unsupported: {prog.reason}")
            return result
        if request.mode == "crossover" and len(parents) >= 2:
            a, b = (LoweringSchedule.from_map(dict(p.schedule)) for p in parents[:2])
            scheds = crossover(a, b)
        elif parents:
            scheds = neighbours(LoweringSchedule.from_map(dict(parents[0].schedule)), has_library=prog.has_library)
        else:
            scheds = default_grid(prog.has_library, prog.library_only)
        if prog.library_only:  # a plan of library calls only is not a candidate: own kernels only
            scheds = [s for s in scheds if not s.use_library] or default_grid(True, True)
        seen = set()
        for s in scheds:
            try:
                c = build_candidate(prog, s)
            except LoweringError as exc:
                result.problems.append(f"builtin: schedule {s.as_map()}: {exc}")
                continue
            if c.id in seen:
                continue
            seen.add(c.id)
            self._finish(c, request, parents)
            result.candidates.append(c)
        result.raw_text = (f"builtin lowering: {len(result.candidates)} candidates; stages: "
                           f"{', '.join(st.kind for st in prog.stages)}; ops: {', '.join(prog.ops)}")
        return result

    def _parents(self, request: ProposalRequest) -> list[kernel_pb2.KernelCandidate]:
        if request.mode == "crossover":
            ps = list(getattr(request, "parents", None) or [])
            return [p for p in ps if p.proposer == "builtin" and p.schedule]
        for a in reversed(request.history):
            if a.candidate.proposer == "builtin" and a.candidate.schedule:
                return [a.candidate]
        return []

    def _finish(self, c: kernel_pb2.KernelCandidate, request: ProposalRequest,
                parents: list[kernel_pb2.KernelCandidate]) -> None:
        if request.program is not None:
            c.program.CopyFrom(request.program)
        c.parent_ids.extend(p.id for p in parents if p.id)

    def _elementwise(self, request: ProposalRequest, prog, parents: list[kernel_pb2.KernelCandidate],
                     result: ProposalResult) -> None:
        if request.mode == "crossover" and len(parents) >= 2:
            a, b = (_ew_from_map(dict(p.schedule)) for p in parents[:2])
            scheds = [Schedule(a.block_size, b.vector_width, a.unroll), Schedule(b.block_size, a.vector_width, b.unroll)]
        elif parents:
            scheds = _ew_neighbours(_ew_from_map(dict(parents[0].schedule)))
        else:
            scheds = list(self.schedules)
        for s in dict.fromkeys(scheds):
            c = generate_candidate(prog, s)
            self._finish(c, request, parents)
            result.candidates.append(c)
        result.raw_text = f"builtin elementwise: {len(result.candidates)} schedules; ops: {', '.join(prog.ops)}"

    async def propose(self, request: ProposalRequest) -> ProposalResult:
        # Tracing runs the task's module code and torch.fx: keep it off the event loop.
        return await asyncio.to_thread(self.propose_sync, request)


def make_builtin_proposer(settings: ProposerSettings) -> BuiltinProposer:
    return BuiltinProposer(settings)


def register() -> None:
    from kernelwright.translator.proposers.registry import register_proposer

    register_proposer("builtin", make_builtin_proposer)
