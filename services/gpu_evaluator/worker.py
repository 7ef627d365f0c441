"""A GPU worker process: owns one GPU (as cuda:0), evaluates one candidate at a time.

Started by the pool with the spawn method and an environment that shows it exactly one GPU.
Protocol over a multiprocessing Connection:
  worker -> pool: ("ready", hardware_bytes, info) once, then ("result", job_id, verdict_bytes, fatal)
  pool -> worker: ("job", job_id, task_source, candidate_bytes, options_dict) or ("stop",)
    (options_dict may carry prepare.PREPARED_STATIC_KEY: static findings the pool prepared ahead)
After a fatal CUDA error (illegal address, launch failure) or a tampered process the worker
answers and exits, so the next candidate gets a fresh process and a clean GPU context.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import tempfile
import time
import traceback
from typing import Any

CLONE_NEWNET = 0x40000000


def _isolate_network() -> str:
    """Move into an empty network namespace where the OS allows it (root or user namespaces)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(CLONE_NEWNET) == 0:
            return "isolated (own network namespace)"
        return f"not isolated (unshare: {os.strerror(ctypes.get_errno())})"
    except (OSError, AttributeError) as exc:
        return f"not isolated ({exc})"


def _driver_version() -> str:
    try:
        from cuda.bindings import driver

        err, version = driver.cuDriverGetVersion()
        return f"{version // 1000}.{(version % 1000) // 10}" if int(err) == 0 else ""
    except Exception:  # noqa: BLE001 - optional package
        return ""


def _integrity_snapshot() -> tuple[Any, ...]:
    """Identities a candidate must not replace: timers, synchronization, comparison helpers.

    (Threads are not counted here: the profiler and torch.compile start their own. Candidate
    threads are refused by the static checks.)"""
    import time as time_module

    import torch

    return (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32,
            torch.cuda.synchronize, torch.cuda.Event, torch.cuda.Event.record, torch.cuda.Event.elapsed_time,
            torch.cuda.Event.synchronize, time_module.perf_counter, time_module.time, torch.Tensor.__eq__,
            torch.allclose, torch.isclose, torch.equal, torch.Tensor.clone, torch.manual_seed)


def integrity_baseline() -> tuple[Any, ...]:
    """The snapshot to compare against after each candidate, taken once the evaluator's own lazy
    imports are done: importing ``torch._dynamo`` (first ``torch.compile``) rebinds
    ``torch.manual_seed`` to a dynamo-disabled wrapper, which would otherwise look like tampering."""
    import torch._dynamo  # noqa: F401
    import torch._inductor.compile_fx  # noqa: F401 - seconds of import, paid before "ready", not in a verdict
    import torch.profiler  # noqa: F401

    return _integrity_snapshot()


def prepare_torch() -> Any:
    """Process-wide torch settings every GPU-side process shares (worker and compile warmer: the
    warmer's compiled graphs are cache hits for the worker only under the same settings); returns
    cuda:0."""
    import torch

    device = torch.device("cuda:0")
    # fp32 tasks are judged against strict fp32: cuDNN's default TF32 convolutions are ~1e-3 off,
    # ten times the fp32 tolerance, and would let a TF32 candidate pass as fp32. Eager and
    # torch.compile baselines are timed under the same setting (docs/evaluator.md).
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.cuda.init()
    torch.empty(1, device=device)  # make the primary context current on this thread
    return device


def make_context(pool: str = "local", gpu_product: str = "") -> Any:
    """The worker's state for cuda:0: hardware description, L2 flusher, per-task cache."""
    import torch

    from kernelwright.common.v1 import hardware_pb2
    from kernelwright.gpu_evaluator.pipeline import WorkerContext
    from kernelwright.gpu_evaluator.timing import L2Flusher

    device = prepare_torch()
    props = torch.cuda.get_device_properties(device)
    hardware = hardware_pb2.Hardware(
        gpu_name=props.name, compute_capability=f"{props.major}.{props.minor}", memory_bytes=props.total_memory,
        driver_version=_driver_version(), cuda_version=torch.version.cuda or "", torch_version=torch.__version__,
        pool=pool, shared=gpu_product.endswith("-SHARED"),
    )
    return WorkerContext(device, hardware, L2Flusher(device))


def worker_main(conn: Any, pool: str, options: dict[str, Any], gpu_product: str = "",
                env: dict[str, str] | None = None) -> None:
    os.environ.update(env or {})
    network = _isolate_network()
    serve_jobs(conn, make_context(pool, gpu_product), options, network)


def serve_jobs(conn: Any, ctx: Any, options: dict[str, Any], network: str = "") -> None:
    """Announce readiness, then evaluate jobs one at a time until "stop" or the pool goes away.

    Split from worker_main so CPU tests can serve jobs with a CPU WorkerContext."""
    import torch

    from kernelwright.common.v1 import kernel_pb2, verdict_pb2
    from kernelwright.gpu_evaluator.pipeline import EvalOptions, evaluate, is_fatal
    from kernelwright.gpu_evaluator.prepare import PREPARED_STATIC_KEY

    hardware = ctx.hardware
    baseline = integrity_baseline()
    conn.send(("ready", hardware.SerializeToString(), {"network": network, "pid": os.getpid()}))

    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message[0] == "stop":
            return
        _, job_id, task_source, candidate_bytes, job_options = message
        candidate = kernel_pb2.KernelCandidate.FromString(candidate_bytes)
        # Static findings the pool prepared while this worker was busy (prepare.py); not an option.
        prepared_static = job_options.pop(PREPARED_STATIC_KEY, None)
        opts = EvalOptions(**{**options, **job_options})
        scratch = tempfile.mkdtemp(prefix="kw-candidate-")
        fatal = False
        start = time.perf_counter()
        try:
            os.chdir(scratch)
            verdict = evaluate(ctx, task_source, candidate, opts, prepared_static=prepared_static)
        except torch.cuda.OutOfMemoryError as exc:
            verdict = verdict_pb2.Verdict(candidate_id=candidate.id, outcome=verdict_pb2.VERDICT_OUTCOME_OUT_OF_MEMORY,
                                          message=f"out of GPU memory: {str(exc).splitlines()[0]}")
            fatal = True  # fragmentation and leaked blocks: start the next candidate clean
        except Exception as exc:  # noqa: BLE001 - a candidate's failure is a verdict
            fatal = is_fatal(exc)
            verdict = verdict_pb2.Verdict(
                candidate_id=candidate.id, outcome=verdict_pb2.VERDICT_OUTCOME_RUNTIME_ERROR,
                message=f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
                log="".join(traceback.format_exception(exc))[-4000:])
        finally:
            os.chdir("/")
            shutil.rmtree(scratch, ignore_errors=True)
        if not fatal and torch.cuda.is_available():
            # Hand the cached blocks back: the compile warmer is another process on this GPU, and a task
            # with gigabyte inputs left the worker holding 137 of 140 GiB, so the warmer's allocations failed.
            torch.cuda.empty_cache()
        verdict.hardware.CopyFrom(hardware)
        if not fatal and _integrity_snapshot() != baseline:
            fatal = True
            verdict.outcome = verdict_pb2.VERDICT_OUTCOME_REJECTED_STATIC
            verdict.correct = False
            verdict.message = "the candidate altered the evaluator process (timers, synchronize, comparisons or threads)"
            verdict.checks.append(verdict_pb2.CheckResult(name="integrity", passed=False, message=verdict.message))
        verdict.phase_seconds["total"] = time.perf_counter() - start
        conn.send(("result", job_id, verdict.SerializeToString(), fatal))
        if fatal:
            conn.close()
            os._exit(3)
