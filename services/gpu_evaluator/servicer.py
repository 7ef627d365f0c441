"""GpuEvaluatorService: validates requests, queues candidates on the worker pool, answers verdicts."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from grpc import aio

from kernelwright.common.v1 import kernel_pb2
from kernelwright.core.errors import InvalidArgument
from kernelwright.core.logger import bind_request, get_logger
from kernelwright.gpu_evaluator.pool import WorkerPool, candidate_id
from kernelwright.gpu_evaluator.settings import GpuEvaluatorSettings
from kernelwright.gpu_evaluator.v1 import gpu_evaluator_pb2 as pb
from kernelwright.gpu_evaluator.v1 import gpu_evaluator_pb2_grpc

log = get_logger("kernelwright.gpu_evaluator")
FORMATS = (kernel_pb2.CANDIDATE_FORMAT_KERNELBENCH, kernel_pb2.CANDIDATE_FORMAT_FAST)


def validate_candidate(task_source: str, candidate: kernel_pb2.KernelCandidate) -> None:
    if not task_source.strip():
        raise InvalidArgument("task.source is empty: send the KernelBench task the candidate implements")
    if candidate.format not in FORMATS:
        raise InvalidArgument("candidate.format must be CANDIDATE_FORMAT_KERNELBENCH or CANDIDATE_FORMAT_FAST")
    if candidate.format == kernel_pb2.CANDIDATE_FORMAT_KERNELBENCH and not candidate.kernelbench_source.strip():
        raise InvalidArgument("candidate.kernelbench_source is empty")
    if candidate.format == kernel_pb2.CANDIDATE_FORMAT_FAST:
        if not candidate.cuda_source.strip():
            raise InvalidArgument("candidate.cuda_source is empty")
        if not candidate.plan.steps:
            raise InvalidArgument("candidate.plan has no steps")


def options_from(request: pb.EvaluateRequest, settings: GpuEvaluatorSettings, shared_gpu: bool) -> dict[str, Any]:
    o = request.options
    if o.correctness_trials and o.correctness_trials < 5:
        raise InvalidArgument(f"options.correctness_trials must be >= 5 (or 0 for the default), got {o.correctness_trials}")
    if o.timing_trials and o.timing_trials < 100:
        raise InvalidArgument(f"options.timing_trials must be >= 100 (or 0 for the default), got {o.timing_trials}")
    if o.timeout_s < 0:
        raise InvalidArgument("options.timeout_s must be >= 0")
    return {
        "correctness_trials": o.correctness_trials or settings.correctness_trials,
        "timing_trials": o.timing_trials or settings.timing_trials,
        "warmup": settings.warmup,
        "input_sets": settings.input_sets,
        # A time-sliced GPU's timings are other tenants' noise: verify only.
        "verify_only": o.verify_only or shared_gpu,
        "profile": o.profile,
        "compile_baseline": not o.skip_compile_baseline,
        # Candidate-only timing for ranking inside a search; part of the verdict cache key (pool.py).
        "baselines": not o.skip_baselines,
        # A repeat measurement: only part of the verdict cache key (pool.py), so it is timed anew.
        "measurement": o.measurement,
        "launcher": settings.launcher,
        "arch": settings.arch,
        "cache_dir": settings.cache_dir,
    }


class GpuEvaluatorServicer(gpu_evaluator_pb2_grpc.GpuEvaluatorServiceServicer):
    def __init__(self, settings: GpuEvaluatorSettings, pool: WorkerPool) -> None:
        self._settings = settings
        self._pool = pool

    async def Evaluate(self, request: pb.EvaluateRequest, context: aio.ServicerContext) -> pb.EvaluateResponse:
        if not request.HasField("task") or not request.HasField("candidate"):
            raise InvalidArgument("both task and candidate are required")
        validate_candidate(request.task.source, request.candidate)
        candidate = request.candidate
        candidate.id = candidate.id or candidate_id(candidate)
        bind_request(task=request.task.name, candidate=candidate.id[:12])
        shared = self._settings.gpu_product.endswith("-SHARED")
        options = options_from(request, self._settings, shared)
        timeout = request.options.timeout_s or self._settings.candidate_timeout_s
        verdict = await self._pool.evaluate(request.task.source, candidate, options, timeout)
        log.info("evaluated", outcome=verdict.outcome, cached=verdict.cached,
                 seconds=round(verdict.phase_seconds.get("total", 0.0), 3))
        return pb.EvaluateResponse(verdict=verdict)

    async def Check(self, request: pb.CheckRequest, context: aio.ServicerContext) -> pb.CheckResponse:
        if not request.HasField("candidate"):
            raise InvalidArgument("candidate is required")
        validate_candidate(request.task.source or "# no task\n", request.candidate)
        from kernelwright.gpu_evaluator.check_pipeline import check_candidate

        candidate = request.candidate
        candidate.id = candidate.id or candidate_id(candidate)
        kwargs: dict[str, Any] = {"cache_dir": Path(self._settings.cache_dir)}
        if self._settings.arch:
            kwargs["arch"] = self._settings.arch
        verdict = await asyncio.to_thread(check_candidate, request.task.source, candidate, **kwargs)
        return pb.CheckResponse(verdict=verdict)

    async def GetCapabilities(self, request: pb.GetCapabilitiesRequest,
                              context: aio.ServicerContext) -> pb.GetCapabilitiesResponse:
        return pb.GetCapabilitiesResponse(
            pool=self._settings.pool,
            workers=[pb.GpuWorker(index=s.index, hardware=s.hardware, state=s.state, evaluated=s.evaluated)
                     for s in self._pool.slots],
            cpu_only=self._pool.cpu_only,
            queue_capacity=self._pool.queue_capacity,
            queue_depth=self._pool.queue_depth(),
            formats=list(FORMATS),
        )
