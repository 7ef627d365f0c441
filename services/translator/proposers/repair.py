"""The bounded repair loop: candidates failing a cheap compile check go back to the model with
their compile log (the repair prompt) until one compiles or the repair budget is spent."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from kernelwright.common.v1 import kernel_pb2, verdict_pb2
from kernelwright.translator.proposers.base import Attempt, ProposalRequest, ProposalResult, Proposer

CompileCheck = Callable[[kernel_pb2.KernelCandidate], "verdict_pb2.Verdict | Awaitable[verdict_pb2.Verdict]"]


@dataclass
class RepairOutcome:
    # Candidates that passed the compile check (empty when the budget ran out).
    candidates: list[kernel_pb2.KernelCandidate]
    # Every proposal made (usage summed over all calls, all problems, raw texts).
    result: ProposalResult
    # Proposer calls made (1 + repairs) and repair rounds used.
    attempts: int = 0
    repairs: int = 0
    # Every (candidate, verdict) checked, plus synthetic verdicts for unparseable answers.
    history: list[Attempt] = field(default_factory=list)


def _passed(verdict: verdict_pb2.Verdict) -> bool:
    return verdict.compiled and verdict.outcome not in (
        verdict_pb2.VERDICT_OUTCOME_COMPILE_ERROR, verdict_pb2.VERDICT_OUTCOME_REJECTED_STATIC)


async def _check(compile_check: CompileCheck, candidate: kernel_pb2.KernelCandidate) -> verdict_pb2.Verdict:
    v = compile_check(candidate)
    if inspect.isawaitable(v):
        v = await v
    return v


async def propose_with_repair(
    proposer: Proposer, request: ProposalRequest, compile_check: CompileCheck, max_repairs: int = 2
) -> RepairOutcome:
    total = ProposalResult()
    history = list(request.history)
    outcome = RepairOutcome([], total)
    current = request
    while True:
        result = await proposer.propose(current)
        outcome.attempts += 1
        total.extend(result)
        checked: list[Attempt] = []
        for cand in result.candidates:
            verdict = await _check(compile_check, cand)
            if not verdict.candidate_id:
                verdict.candidate_id = cand.id
            checked.append(Attempt(cand, verdict))
            if _passed(verdict):
                outcome.candidates.append(cand)
        if not result.candidates:
            # Nothing parseable: the parse problems are the "compile log" for the repair prompt.
            fmt = request.format
            stub = kernel_pb2.KernelCandidate(format=fmt, kernelbench_source="(no usable candidate)"
                                              if fmt != kernel_pb2.CANDIDATE_FORMAT_FAST else "",
                                              cuda_source="// (no usable candidate)" if fmt == kernel_pb2.CANDIDATE_FORMAT_FAST else "")
            checked.append(Attempt(stub, verdict_pb2.Verdict(
                outcome=verdict_pb2.VERDICT_OUTCOME_REJECTED_STATIC,
                message="the answer could not be parsed into a candidate",
                log="\n".join(result.problems) or "no candidate in the answer")))
        history.extend(checked)
        outcome.history.extend(checked)
        if outcome.candidates or outcome.repairs >= max_repairs:
            return outcome
        outcome.repairs += 1
        failing = next((a for a in checked if not _passed(a.verdict)), checked[-1])
        current = dataclasses.replace(request, history=[*history[:-len(checked)], failing], mode="repair")
