"""Entry point: KernelBench task source -> functional PyTorch, validated.

``convert_task`` runs in the caller's process and never executes task code:
it checks the source statically, then runs ``worker.convert_in_child`` in a sandbox
child and turns whatever happens there into a ``ConversionResult``.
"""

from __future__ import annotations

import time
from kernelwright.core.sandbox import SandboxLimits, SandboxStatus, run_in_sandbox

from .model import ConversionResult, ConvertOptions, Outcome, TaskInvalid, TensorSpec  # noqa: F401
from .tasks import check_task_source

FUNCTION_NAME = "module_fn"
_GIB = 2**30


def convert_task(source: str, options: ConvertOptions | None = None, task_name: str = "task") -> ConversionResult:
    """Convert and validate one task.  Raises only TaskInvalid (static problems)."""
    options = options or ConvertOptions()
    check_task_source(source, task_name)
    start = time.monotonic()
    res = run_in_sandbox(f"{__package__}.worker:convert_in_child", source, options, task_name, limits=_limits(options))
    return _finish(res, options, start)


def _limits(options: ConvertOptions) -> SandboxLimits:
    return SandboxLimits(
        timeout_s=options.timeout_s,
        # the child applies the address-space cap itself once it knows the
        # device: CUDA needs an uncapped address space
        memory_limit_bytes=None,
        preload=("torch", "torch.fx", "torch.export", f"{__package__}.worker"),
        torch_threads=options.threads,
    )


def _finish(res, options: ConvertOptions, start: float) -> ConversionResult:
    duration = time.monotonic() - start

    if res.status == SandboxStatus.OK and isinstance(res.value, ConversionResult):
        result = res.value
    else:
        partial = res.progress_payload if isinstance(res.progress_payload, ConversionResult) else None
        result = partial or ConversionResult(outcome=Outcome.TASK_ERROR, message="", method="")
        if res.status == SandboxStatus.TIMEOUT:
            result.outcome = Outcome.TIMEOUT
            result.message = (f"timed out after {options.timeout_s:g} s"
                              + (f"; got as far as: {res.progress}" if res.progress else ""))
        elif res.status == SandboxStatus.MEMORY_LIMIT:
            result.outcome = Outcome.MEMORY_LIMIT
            result.message = f"memory limit hit: {res.message}" + (
                f" (during: {res.progress})" if res.progress and res.progress not in res.message else "")
        elif res.status == SandboxStatus.FORBIDDEN:
            result.outcome = Outcome.FORBIDDEN
            result.message = res.message
        elif res.status == SandboxStatus.ERROR:
            # a bug in the converter itself, not in the task: say so plainly
            result.outcome = Outcome.UNSUPPORTED
            result.message = f"converter error: {res.error_type}: {res.message}"
        else:
            result.outcome = Outcome.TASK_ERROR
            result.message = f"the sandbox child crashed: {res.message}"
        # checks from a run that did not finish are reported but do not validate
        if result.outcome != Outcome.VALIDATED:
            result.not_validated_reason = result.not_validated_reason or result.message
    result.duration_s = duration
    result.function_name = result.function_name or FUNCTION_NAME
    return result


def validate_converted(source: str, converted_source: str, options: ConvertOptions | None = None,
                       task_name: str = "task") -> ConversionResult:
    """Re-run the numeric trials of ``converted_source`` against the task (e.g. an edited conversion)."""
    options = options or ConvertOptions()
    check_task_source(source, task_name)
    start = time.monotonic()
    res = run_in_sandbox(f"{__package__}.worker:validate_in_child", source, converted_source, options, task_name,
                         limits=_limits(options))
    return _finish(res, options, start)
