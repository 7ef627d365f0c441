"""Sends candidates to gpu-evaluator endpoints: every endpoint kept busy, runs served fairly.

One dispatcher per evolver, shared by all runs. Each run has its own FIFO of waiting candidates;
when an endpoint has a free slot, the next run in round-robin order sends its oldest candidate, so
four runs get a quarter of the evaluators each however many candidates each one queues.

Slots per endpoint: ``evaluator_inflight_per_endpoint``, or by default twice the endpoint's workers
(GetCapabilities), so each GPU has a candidate queued behind the one it is running.

Back-pressure: RESOURCE_EXHAUSTED pauses that endpoint for the ``retry-after-ms`` it sent and puts
the candidate back at the head of its run's queue. UNAVAILABLE (an evaluator killed or restarting)
marks the endpoint down in the shared router (other endpoints take the work) and retries with
exponential backoff; candidates are never dropped. The evaluator's verdict cache is keyed by the
candidate hash, so a retried candidate gets the same verdict.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, OrderedDict, deque
from dataclasses import dataclass, field

import grpc
from grpc import aio

from kernelwright.common.v1 import kernel_pb2, task_pb2, verdict_pb2
from kernelwright.core.clients import ClientTls, channel_options
from kernelwright.core.discovery import NoPoolForGpu, PoolRouter
from kernelwright.core.logger import get_logger
from kernelwright.gpu_evaluator.v1 import gpu_evaluator_pb2 as epb
from kernelwright.gpu_evaluator.v1 import gpu_evaluator_pb2_grpc as egrpc

log = get_logger("kernelwright.evolver.dispatcher")

RETRYABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL,
             grpc.StatusCode.CANCELLED, grpc.StatusCode.ABORTED)


class EvaluatorRefused(Exception):
    """The evaluator can never evaluate this run's candidates (e.g. a CPU-only evaluator); ends the run."""


@dataclass
class _Job:
    run_id: str
    pool: str
    request: epb.EvaluateRequest
    future: asyncio.Future
    created: float
    attempts: int = 0
    not_before: float = 0.0
    task: asyncio.Task | None = field(default=None, repr=False)


def evaluator_channel(target: str, tls: ClientTls | None = None) -> aio.Channel:
    """A channel without gRPC's transparent retries: back-pressure and failover are ours."""
    tls = tls or ClientTls.from_env()
    options = [o for o in channel_options() if o[0] not in ("grpc.enable_retries", "grpc.service_config")]
    options.append(("grpc.enable_retries", 0))
    if tls.enabled:
        return aio.secure_channel(target, tls.credentials(), options=options)
    return aio.insecure_channel(target, options=options)


def retry_after_s(error: aio.AioRpcError, default: float) -> float:
    for key, value in error.trailing_metadata() or ():
        if key == "retry-after-ms":
            try:
                return max(0.0, int(value) / 1000.0)
            except ValueError:
                break
    return default


class EvaluatorDispatcher:
    def __init__(self, router: PoolRouter, *, inflight_per_endpoint: int = 0, rpc_timeout_s: float = 1800.0,
                 no_pool_timeout_s: float = 120.0, options: epb.EvaluateOptions | None = None,
                 backoff_initial_s: float = 0.2, backoff_max_s: float = 10.0, max_deadline_retries: int = 2) -> None:
        self.router = router
        self.inflight_per_endpoint = inflight_per_endpoint
        self.rpc_timeout_s = rpc_timeout_s
        self.no_pool_timeout_s = no_pool_timeout_s
        self.options = options or epb.EvaluateOptions()
        self.backoff_initial_s, self.backoff_max_s = backoff_initial_s, backoff_max_s
        self.max_deadline_retries = max_deadline_retries
        self._queues: OrderedDict[str, deque[_Job]] = OrderedDict()
        self._inflight: Counter[str] = Counter()
        self._capacity: dict[str, int] = {}
        self._paused_until: dict[str, float] = {}
        self._channels: dict[str, aio.Channel] = {}
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task | None = None
        self.dispatched: Counter[str] = Counter()   # per run, for fairness checks and metrics

    # -- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> None:
        if self._loop_task is None:
            self._loop_task = asyncio.create_task(self._loop(), name="evaluator-dispatcher")

    async def stop(self) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
            await asyncio.gather(self._loop_task, return_exceptions=True)
            self._loop_task = None
        for queue in self._queues.values():
            for job in queue:
                if not job.future.done():
                    job.future.cancel()
        for channel in self._channels.values():
            await channel.close(None)
        self._channels.clear()

    @property
    def inflight(self) -> int:
        return sum(self._inflight.values())

    def waiting(self, run_id: str | None = None) -> int:
        if run_id is not None:
            return len(self._queues.get(run_id, ()))
        return sum(len(q) for q in self._queues.values())

    # -- the API runs use -----------------------------------------------------------------------
    async def evaluate(self, run_id: str, target_pool: str, task: task_pb2.Task,
                       candidate: kernel_pb2.KernelCandidate, *, skip_baselines: bool = False,
                       measurement: int = 0) -> verdict_pb2.Verdict:
        """``skip_baselines``: time the candidate alone (ranking inside a search; never for reported numbers).
        ``measurement`` n > 0: a repeat measurement, timed anew by the evaluator (EvaluateOptions.measurement)."""
        loop = asyncio.get_running_loop()
        options = self.options
        if skip_baselines or measurement:
            options = epb.EvaluateOptions()
            options.CopyFrom(self.options)
            options.skip_baselines = options.skip_baselines or skip_baselines
            options.measurement = measurement
        job = _Job(run_id, target_pool, epb.EvaluateRequest(task=task, candidate=candidate, options=options),
                   loop.create_future(), time.monotonic())
        self._queues.setdefault(run_id, deque()).append(job)
        self._wake.set()
        try:
            return await job.future
        finally:
            if not job.future.done() or job.future.cancelled():
                self._forget(job)

    def _forget(self, job: _Job) -> None:
        queue = self._queues.get(job.run_id)
        if queue is not None and job in queue:
            queue.remove(job)
        if job.task is not None and not job.task.done():
            job.task.cancel()

    # -- scheduling ----------------------------------------------------------------------------
    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            self._dispatch_ready()
            timeout = self._next_wakeup()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:
                pass

    def _next_wakeup(self) -> float | None:
        now = time.monotonic()
        times = [j.not_before for q in self._queues.values() for j in q if j.not_before > now]
        if any(self._queues.values()):
            times += [t for t in self._paused_until.values() if t > now]
            times.append(now + 1.0)   # pools may change (discovery) without waking us
        return max(0.0, min(times) - now) if times else None

    def _dispatch_ready(self) -> None:
        """Round-robin over runs with waiting candidates, one candidate per run per turn."""
        while True:
            sent = False
            for run_id in list(self._queues):
                queue = self._queues[run_id]
                if not queue:
                    del self._queues[run_id]
                    continue
                job = self._first_ready(queue)
                if job is None:
                    continue
                placed = self._place(job)
                if placed is None:
                    continue
                pool_name, endpoint = placed
                queue.remove(job)
                self._queues.move_to_end(run_id)   # this run had its turn
                self._inflight[endpoint] += 1
                self.dispatched[run_id] += 1
                job.task = asyncio.create_task(self._send(job, pool_name, endpoint))
                sent = True
                break
            if not sent:
                return

    @staticmethod
    def _first_ready(queue: deque[_Job]) -> _Job | None:
        now = time.monotonic()
        return next((j for j in queue if j.not_before <= now and not j.future.done()), None)

    def _place(self, job: _Job) -> tuple[str, str] | None:
        """The pool and the least-loaded free endpoint for ``job``, or None to wait."""
        try:
            pool = self.router.pick(job.pool)[0]
        except NoPoolForGpu as exc:
            if time.monotonic() - job.created > self.no_pool_timeout_s:
                job.future.set_exception(EvaluatorRefused(str(exc)))
            else:
                job.not_before = time.monotonic() + 1.0
            return None
        balancer = self.router.balancer(pool)
        now = time.monotonic()
        healthy = set(balancer.healthy())
        candidates = [e for e in pool.endpoints if self._paused_until.get(e, 0.0) <= now
                      and self._inflight[e] < self._slots(e)]
        if not candidates:
            return None
        # Healthy endpoints first, then the least loaded.
        endpoint = min(candidates, key=lambda e: (e not in healthy, self._inflight[e] / self._slots(e)))
        return pool.name, endpoint

    def _slots(self, endpoint: str) -> int:
        if self.inflight_per_endpoint:
            return self.inflight_per_endpoint
        if endpoint not in self._capacity:
            self._capacity[endpoint] = 2   # until GetCapabilities answers
            asyncio.get_running_loop().create_task(self._learn_capacity(endpoint))
        return self._capacity[endpoint]

    async def _learn_capacity(self, endpoint: str) -> None:
        try:
            caps = await egrpc.GpuEvaluatorServiceStub(self._channel(endpoint)).GetCapabilities(
                epb.GetCapabilitiesRequest(), timeout=10)
        except aio.AioRpcError:
            self._capacity.pop(endpoint, None)   # ask again next time
            return
        slots = max(2, 2 * len(caps.workers))
        if caps.queue_capacity:
            slots = min(slots, caps.queue_capacity + len(caps.workers))
        self._capacity[endpoint] = max(1, slots)
        self._wake.set()

    def _channel(self, endpoint: str) -> aio.Channel:
        channel = self._channels.get(endpoint)
        if channel is None:
            channel = self._channels[endpoint] = evaluator_channel(endpoint)
        return channel

    # -- one call ------------------------------------------------------------------------------
    def _requeue(self, job: _Job, delay_s: float, front: bool) -> None:
        job.not_before = time.monotonic() + delay_s
        queue = self._queues.setdefault(job.run_id, deque())
        (queue.appendleft if front else queue.append)(job)

    async def _send(self, job: _Job, pool_name: str, endpoint: str) -> None:
        try:
            stub = egrpc.GpuEvaluatorServiceStub(self._channel(endpoint))
            reply = await stub.Evaluate(job.request, timeout=self.rpc_timeout_s)
            self.router.report(pool_name, endpoint, True)
            if not job.future.done():
                job.future.set_result(reply.verdict)
        except aio.AioRpcError as exc:
            self._on_error(job, pool_name, endpoint, exc)
        except asyncio.CancelledError:
            pass   # the run was cancelled or the evolver is stopping
        finally:
            self._inflight[endpoint] -= 1
            self._wake.set()

    def _on_error(self, job: _Job, pool_name: str, endpoint: str, exc: aio.AioRpcError) -> None:
        if job.future.done():
            return
        code = exc.code()
        job.attempts += 1
        if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
            pause = retry_after_s(exc, 1.0)
            self._paused_until[endpoint] = time.monotonic() + pause
            log.info("evaluator busy", endpoint=endpoint, retry_after_s=pause)
            self._requeue(job, 0.0, front=True)
        elif code in RETRYABLE:
            self.router.report(pool_name, endpoint, False)
            delay = min(self.backoff_max_s, self.backoff_initial_s * 2 ** min(job.attempts - 1, 10))
            log.warning("evaluator call failed; retrying", endpoint=endpoint, code=code.name, delay_s=delay,
                        attempt=job.attempts)
            self._requeue(job, delay, front=True)
        elif code == grpc.StatusCode.DEADLINE_EXCEEDED and job.attempts <= self.max_deadline_retries:
            self._requeue(job, 0.0, front=False)
        elif code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.DEADLINE_EXCEEDED):
            # The candidate's own fault (malformed plan) or it never finished: data, not an error.
            outcome = (verdict_pb2.VERDICT_OUTCOME_REJECTED_STATIC if code == grpc.StatusCode.INVALID_ARGUMENT
                       else verdict_pb2.VERDICT_OUTCOME_TIMED_OUT)
            job.future.set_result(verdict_pb2.Verdict(
                candidate_id=job.request.candidate.id, outcome=outcome,
                message=f"evaluator refused the candidate: {code.name}: {exc.details()}"))
        else:
            job.future.set_exception(EvaluatorRefused(f"evaluator {endpoint}: {code.name}: {exc.details()}"))
