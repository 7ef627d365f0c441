"""Sending candidates to a gpu-evaluator pool: pick a pool for the GPU, spread over its endpoints,
turn transport failures into one clear infrastructure error and candidate problems into verdicts.

Status handling of an Evaluate call:
  OK                   the verdict (any outcome: outcomes are data).
  INVALID_ARGUMENT     the evaluator refused the candidate itself (e.g. an empty plan): a synthetic
                       REJECTED_STATIC verdict, fed back to the proposer like any other.
  DEADLINE_EXCEEDED    our client deadline passed: a synthetic TIMED_OUT verdict.
  FAILED_PRECONDITION  the pool cannot evaluate (CPU-only): ``EvaluatorRefused``.
  RESOURCE_EXHAUSTED   (after the channel's own retries) the queue is full: wait the evaluator's
                       ``retry-after-ms`` (capped) and ask again, until the Evaluate deadline.
  UNAVAILABLE / other transport errors:
                       the endpoint is marked down and the next one of the pool is tried; when
                       none is left, ``EvaluatorUnavailable``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import grpc
from grpc import aio

from kernelwright.common.v1 import kernel_pb2, task_pb2, verdict_pb2
from kernelwright.core.clients import async_channel
from kernelwright.core.discovery import NoPoolForGpu, Pool, PoolDirectory, PoolRouter
from kernelwright.core.logger import get_logger
from kernelwright.gpu_evaluator.v1 import gpu_evaluator_pb2 as epb
from kernelwright.gpu_evaluator.v1 import gpu_evaluator_pb2_grpc

log = get_logger("kernelwright.translator.evaluator")
V = verdict_pb2
MAX_BUSY_WAIT_S = 30.0   # one wait on a full queue, whatever retry-after says


class EvaluatorUnavailable(Exception):
    """No evaluator endpoint could be reached (the message names the pool and endpoints tried)."""


class EvaluatorRefused(Exception):
    """An evaluator answered that it cannot evaluate at all (e.g. CPU-only)."""


class EvaluatorClient:
    """``await client.evaluate(task, candidate)`` -> Verdict, over a pool directory.

    ``directory_factory`` builds the directory on first use (Kubernetes watches need the event
    loop); ``allow_shared``: time-sliced pools are fine for verification-only work.
    """

    def __init__(self, directory_factory: Callable[[], PoolDirectory], *, target_gpu: str = "",
                 options: epb.EvaluateOptions | None = None, timeout_s: float = 1800.0,
                 allow_shared: bool = True, cooldown_s: float = 30.0) -> None:
        self._factory = directory_factory
        self._directory: PoolDirectory | None = None
        self._router: PoolRouter | None = None
        self._cooldown_s = cooldown_s
        self.target_gpu = target_gpu
        self.options = options or epb.EvaluateOptions(verify_only=True)
        self.timeout_s = timeout_s
        self.allow_shared = allow_shared
        self._channels: dict[str, aio.Channel] = {}

    async def router(self) -> PoolRouter:
        if self._router is None:
            directory = self._factory()
            await directory.start()
            self._directory, self._router = directory, PoolRouter(directory, self._cooldown_s)
        return self._router

    async def pool_for(self, target_gpu: str | None = None) -> Pool:
        """The pool candidates for ``target_gpu`` go to; ``EvaluatorUnavailable`` when there is none."""
        router = await self.router()
        try:
            pool, _ = router.pick(target_gpu if target_gpu is not None else self.target_gpu,
                                  allow_shared=self.allow_shared)
        except NoPoolForGpu as exc:
            raise EvaluatorUnavailable(str(exc)) from None
        return pool

    def _stub(self, endpoint: str) -> gpu_evaluator_pb2_grpc.GpuEvaluatorServiceStub:
        channel = self._channels.get(endpoint)
        if channel is None:
            channel = self._channels[endpoint] = async_channel(endpoint)
        return gpu_evaluator_pb2_grpc.GpuEvaluatorServiceStub(channel)

    async def evaluate(self, task: task_pb2.Task, candidate: kernel_pb2.KernelCandidate,
                       target_gpu: str | None = None) -> verdict_pb2.Verdict:
        router = await self.router()
        gpu = target_gpu if target_gpu is not None else self.target_gpu
        request = epb.EvaluateRequest(task=task, candidate=candidate, options=self.options)
        tried: list[str] = []
        pool_name = ""
        busy_until = time.monotonic() + self.timeout_s
        while True:
            try:
                pool, endpoint = router.pick(gpu, allow_shared=self.allow_shared)
            except NoPoolForGpu as exc:
                raise EvaluatorUnavailable(str(exc)) from None
            pool_name = pool.name
            if endpoint in tried:   # every endpoint of the pool failed this round
                raise EvaluatorUnavailable(
                    f"no evaluator of pool {pool_name} is reachable (tried {', '.join(tried)})")
            tried.append(endpoint)
            try:
                response = await self._stub(endpoint).Evaluate(request, timeout=self.timeout_s)
            except aio.AioRpcError as exc:
                code = exc.code()
                if code == grpc.StatusCode.INVALID_ARGUMENT:
                    router.report(pool.name, endpoint, True)
                    return V.Verdict(candidate_id=candidate.id, outcome=V.VERDICT_OUTCOME_REJECTED_STATIC,
                                     message=f"the evaluator refused the candidate: {exc.details()}")
                if code == grpc.StatusCode.DEADLINE_EXCEEDED:
                    return V.Verdict(candidate_id=candidate.id, outcome=V.VERDICT_OUTCOME_TIMED_OUT,
                                     message=f"no verdict within the translator's {self.timeout_s:g}s deadline")
                if code == grpc.StatusCode.RESOURCE_EXHAUSTED and time.monotonic() < busy_until:
                    tried.remove(endpoint)   # busy, not broken: ask again after the evaluator's hint
                    await asyncio.sleep(min(max(0.1, _retry_after_s(exc)), MAX_BUSY_WAIT_S,
                                            max(0.0, busy_until - time.monotonic())))
                    continue
                if code == grpc.StatusCode.FAILED_PRECONDITION:
                    raise EvaluatorRefused(f"evaluator {endpoint} (pool {pool.name}) cannot evaluate: "
                                           f"{exc.details()}") from None
                log.warning("evaluator call failed; trying another endpoint", endpoint=endpoint,
                            pool=pool.name, code=code.name, details=exc.details())
                router.report(pool.name, endpoint, False)
                continue
            router.report(pool.name, endpoint, True)
            return response.verdict

    async def close(self) -> None:
        channels, self._channels = self._channels, {}
        for channel in channels.values():
            await channel.close()
        if self._directory is not None:
            await self._directory.stop()
            self._directory, self._router = None, None


def _retry_after_s(exc: aio.AioRpcError, default_s: float = 1.0) -> float:
    for key, value in exc.trailing_metadata() or ():
        if key == "retry-after-ms":
            try:
                return max(0.0, int(value) / 1000.0)
            except ValueError:
                break
    return default_s
