"""The attempt loop: proposers in order, every candidate through the evaluator, first verified wins.

Pure domain logic: the evaluator is a callable (the service passes a gRPC client, unit tests a stub),
proposers come already built. Rules:

* Proposers are tried in the given order. Each gets up to ``max_rounds`` calls; every call sees the
  history of all attempts so far (candidates with their verdicts) as feedback, and a call after an
  answer that did not compile or could not be used asks for a repair of it.
* Every candidate goes to the evaluator; the loop stops at the first verdict whose outcome is a
  verified one (ACCEPTED, or VERIFIED_UNTIMED when timing is off). Nothing else is ever returned as
  the translation: ``translated`` is true only with such a verdict from the evaluator.
* Bounded: at most ``max_attempts`` attempts in all. An attempt is one evaluated candidate, or one
  proposer answer that produced no usable candidate (no code, a wrong signature, an invalid plan,
  a dead endpoint); those get a synthetic verdict so they are counted and fed back like the rest.
* A proposer that declares the task out of its scope ("unsupported: ...") is not asked again; the
  ops it names become ``unsupported_ops`` when nothing verified.
* A proposer that repeats itself (only candidates already evaluated, or the same problems twice) is
  left for the next one.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from kernelwright.common.v1 import kernel_pb2, task_pb2, verdict_pb2
from kernelwright.core.logger import get_logger
from kernelwright.gpu_evaluator.pool import candidate_id
from kernelwright.translator.proposers.base import (
    Attempt as Feedback,
)
from kernelwright.translator.proposers.base import (
    ProposalRequest,
    ProposalResult,
    Proposer,
    ProposerError,
    ProposerUnavailable,
)
from kernelwright.translator.v1 import translator_pb2 as pb

log = get_logger("kernelwright.translator")
V = verdict_pb2

#: Outcomes that mean "the evaluator ran it and every correctness trial passed".
VERIFIED_OUTCOMES = frozenset({V.VERDICT_OUTCOME_ACCEPTED, V.VERDICT_OUTCOME_VERIFIED_UNTIMED})
#: Outcomes after which the next call to the same proposer asks for a repair of the last answer.
_REPAIRABLE = frozenset({V.VERDICT_OUTCOME_COMPILE_ERROR, V.VERDICT_OUTCOME_REJECTED_STATIC})

EvaluateFn = Callable[[task_pb2.Task, kernel_pb2.KernelCandidate], Awaitable[verdict_pb2.Verdict]]

_OP = re.compile(r"\bop (?:Tensor\.|torch\.|aten\.)?([A-Za-z_][\w.]*)")


def is_verified(verdict: verdict_pb2.Verdict) -> bool:
    return verdict.outcome in VERIFIED_OUTCOMES


def outcome_name(outcome: int) -> str:
    return V.VerdictOutcome.Name(outcome).removeprefix("VERDICT_OUTCOME_")


def declares_unsupported(problems: Sequence[str]) -> bool:
    """A proposer saying the task is outside what it can do (as the builtin generator does)."""
    return bool(problems) and all("unsupported" in p.lower() for p in problems)


def unsupported_ops_from(problems: Sequence[str]) -> list[str]:
    """Op names from lines like ``builtin: unsupported: op conv2d is not ...``; the reason when none."""
    ops: list[str] = []
    for p in problems:
        found = _OP.findall(p)
        if not found:
            reason = p.split("unsupported:", 1)[-1].strip()
            found = [reason[:120]] if reason else []
        ops.extend(found)
    return list(dict.fromkeys(ops))


@dataclass
class TranslationJob:
    task: task_pb2.Task
    program: task_pb2.FunctionalProgram | None
    proposers: Sequence[tuple[str, Proposer]]
    format: int = kernel_pb2.CANDIDATE_FORMAT_FAST
    target_gpu: str = ""
    max_attempts: int = 8
    max_rounds: int = 3
    propose_timeout_s: float = 900.0
    # Lines for the response message that came before the loop (converter notes, fallbacks).
    notes: list[str] = field(default_factory=list)


@dataclass
class _State:
    attempts: list[pb.Attempt] = field(default_factory=list)
    history: list[Feedback] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    unsupported: list[str] = field(default_factory=list)
    why: dict[str, str] = field(default_factory=dict)   # proposer -> why it stopped without success

    def record(self, proposer: str, candidate: kernel_pb2.KernelCandidate, verdict: verdict_pb2.Verdict,
               seconds: float) -> pb.Attempt:
        attempt = pb.Attempt(proposer=proposer, candidate=candidate, verdict=verdict, seconds=seconds)
        self.attempts.append(attempt)
        self.history.append(Feedback(candidate, verdict))
        return attempt


def _request(job: TranslationJob, history: list[Feedback], proposer: str) -> ProposalRequest:
    program = job.program
    last = history[-1] if history else None
    repair = (last is not None and last.candidate.proposer == proposer
              and last.verdict.outcome in _REPAIRABLE)
    return ProposalRequest(
        task_name=job.task.name or "task",
        task_source=job.task.source,
        functional_source=program.source if program is not None else "",
        format=job.format,
        ops=list(program.ops) if program is not None else [],
        input_specs=list(program.inputs) if program is not None else [],
        target_gpu=job.target_gpu,
        history=list(history),
        parameter_names=([p.replace(".", "_") for p in program.parameter_names]
                         if program is not None and program.parameter_names else None),
        program=program,
        mode="repair" if repair else "translate",
    )


def _no_candidate(job: TranslationJob, proposer: str, message: str, log_text: str = "") -> tuple[
        kernel_pb2.KernelCandidate, verdict_pb2.Verdict]:
    """The synthetic record of an answer that gave nothing to evaluate (counted and fed back)."""
    candidate = kernel_pb2.KernelCandidate(format=job.format, proposer=proposer)
    verdict = V.Verdict(outcome=V.VERDICT_OUTCOME_REJECTED_STATIC, message=message, log=log_text)
    return candidate, verdict


async def _propose(proposer: Proposer, request: ProposalRequest, timeout_s: float) -> ProposalResult:
    async with asyncio.timeout(timeout_s):
        return await proposer.propose(request)


async def translate(job: TranslationJob, evaluate: EvaluateFn) -> pb.TranslateResponse:
    """Run the loop. Infrastructure errors raised by ``evaluate`` (no evaluator) propagate."""
    s = _State()
    for name, proposer in job.proposers:
        previous_problems: list[str] | None = None
        for _ in range(job.max_rounds):
            if len(s.attempts) >= job.max_attempts:
                break
            request = _request(job, s.history, name)
            start = time.monotonic()
            try:
                result = await _propose(proposer, request, job.propose_timeout_s)
            except TimeoutError:
                msg = f"{name}: no answer within {job.propose_timeout_s:g}s (propose deadline)"
                s.record(name, *_no_candidate(job, name, msg), time.monotonic() - start)
                s.why[name] = msg
                break
            except ProposerUnavailable as exc:
                msg = f"{name}: endpoint unavailable: {exc}"
                s.record(name, *_no_candidate(job, name, msg), time.monotonic() - start)
                s.why[name] = msg
                break
            except ProposerError as exc:
                msg = f"{name}: {exc}"
                s.record(name, *_no_candidate(job, name, msg), time.monotonic() - start)
                s.why[name] = msg
                break
            propose_s = time.monotonic() - start
            for c in result.candidates:
                c.proposer = c.proposer or name
                c.id = c.id or candidate_id(c)
            fresh = [c for c in result.candidates if c.id not in s.seen]
            fresh = list({c.id: c for c in fresh}.values())   # a proposer may repeat within one answer

            if not fresh:
                if result.candidates:
                    s.why[name] = f"{name}: only repeated candidates already evaluated"
                    break
                problems = list(result.problems) or ["the answer contained no candidate"]
                if declares_unsupported(problems):
                    s.unsupported.extend(unsupported_ops_from(problems))
                    msg = "; ".join(problems)
                    s.record(name, *_no_candidate(job, name, msg), propose_s)
                    s.why[name] = msg
                    break
                msg = f"{name}: no usable candidate in the answer"
                s.record(name, *_no_candidate(job, name, msg, "\n".join(problems)), propose_s)
                s.why[name] = f"{msg} ({problems[0]})"
                if problems == previous_problems:
                    break
                previous_problems = problems
                continue

            for i, candidate in enumerate(fresh):
                if len(s.attempts) >= job.max_attempts:
                    break
                s.seen.add(candidate.id)
                t0 = time.monotonic()
                verdict = await evaluate(job.task, candidate)
                seconds = time.monotonic() - t0 + (propose_s if i == 0 else 0.0)
                verdict.candidate_id = verdict.candidate_id or candidate.id
                s.record(name, candidate, verdict, seconds)
                log.info("attempt", n=len(s.attempts), proposer=name, candidate=candidate.id[:12],
                         outcome=outcome_name(verdict.outcome))
                if is_verified(verdict) and verdict.candidate_id == candidate.id:
                    return _success(job, s, candidate, verdict)
            outcomes = Counter(outcome_name(a.verdict.outcome) for a in s.attempts if a.proposer == name
                               and a.candidate.id)
            s.why[name] = f"{name}: " + ", ".join(f"{k} x{n}" for k, n in outcomes.most_common())
        if len(s.attempts) >= job.max_attempts:
            break
    return _failure(job, s)


def _success(job: TranslationJob, s: _State, candidate: kernel_pb2.KernelCandidate,
             verdict: verdict_pb2.Verdict) -> pb.TranslateResponse:
    message = (f"verified: {candidate.proposer} candidate {candidate.id[:12]} on attempt {len(s.attempts)} "
               f"({outcome_name(verdict.outcome)})")
    return pb.TranslateResponse(translated=True, candidate=candidate, verdict=verdict, attempts=s.attempts,
                                message="; ".join([message, *job.notes]))


def _failure(job: TranslationJob, s: _State) -> pb.TranslateResponse:
    bounded = len(s.attempts) >= job.max_attempts
    head = (f"no verified candidate after {len(s.attempts)} attempt(s)"
            + (f" (the bound, max_attempts={job.max_attempts})" if bounded else ""))
    reasons = [s.why[n] for n, _ in job.proposers if n in s.why]
    return pb.TranslateResponse(translated=False, attempts=s.attempts,
                                unsupported_ops=list(dict.fromkeys(s.unsupported)),
                                message="; ".join([head, *reasons, *job.notes]))
