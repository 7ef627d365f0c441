"""Runs: admission (limits, idempotency), a bounded number running at once, cancel, resume, progress.

A run is an asyncio task; at most ``max_active_runs`` execute at once, the others wait QUEUED.
Shutdown cancels the tasks but leaves their state (QUEUED/RUNNING) in the store, so the next start
resumes them; a CancelRun cancels the task and records CANCELLED.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from kernelwright.core.errors import InvalidArgument, NotFound, ResourceExhausted
from kernelwright.core.logger import get_logger
from kernelwright.evolver.budget import resolve_budget
from kernelwright.evolver.ensemble import Ensemble, validate_weights
from kernelwright.evolver.evolution import RunExecutor, reported_elites
from kernelwright.evolver.population import Population
from kernelwright.evolver.settings import EvolverSettings
from kernelwright.evolver.store import RunRecord, RunStore
from kernelwright.evolver.v1 import evolver_pb2 as pb

log = get_logger("kernelwright.evolver")


class RunManager:
    def __init__(self, settings: EvolverSettings, store: RunStore, executor_factory) -> None:
        self.settings = settings
        self.store = store
        self.executor: RunExecutor = executor_factory(self.publish)
        self._slots = asyncio.Semaphore(settings.max_active_runs)
        self._tasks: dict[str, asyncio.Task] = {}
        self._cancelling: set[str] = set()
        self._ticks: dict[str, asyncio.Event] = {}
        self._admission = asyncio.Lock()

    # -- lifecycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        """Resume every run a previous process left unfinished; retry pending archive writes."""
        for run_id in self.store.unfinished_runs():
            log.info("resuming run", run=run_id)
            self._launch(run_id)
        for run_id in self.store.unarchived_runs():
            asyncio.get_running_loop().create_task(self._archive_later(run_id))

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- RPCs -----------------------------------------------------------------------------------
    async def start_run(self, request: pb.StartRunRequest) -> str:
        if not request.HasField("task") or not request.task.source.strip():
            raise InvalidArgument("task.source is required: the KernelBench task to optimize")
        budget = resolve_budget(request.budget if request.HasField("budget") else None, self.settings)
        weights = validate_weights({p.name: p.weight for p in request.proposers} if request.proposers
                                   else self.settings.default_weights())
        Ensemble(weights, self.executor.proposer_settings)   # FAILED_PRECONDITION now, not mid-run
        async with self._admission:
            if request.request_id:
                existing = self.store.run_for_request(request.request_id)
                if existing:
                    return existing
            queued = self.store.count_in_states((pb.RUN_STATE_QUEUED,))
            if queued >= self.settings.max_queued_runs:
                raise ResourceExhausted(f"{queued} runs are already queued (limit {self.settings.max_queued_runs}); "
                                        "retry later", retry_after_ms=10_000)
            run_id, created = self.store.create_run(request.task, budget, weights, request.target_pool,
                                                    request.request_id)
        if created:
            log.info("run started", run=run_id, task=request.task.name, budget=str(budget).replace("\n", " "))
            self._launch(run_id)
        return run_id

    def get(self, run_id: str) -> RunRecord:
        record = self.store.get_run(run_id) if run_id else None
        if record is None:
            raise NotFound(f"no run {run_id!r}")
        return record

    async def cancel(self, run_id: str) -> RunRecord:
        record = self.get(run_id)
        if record.final:
            return record
        self._cancelling.add(run_id)
        task = self._tasks.get(run_id)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self.store.finish_run_if_active(run_id, pb.RUN_STATE_CANCELLED, "cancelled by request")
        self.publish(run_id)
        return self.get(run_id)

    async def watch(self, run_id: str) -> AsyncIterator[pb.RunProgress]:
        """The current progress, then a snapshot after every change, ending with the final state."""
        self.get(run_id)
        while True:
            tick = self._ticks.setdefault(run_id, asyncio.Event())
            record = self.get(run_id)
            yield self.progress(record)
            if record.final:
                return
            await tick.wait()

    # -- internals ------------------------------------------------------------------------------
    def publish(self, run_id: str) -> None:
        tick = self._ticks.pop(run_id, None)
        if tick is not None:
            tick.set()

    def _running(self) -> int:
        return sum(1 for t in self._tasks.values() if not t.done())

    def _launch(self, run_id: str) -> None:
        self._tasks[run_id] = asyncio.get_running_loop().create_task(self._drive(run_id), name=f"run-{run_id}")

    async def _drive(self, run_id: str) -> None:
        try:
            async with self._slots:
                await self.executor.execute(run_id)
        except asyncio.CancelledError:
            if run_id not in self._cancelling:
                raise   # shutdown: the state stays QUEUED/RUNNING and the next start resumes it
        except Exception as exc:  # noqa: BLE001 - a bug in one run must end that run, not the service
            log.error("run crashed", run=run_id, exc_info=exc)
            self.store.finish_run_if_active(run_id, pb.RUN_STATE_FAILED, f"internal error: {type(exc).__name__}: {exc}")
        finally:
            self._tasks.pop(run_id, None)
            self._cancelling.discard(run_id)
            self.publish(run_id)

    async def _archive_later(self, run_id: str) -> None:
        record = self.get(run_id)
        population = Population()
        finals = {}
        for c in self.store.candidates(run_id):
            if c.verdict is not None:
                population.add(c.candidate, c.verdict)
            if c.final_verdict is not None:
                finals[c.candidate.id] = c.final_verdict
        reported = reported_elites(population.elites(), finals)
        if record.program is not None and reported:
            await self.executor.archive(record, record.program, reported)

    # -- views ----------------------------------------------------------------------------------
    def progress(self, record: RunRecord) -> pb.RunProgress:
        best = self.store.candidate(record.id, record.best_id) if record.best_id else None
        verdict = best.reported_verdict if best is not None else None
        timings = verdict.timings if verdict is not None else None
        # During a candidate-only search the best verdict has no baselines: speedups read 0 until the
        # final full evaluation; best_candidate_ms is known throughout.
        return pb.RunProgress(
            run_id=record.id, stage=record.stage, generation=record.spent.generations,
            candidates_evaluated=sum(self.store.outcome_counts(record.id).values()),
            outcomes=self.store.outcome_counts(record.id),
            best_speedup_vs_eager=timings.speedup_vs_eager if timings else 0.0,
            best_speedup_vs_compile=timings.speedup_vs_compile if timings else 0.0,
            llm_cost_usd=record.spent.llm_cost_usd, state=record.state, message=record.message,
            best_candidate_ms=timings.candidate.median_ms if timings else 0.0)

    def run_message(self, record: RunRecord) -> pb.Run:
        return run_message(self.store, record)


def run_message(store: RunStore, record: RunRecord) -> pb.Run:
    """The Run message of a stored run (GetRun's answer; also read straight from a store by scripts)."""
    run = pb.Run(id=record.id, task=record.task, budget=record.budget, spent=record.spent, state=record.state,
                 stage=record.stage, message=record.message, target_pool=record.target_pool,
                 proposers=[pb.ProposerWeight(name=n, weight=w) for n, w in record.proposers.items()],
                 outcomes=store.outcome_counts(record.id), archived=record.archived)
    run.created_at.FromNanoseconds(int(record.created * 1e9))
    run.updated_at.FromNanoseconds(int(record.updated * 1e9))
    if record.best_id:
        best = store.candidate(record.id, record.best_id)
        if best is not None and best.reported_verdict is not None:
            run.best.CopyFrom(best.candidate)
            run.best_verdict.CopyFrom(best.reported_verdict)
    return run
