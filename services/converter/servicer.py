"""ConverterService: static check in-process, everything that runs task code in a sandbox child."""

from __future__ import annotations

import asyncio

from grpc import aio

from kernelwright.common.v1 import task_pb2
from kernelwright.converter.convert import convert_task
from kernelwright.converter.model import ConversionResult, ConvertOptions, Outcome, TaskInvalid
from kernelwright.converter.settings import ConverterSettings
from kernelwright.converter.v1 import converter_pb2, converter_pb2_grpc
from kernelwright.core.errors import InvalidArgument, ResourceExhausted
from kernelwright.core.logger import bind_request, get_logger

log = get_logger("kernelwright.converter")

_OUTCOMES = {
    Outcome.VALIDATED: converter_pb2.CONVERSION_OUTCOME_VALIDATED,
    Outcome.NOT_VALIDATED: converter_pb2.CONVERSION_OUTCOME_NOT_VALIDATED,
    Outcome.MISMATCH: converter_pb2.CONVERSION_OUTCOME_MISMATCH,
    Outcome.TASK_ERROR: converter_pb2.CONVERSION_OUTCOME_TASK_ERROR,
    Outcome.UNSUPPORTED: converter_pb2.CONVERSION_OUTCOME_UNSUPPORTED,
    Outcome.TIMEOUT: converter_pb2.CONVERSION_OUTCOME_TIMED_OUT,
    Outcome.MEMORY_LIMIT: converter_pb2.CONVERSION_OUTCOME_MEMORY_LIMIT,
    Outcome.FORBIDDEN: converter_pb2.CONVERSION_OUTCOME_FORBIDDEN,
}
_METHODS = {
    "fx": task_pb2.CONVERSION_METHOD_FX,
    "export": task_pb2.CONVERSION_METHOD_EXPORT,
    "llm": task_pb2.CONVERSION_METHOD_LLM,
}
_DEVICES = {"", "cpu", "cuda", "auto"}
MAX_TRIALS = 20


def options_from_request(request: converter_pb2.ConvertRequest, settings: ConverterSettings) -> ConvertOptions:
    v = request.validation
    if not 0 <= v.trials <= MAX_TRIALS:
        raise InvalidArgument(f"validation.trials must be 0..{MAX_TRIALS}, got {v.trials}")
    if v.timeout_s < 0:
        raise InvalidArgument(f"validation.timeout_s must be >= 0, got {v.timeout_s}")
    if v.device not in _DEVICES:
        raise InvalidArgument(f"validation.device must be one of cpu, cuda, auto; got {v.device!r}")
    return ConvertOptions(
        trials=v.trials or settings.trials,
        convert_only=v.skip,
        timeout_s=v.timeout_s or settings.timeout_s,
        memory_limit_bytes=int(settings.memory_limit_gib * 2**30),
        max_tensor_bytes=int(settings.max_tensor_gib * 2**30),
        device=v.device or settings.device,
        base_seed=v.base_seed,
    )


def response_from_result(result: ConversionResult) -> converter_pb2.ConvertResponse:
    verdict = converter_pb2.ConversionVerdict(
        outcome=_OUTCOMES[result.outcome],
        message=result.message,
        max_abs_error=result.max_abs_error,
        max_rel_error=result.max_rel_error,
        atol=result.atol,
        rtol=result.rtol,
        not_validated_reason=result.not_validated_reason,
        device=result.device,
        duration_s=result.duration_s,
        checks=[
            converter_pb2.ValidationCheck(
                trial=c.trial, seed=c.seed, distribution=c.distribution, passed=c.passed,
                max_abs_error=c.max_abs_error, max_rel_error=c.max_rel_error, message=c.message,
            )
            for c in result.checks
        ],
    )
    response = converter_pb2.ConvertResponse(verdict=verdict)
    if result.functional_source:
        response.program.CopyFrom(task_pb2.FunctionalProgram(
            source=result.functional_source,
            function_name=result.function_name,
            parameter_names=result.parameter_names,
            ops=result.ops,
            inputs=[task_pb2.TensorSpec(shape=s.shape, dtype=s.dtype) for s in result.inputs],
            method=_METHODS.get(result.method, task_pb2.CONVERSION_METHOD_UNSPECIFIED),
        ))
    return response


class ConverterServicer(converter_pb2_grpc.ConverterServiceServicer):
    def __init__(self, settings: ConverterSettings) -> None:
        self._settings = settings
        self._slots = asyncio.Semaphore(settings.max_parallel)

    async def Convert(self, request: converter_pb2.ConvertRequest,
                      context: aio.ServicerContext) -> converter_pb2.ConvertResponse:
        if not request.HasField("task") or not request.task.source.strip():
            raise InvalidArgument("task.source is empty: send the KernelBench task's Python source")
        options = options_from_request(request, self._settings)
        name = request.task.name or "task"
        bind_request(task=name)
        if self._slots.locked():
            raise ResourceExhausted(
                f"{self._settings.max_parallel} conversions already running; retry later",
                retry_after_ms=2000,
            )
        async with self._slots:
            try:
                # The call blocks on a child process; a thread keeps the event loop serving.
                result = await asyncio.to_thread(convert_task, request.task.source, options, name)
            except TaskInvalid as exc:
                raise InvalidArgument(f"invalid task {name}: {exc}") from exc
        log.info("converted", outcome=result.outcome.value, method=result.method,
                 seconds=round(result.duration_s, 2))
        return response_from_result(result)
