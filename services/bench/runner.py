"""One task through the evolver service: StartRun, follow WatchRun, then GetRun for the final state.

Shared by ``kernelwright optimize`` (one task, live progress) and ``kernelwright bench`` (many tasks
on threads). Blocking stubs: they are thread-safe, and the CLI has no event loop.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc

from kernelwright.common.v1 import kernel_pb2, task_pb2, verdict_pb2
from kernelwright.evolver.v1 import evolver_pb2, evolver_pb2_grpc

from .results import CANCELLED, ERROR, FAILED, SUCCEEDED, TaskResult

ProgressCallback = Callable[[evolver_pb2.RunProgress], None]
_FINAL_STATES = {evolver_pb2.RUN_STATE_SUCCEEDED: SUCCEEDED, evolver_pb2.RUN_STATE_FAILED: FAILED,
                 evolver_pb2.RUN_STATE_CANCELLED: CANCELLED}
_VERIFIED = (verdict_pb2.VERDICT_OUTCOME_ACCEPTED, verdict_pb2.VERDICT_OUTCOME_VERIFIED_UNTIMED)


@dataclass
class RunOptions:
    budget: evolver_pb2.Budget = field(default_factory=evolver_pb2.Budget)
    proposers: list[tuple[str, float]] = field(default_factory=list)  # (name, weight); empty: the evolver's default
    target_pool: str = ""
    # How long to wait for a run to end before giving up on it (and cancelling it).
    deadline_s: float = 24 * 3600.0


@dataclass
class RunOutcome:
    run: evolver_pb2.Run
    events: list[evolver_pb2.RunProgress]
    wall_s: float


class RunWatchError(RuntimeError):
    """The watch stream broke and GetRun could not tell how the run ended."""


def start_request(task: task_pb2.Task, options: RunOptions, request_id: str = "") -> evolver_pb2.StartRunRequest:
    return evolver_pb2.StartRunRequest(
        task=task, budget=options.budget, target_pool=options.target_pool, request_id=request_id,
        proposers=[evolver_pb2.ProposerWeight(name=n, weight=w) for n, w in options.proposers])


def run_task(stub: evolver_pb2_grpc.EvolverServiceStub, task: task_pb2.Task, options: RunOptions,
             on_progress: ProgressCallback | None = None, request_id: str = "",
             on_started: Callable[[str], None] | None = None) -> RunOutcome:
    """Start a run and follow it to its end. StartRun errors (bad task/budget, unavailable) propagate.

    If the watch stream breaks (the evolver restarted; it resumes runs), the watch is re-opened
    while GetRun says the run is still going. On KeyboardInterrupt the run is cancelled first.
    """
    start = time.monotonic()
    run_id = stub.StartRun(start_request(task, options, request_id), timeout=60).run_id
    if on_started:
        on_started(run_id)
    events: list[evolver_pb2.RunProgress] = []
    try:
        while True:
            remaining = options.deadline_s - (time.monotonic() - start)
            if remaining <= 0:
                stub.CancelRun(evolver_pb2.CancelRunRequest(run_id=run_id), timeout=30)
                raise RunWatchError(f"run {run_id} did not end within {options.deadline_s:.0f}s; cancelled")
            seen = len(events)
            try:
                for reply in stub.WatchRun(evolver_pb2.WatchRunRequest(run_id=run_id), timeout=remaining):
                    events.append(reply.progress)
                    if on_progress:
                        on_progress(reply.progress)
            except grpc.RpcError as exc:
                if exc.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
                                      grpc.StatusCode.CANCELLED):
                    raise
            run = stub.GetRun(evolver_pb2.GetRunRequest(run_id=run_id), timeout=60, wait_for_ready=True).run
            if run.state in _FINAL_STATES:
                return RunOutcome(run, events, time.monotonic() - start)
            if len(events) == seen:
                time.sleep(min(1.0, max(remaining, 0.0)))  # a stream that ends at once must not spin
    except KeyboardInterrupt:
        try:
            stub.CancelRun(evolver_pb2.CancelRunRequest(run_id=run_id), timeout=10)
        except grpc.RpcError:
            pass  # interrupted anyway; the evolver's own budget ends the run
        raise


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def result_from_run(task: task_pb2.Task, outcome: RunOutcome) -> TaskResult:
    run = outcome.run
    best, verdict = run.best, run.best_verdict
    verified = run.HasField("best") and run.HasField("best_verdict") and verdict.outcome in _VERIFIED
    correct = run.state == evolver_pb2.RUN_STATE_SUCCEEDED and verified
    t = verdict.timings
    fmt = {kernel_pb2.CANDIDATE_FORMAT_FAST: "fast",
           kernel_pb2.CANDIDATE_FORMAT_KERNELBENCH: "kernelbench"}.get(best.format, "")
    reason = run.message
    if not correct and not reason:
        reason = "the run ended without a verified candidate"
    return TaskResult(
        task=task.name, level=task.level, task_id=task.task_id, path=task.origin,
        correct=correct, outcome=_FINAL_STATES.get(run.state, ERROR),
        ours_ms=t.candidate.median_ms if correct else 0.0,
        eager_ms=t.eager.median_ms, compile_ms=t.compiled.median_ms,
        speedup_eager=t.speedup_vs_eager if correct else 0.0,
        speedup_compile=t.speedup_vs_compile if correct else 0.0,
        gpu=verdict.hardware.gpu_name, date=_now(), candidate_id=best.id, proposer=best.proposer,
        reason=reason, run_id=run.id, candidates=run.spent.candidates, wall_s=round(outcome.wall_s, 3),
        verdict_outcome=verdict_pb2.VerdictOutcome.Name(verdict.outcome).removeprefix("VERDICT_OUTCOME_")
        if run.HasField("best_verdict") else "",
        candidate_format=fmt, max_abs_error=verdict.max_abs_error,
        cuda_source=best.cuda_source or best.kernelbench_source, module_source=task.source,
        functional_source=best.program.source,
    )


def error_result(task: task_pb2.Task, reason: str, wall_s: float = 0.0) -> TaskResult:
    """A task that never got a run (infrastructure): recorded, and retried by --resume."""
    return TaskResult(task=task.name, level=task.level, task_id=task.task_id, path=task.origin, outcome=ERROR,
                      reason=reason, date=_now(), module_source=task.source, wall_s=round(wall_s, 3))
