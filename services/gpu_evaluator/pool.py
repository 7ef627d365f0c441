"""The service side of evaluation: one worker process per GPU, a bounded queue, fault recovery.

A candidate that hangs past its limit gets its worker killed (TIMED_OUT); a worker that dies
(segfault, abort, fatal CUDA error) yields CRASHED or the worker's own RUNTIME_ERROR verdict; in
every case a fresh worker is started at once so the next candidate gets a clean GPU context.
Verdicts are cached by (task, candidate, options) so an identical request is answered at once.
While the workers are busy, queued candidates are prepared (static checks and the build into the
workers' build cache, prepare.py) so the CPU-only phases overlap GPU work, and each new task's
torch.compile baseline is compiled ahead by a side process that launches nothing
(compile_warmer.py), so the worker's own compile is a cache hit.

A free worker takes the oldest queued job that is ready: its preparation has finished and, if it
times the torch.compile baseline, the warmer is not still compiling that task. A job not ready is
held back for a bounded time (``prep_wait_s``, ``warm_wait_s``) while later ready jobs go first: a
worker that took it would redo the same build or compile itself, with the GPU idle meanwhile (on
the H200, a level-3 final evaluation spent 149 s compiling DenseNet201's baseline next to the
warmer compiling the same graph, and 2.4 MB sources took 30-38 s to build in the worker).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import multiprocessing
import os
import signal
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from kernelwright.common.v1 import hardware_pb2, kernel_pb2, verdict_pb2
from kernelwright.core.errors import FailedPrecondition, ResourceExhausted
from kernelwright.core.logger import get_logger
from kernelwright.gpu_evaluator.compile_warmer import CompileWarmer
from kernelwright.gpu_evaluator.gpus import GpuInfo, worker_env
from kernelwright.gpu_evaluator.prepare import PREPARED_STATIC_KEY, Preparation, Preparer, prepare_candidate

log = get_logger("kernelwright.gpu_evaluator.pool")
V = verdict_pb2


def candidate_id(candidate: kernel_pb2.KernelCandidate) -> str:
    """Content hash of what is evaluated (format, sources, plan), independent of labels like proposer."""
    digest = hashlib.sha256()
    digest.update(str(candidate.format).encode())
    digest.update(candidate.kernelbench_source.encode())
    digest.update(candidate.cuda_source.encode())
    digest.update(candidate.plan.SerializeToString(deterministic=True))
    return digest.hexdigest()[:32]


@dataclass
class Job:
    task_source: str
    candidate: kernel_pb2.KernelCandidate
    options: dict[str, Any]
    timeout_s: float
    future: asyncio.Future = field(repr=False, default=None)  # type: ignore[assignment]
    # The background preparation (prepare.Preparer), a concurrent.futures.Future once started.
    preparation: Any = field(repr=False, default=None)
    # The job times the torch.compile baseline (so the compile warmer's work is the worker's too).
    compiles_baseline: bool = False
    enqueued: float = field(default_factory=time.monotonic)


class WorkerSlot:
    """One GPU's worker process and its state."""

    def __init__(self, index: int, gpu: GpuInfo, pool_name: str, options: dict[str, Any], gpu_product: str,
                 target: Any = None) -> None:
        self.index, self.gpu = index, gpu
        self._target = target
        self._pool_name, self._options, self._gpu_product = pool_name, options, gpu_product
        self.process: multiprocessing.Process | None = None
        self.conn: Any = None
        self.hardware = hardware_pb2.Hardware(gpu_name=gpu.name, memory_bytes=gpu.memory_bytes, pool=pool_name)
        self.state = "starting"
        self.evaluated = 0
        self.restarts = 0
        self.info: dict[str, Any] = {}
        self.last_start_s = 0.0

    def spawn(self) -> None:
        from kernelwright.gpu_evaluator.worker import worker_main

        target = self._target or worker_main
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe(duplex=True)
        # The worker applies this before CUDA initialises: it sees exactly its own GPU as cuda:0.
        env = worker_env(self.gpu, {})
        process = ctx.Process(target=target,
                              args=(child, self._pool_name, self._options, self._gpu_product, env),
                              name=f"kw-gpu-worker-{self.index}", daemon=True)
        process.start()
        child.close()
        self.process, self.conn, self.state = process, parent, "starting"

    def wait_ready(self, timeout_s: float) -> None:
        start = time.monotonic()
        if not self.conn.poll(timeout_s):
            raise TimeoutError(f"GPU worker {self.index} did not start within {timeout_s:.0f}s")
        kind, hardware_bytes, info = self.conn.recv()
        assert kind == "ready"
        self.hardware = hardware_pb2.Hardware.FromString(hardware_bytes)
        self.info = info
        self.state = "idle"
        self.last_start_s = time.monotonic() - start

    def kill(self) -> None:
        if self.process is not None and self.process.is_alive():
            self.process.kill()
        if self.process is not None:
            self.process.join(timeout=10)
        if self.conn is not None:
            self.conn.close()
        self.process = self.conn = None

    def exit_description(self) -> str:
        code = self.process.exitcode if self.process is not None else None
        if code is None:
            return "the worker stopped answering"
        if code < 0:
            try:
                return f"the worker was killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"the worker was killed by signal {-code}"
        return f"the worker exited with code {code}"


class WorkerPool:
    def __init__(self, gpus: list[GpuInfo], *, pool_name: str, options: dict[str, Any], queue_capacity: int,
                 startup_timeout_s: float, gpu_product: str = "", cache_size: int = 4096,
                 worker_target: Any = None, prepare_ahead: int | None = None, warm_compile: bool = False,
                 warmer_target: Any = None, prep_wait_s: float = 120.0, warm_wait_s: float = 300.0) -> None:
        self.pool_name = pool_name
        self.slots = [WorkerSlot(i, g, pool_name, options, gpu_product, worker_target) for i, g in enumerate(gpus)]
        self.queue_capacity = queue_capacity
        # How long a job may be held back for its running preparation / its task's warm-up: bounded, so a
        # stuck build thread or a hung warmer delays a job once and never stops the queue.
        self.prep_wait_s, self.warm_wait_s = prep_wait_s, warm_wait_s
        self._wakers: list[asyncio.Future] = []
        self._startup_timeout_s = startup_timeout_s
        self._tasks: list[asyncio.Task] = []
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._cache_size = cache_size
        self._mean_job_s = 5.0
        self._options = options
        # Queued jobs, oldest first.
        self._waiting: list[Job] = []
        self._preparer = Preparer(_prepare_ahead_setting() if prepare_ahead is None else prepare_ahead,
                                  on_done=self._prepared)
        # One warmer per pool: Inductor's caches are on the node's disk, shared by every worker.
        self.warmer = (CompileWarmer(worker_env(self.slots[0].gpu, {}), target=warmer_target)
                       if warm_compile and self.slots else None)

    @property
    def cpu_only(self) -> bool:
        return not self.slots

    def queue_depth(self) -> int:
        return len(self._waiting)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        for slot in self.slots:
            slot.spawn()
        if self.warmer is not None:
            self.warmer.on_outcome = lambda: loop.call_soon_threadsafe(self._wake)
            self.warmer.start()  # not awaited: it only ever saves time
        await asyncio.gather(*(loop.run_in_executor(None, s.wait_ready, self._startup_timeout_s) for s in self.slots))
        for slot in self.slots:
            log.info("gpu worker ready", worker=slot.index, gpu=slot.hardware.gpu_name,
                     network=slot.info.get("network"), seconds=round(slot.last_start_s, 2))
            self._tasks.append(asyncio.create_task(self._serve(slot), name=f"gpu-worker-{slot.index}"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._preparer.shutdown()
        if self.warmer is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.warmer.stop)
        for slot in self.slots:
            if slot.conn is not None:
                try:
                    slot.conn.send(("stop",))
                except (OSError, BrokenPipeError):
                    pass
            slot.kill()

    def _cache_key(self, job: Job) -> str:
        digest = hashlib.sha256(job.task_source.encode())
        digest.update(job.candidate.id.encode())
        digest.update(repr(sorted(job.options.items())).encode())
        return digest.hexdigest()

    async def evaluate(self, task_source: str, candidate: kernel_pb2.KernelCandidate, options: dict[str, Any],
                       timeout_s: float) -> V.Verdict:
        if self.cpu_only:
            raise FailedPrecondition("this evaluator sees no GPU (CPU-only mode): use Check for static checks "
                                     "and compilation; Evaluate needs a GPU evaluator pool")
        if not candidate.id:
            candidate.id = candidate_id(candidate)
        job = Job(task_source, candidate, options, timeout_s)
        key = self._cache_key(job)
        if key in self._cache:
            self._cache.move_to_end(key)
            verdict = V.Verdict.FromString(self._cache[key])
            verdict.cached = True
            return verdict
        if len(self._waiting) >= self.queue_capacity:
            wait_ms = int(1000 * self._mean_job_s * (len(self._waiting) / max(1, len(self.slots)) + 1))
            raise ResourceExhausted(f"evaluation queue is full ({self.queue_capacity} candidates waiting)",
                                    retry_after_ms=wait_ms)
        merged = {**self._options, **options}
        if self.warmer is not None and merged.get("compile_baseline", True) and not merged.get("verify_only"):
            # Also for candidate-only jobs: the run's final full evaluations come minutes later.
            self.warmer.request(task_source)
            job.compiles_baseline = bool(merged.get("baselines", True))
        job.future = asyncio.get_running_loop().create_future()
        self._waiting.append(job)
        self._prepare_next()
        self._wake()
        verdict = await job.future
        # Infrastructure outcomes (timeouts, crashes) are not cached: a retry may well differ.
        if verdict.outcome not in (V.VERDICT_OUTCOME_TIMED_OUT, V.VERDICT_OUTCOME_CRASHED) and self._cache_size:
            self._cache[key] = verdict.SerializeToString()
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return verdict

    def _prepare_next(self) -> None:
        """Start preparing the first queued jobs (never waits; called on enqueue, dequeue and when a
        preparation finishes)."""
        self._preparer.fill(self._waiting, self._preparation_work)

    def _prepared(self) -> None:
        """A preparation finished (on the event loop): start the next one, wake a waiting worker."""
        self._prepare_next()
        self._wake()

    def _wake(self) -> None:
        wakers, self._wakers = self._wakers, []
        for waker in wakers:
            if not waker.done():
                waker.set_result(None)

    def _hold_s(self, job: Job, now: float) -> float:
        """Seconds this job is still held back (<= 0: ready to take)."""
        waited = now - job.enqueued
        preparing = job.preparation is not None and not job.preparation.done()
        # Not started while others prepare: it will get its own preparation as soon as a thread frees.
        unprepared = job.preparation is None and self._preparer.enabled and self._preparer.running() > 0
        hold = self.prep_wait_s - waited if (preparing or unprepared) else 0.0
        if (job.compiles_baseline and self.warmer is not None and self.warmer.pending(job.task_source)):
            hold = max(hold, self.warm_wait_s - waited)
        return hold

    def _choose(self) -> tuple[Job | None, float | None]:
        """The oldest ready job, else (None, seconds until the first hold expires; None: no jobs)."""
        now = time.monotonic()
        soonest: float | None = None
        for job in self._waiting:
            if job.future is not None and job.future.done():  # cancelled while it waited
                return job, None
            hold = self._hold_s(job, now)
            if hold <= 0:
                return job, None
            soonest = hold if soonest is None else min(soonest, hold)
        return None, soonest

    async def _next_job(self) -> Job:
        loop = asyncio.get_running_loop()
        while True:
            job, wait_s = self._choose()
            if job is not None:
                return job
            waker = loop.create_future()
            self._wakers.append(waker)
            try:
                await asyncio.wait_for(waker, wait_s)
            except TimeoutError:
                pass

    def _preparation_work(self, job: Job) -> Any:
        # The worker's own options merge, and the arch as far as the workers have told it.
        capabilities = [slot.hardware.compute_capability for slot in self.slots]
        return functools.partial(prepare_candidate, job.task_source, job.candidate,
                                 {**self._options, **job.options}, capabilities)

    def _dequeued(self, job: Job) -> Preparation | None:
        """Forget a job taken off the queue; its preparation if it has finished (never waits)."""
        try:
            self._waiting.remove(job)
        except ValueError:
            pass
        prepared = self._preparer.take(job)
        self._prepare_next()
        return prepared

    async def _serve(self, slot: WorkerSlot) -> None:
        while True:
            job = await self._next_job()
            prepared = self._dequeued(job)
            if job.future.cancelled():  # the client gave up while it waited
                continue
            start = time.monotonic()
            verdict = await self._run(slot, job, prepared)
            self._mean_job_s = 0.8 * self._mean_job_s + 0.2 * (time.monotonic() - start)
            if not job.future.done():
                job.future.set_result(verdict)

    async def _run(self, slot: WorkerSlot, job: Job, prepared: Preparation | None = None) -> V.Verdict:
        options = _worker_options(job, prepared)
        verdict = await self._run_on_worker(slot, job, options)
        if verdict.outcome == V.VERDICT_OUTCOME_OUT_OF_MEMORY:
            # The worker was replaced (OOM is fatal to it). The memory may have gone to this GPU's other
            # processes (the compile warmer) rather than to the candidate: one more try on the fresh worker,
            # and the candidate keeps OUT_OF_MEMORY only if it runs out again.
            first = verdict.message
            log.info("retrying after out of memory", candidate=job.candidate.id[:12], worker=slot.index)
            verdict = await self._run_on_worker(slot, job, options)
            if verdict.outcome == V.VERDICT_OUTCOME_OUT_OF_MEMORY:
                verdict.message = f"{verdict.message} (also on a retry; first: {first})"
        if prepared is not None:
            # Seconds spent preparing this job in the background, while the GPU ran earlier ones.
            verdict.phase_seconds["prepare"] = prepared.seconds
        return verdict

    async def _run_on_worker(self, slot: WorkerSlot, job: Job, options: dict[str, Any]) -> V.Verdict:
        loop = asyncio.get_running_loop()
        if slot.process is None or not slot.process.is_alive():
            await self._restart(slot)
        slot.state = "busy"
        try:
            slot.conn.send(("job", job.candidate.id, job.task_source, job.candidate.SerializeToString(), options))
            answered = await loop.run_in_executor(None, slot.conn.poll, job.timeout_s)
            if not answered:
                slot.kill()
                verdict = V.Verdict(candidate_id=job.candidate.id, outcome=V.VERDICT_OUTCOME_TIMED_OUT,
                                    message=f"no verdict within {job.timeout_s:.0f}s; the worker was killed")
                verdict.hardware.CopyFrom(slot.hardware)
                await self._restart(slot)
                return verdict
            try:
                _, _, verdict_bytes, fatal = slot.conn.recv()
            except (EOFError, OSError):
                await loop.run_in_executor(None, slot.process.join, 10)
                verdict = V.Verdict(candidate_id=job.candidate.id, outcome=V.VERDICT_OUTCOME_CRASHED,
                                    message=f"{slot.exit_description()} while evaluating this candidate")
                verdict.hardware.CopyFrom(slot.hardware)
                await self._restart(slot)
                return verdict
            slot.evaluated += 1
            verdict = V.Verdict.FromString(verdict_bytes)
            if fatal:
                await self._restart(slot)
            return verdict
        finally:
            if slot.state == "busy":
                slot.state = "idle"

    async def _restart(self, slot: WorkerSlot) -> None:
        slot.state = "restarting"
        slot.kill()
        slot.restarts += 1
        slot.spawn()
        await asyncio.get_running_loop().run_in_executor(None, slot.wait_ready, self._startup_timeout_s)
        log.info("gpu worker restarted", worker=slot.index, seconds=round(slot.last_start_s, 2),
                 restarts=slot.restarts)


def _worker_options(job: Job, prepared: Preparation | None) -> dict[str, Any]:
    """The job's options as sent to the worker: with the prepared static findings when there are
    any (a copy: job.options stays the verdict-cache key)."""
    if prepared is None or prepared.static is None:
        return job.options
    return {**job.options, PREPARED_STATIC_KEY: prepared.static}


def _prepare_ahead_setting() -> int:
    """KW_GPU_EVALUATOR_PREPARE_AHEAD, for pools built without an explicit prepare_ahead."""
    from kernelwright.gpu_evaluator.settings import GpuEvaluatorSettings

    return GpuEvaluatorSettings().prepare_ahead
