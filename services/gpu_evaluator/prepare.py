"""Preparing queued candidates while the GPU works: static checks and the NVRTC build, done ahead.

A GPU worker evaluates one candidate at a time: static checks -> build -> verify -> time. The first
two phases are CPU-only, so while the worker runs candidate i on the GPU, the pool prepares the
next few queued candidates here:

* static checks, with the input and parameter names the candidate's ``program`` declares; the
  findings travel with the job and the worker reuses them only when its own names (from the loaded
  task) are the same, so the verdict is the one the worker would have computed itself;
* the fast-format build, into the same on-disk NVRTC cache the worker uses (same source, arch and
  options, hence the same cache key), so the worker's build is a cache hit. Only when the arch is
  certain: ``arch`` set in the options, or every worker reported the same compute capability.

Preparation runs in a small thread pool inside the service process. Measured on the CPU box
(session notes in docs/evaluator.md): static checks take 1-15 ms of Python and a cold NVRTC build
50-190 ms, during which NVRTC releases the GIL (the event loop's longest wait during a 182 ms build
was 3.6 ms); the Check RPC already runs the same code the same way (``asyncio.to_thread``). A
process pool would add a second torch-sized process, pickling and restart handling for no gain.

A job whose preparation is still running is held back (for at most the pool's ``prep_wait_s``) while
ready jobs behind it go first (pool.py); one taken before its preparation finished is evaluated
exactly as without preparation, and so is one whose preparation failed. KernelBench-format candidates get their static checks prepared but not their build (that
runs the candidate's Python, which only the worker may do).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kernelwright.core.logger import get_logger

log = get_logger("kernelwright.gpu_evaluator.prepare")

# The job-options key under which the pool hands prepared static findings to the worker.
PREPARED_STATIC_KEY = "prepared_static"
# Preparation threads at most, whatever the setting: each mostly waits on NVRTC (which releases the GIL).
MAX_THREADS = 8


@dataclass(frozen=True)
class Preparation:
    """What preparing one job produced."""

    # The static hand-over (see static_handover), or None when the names the worker will use are unknown.
    static: dict[str, Any] | None
    # Some static check failed: the worker rejects the candidate without building it.
    static_failed: bool
    # The arch whose build now sits in the worker's build cache ("" when nothing was built).
    built_arch: str
    seconds: float
    # Why a part was skipped or failed (one line each), for logs.
    notes: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------------
# What the worker would use: names, arch
# ---------------------------------------------------------------------------------------------


def names_matter(candidate: Any) -> bool:
    """True when the static checks use input/parameter names: the fast-format branch of
    static_checks.static_verdict_checks (KernelBench checks ignore them)."""
    from kernelwright.common.v1 import kernel_pb2

    fmt = candidate.format
    return fmt == kernel_pb2.CANDIDATE_FORMAT_FAST or (
        fmt == kernel_pb2.CANDIDATE_FORMAT_UNSPECIFIED and bool(candidate.cuda_source)
        and not candidate.kernelbench_source)


def program_names(candidate: Any) -> tuple[list[str], list[str]] | None:
    """The names the worker will most likely pass (in0.., parameters and buffers with '.' -> '_'),
    as the candidate's ``program`` declares them; None without a program that lists inputs."""
    if not candidate.HasField("program") or not len(candidate.program.inputs):
        return None
    prog = candidate.program
    return [f"in{i}" for i in range(len(prog.inputs))], [p.replace(".", "_") for p in prog.parameter_names]


def arch_for_capability(capability: str) -> str:
    """NVRTC target for a compute capability "major.minor", as fast_runner.default_arch picks it
    from the device ("9.0" -> "sm_90a", "8.0" -> "sm_80"); "" when it does not parse."""
    major, dot, minor = capability.strip().partition(".")
    if not (dot and major.isdigit() and minor.isdigit()):
        return ""
    return f"sm_{int(major)}{int(minor)}{'a' if int(major) >= 9 else ''}"


def build_arch(options_arch: str, capabilities: Sequence[str]) -> str:
    """The arch every worker would build for, or "" when the pool cannot be sure of it."""
    if options_arch:
        return options_arch
    archs = {arch_for_capability(c) for c in capabilities}
    if len(archs) == 1 and "" not in archs:
        return archs.pop()
    return ""


# ---------------------------------------------------------------------------------------------
# The static hand-over
# ---------------------------------------------------------------------------------------------


def static_handover(findings: Sequence[Any], input_names: list[str] | None,
                    param_names: list[str] | None) -> dict[str, Any]:
    """Plain data (pickled to the worker): the findings and the names they were computed with."""
    return {"input_names": input_names, "param_names": param_names,
            "findings": [(f.check, f.passed, f.message, f.line) for f in findings]}


def reuse_prepared_findings(prepared: dict[str, Any] | None, candidate: Any, input_names: list[str],
                            param_names: list[str]) -> list[Any] | None:
    """The prepared findings when they are exactly what the worker would compute itself, else None.

    They are when the checks do not use names (KernelBench format) or were run with the same names
    the worker has from the loaded task."""
    from kernelwright.gpu_evaluator.static_checks import Finding

    if not prepared:
        return None
    if names_matter(candidate) and (prepared.get("input_names") != list(input_names)
                                    or prepared.get("param_names") != list(param_names)):
        return None
    return [Finding(check, passed, message, line) for check, passed, message, line in prepared["findings"]]


# ---------------------------------------------------------------------------------------------
# Preparing one job (runs in a preparation thread)
# ---------------------------------------------------------------------------------------------


def _prepare_static(task_source: str, candidate: Any) -> tuple[dict[str, Any] | None, bool]:
    from kernelwright.gpu_evaluator.static_checks import static_verdict_checks

    names = program_names(candidate) if names_matter(candidate) else None
    input_names, param_names = names if names is not None else (None, None)
    findings = static_verdict_checks(candidate, task_source=task_source, input_names=input_names,
                                     param_names=param_names)
    failed = any(not f.passed for f in findings)
    if names_matter(candidate) and names is None:
        # Run for the build gate only: without the worker's names these findings are not its own.
        return None, failed
    return static_handover(findings, input_names, param_names), failed


def _prepare_build(candidate: Any, arch: str, cache_dir: str) -> str:
    """Compile exactly as FastRunner does (same call, same cache folder); returns why not, or ""."""
    from kernelwright.common.v1 import kernel_pb2
    from kernelwright.gpu_evaluator.nvrtc_build import compile_cuda

    if candidate.format != kernel_pb2.CANDIDATE_FORMAT_FAST:
        return "no build: only fast-format builds are prepared"
    if not arch:
        return "no build: the workers' arch is not known for sure"
    if not Path(cache_dir).is_absolute():
        return "no build: a relative cache_dir resolves elsewhere in the worker's scratch folder"
    compile_cuda(candidate.cuda_source, arch=arch, cache_dir=Path(cache_dir) / "nvrtc")
    return ""


def prepare_candidate(task_source: str, candidate: Any, options: dict[str, Any],
                      capabilities: Sequence[str]) -> Preparation:
    """Static checks, then (when they pass and the arch is certain) the build into the worker's cache.

    ``options`` are the merged pool + job options the worker turns into EvalOptions; ``capabilities``
    the compute capabilities the workers reported. Never raises: a failed part is a note."""
    from kernelwright.gpu_evaluator.pipeline import EvalOptions

    start = time.perf_counter()
    notes: list[str] = []
    static, failed = None, True
    try:
        static, failed = _prepare_static(task_source, candidate)
    except Exception as exc:  # noqa: BLE001 - the worker runs the checks itself
        notes.append(f"static checks failed to run: {type(exc).__name__}: {exc}")
    built = ""
    if not failed:
        try:
            opts = EvalOptions(**options)  # exactly the worker's construction
            arch = build_arch(opts.arch, capabilities)
            why_not = _prepare_build(candidate, arch, opts.cache_dir)
            if why_not:
                notes.append(why_not)
            else:
                built = arch
        except Exception as exc:  # noqa: BLE001 - the worker builds it itself
            notes.append(f"build failed to run: {type(exc).__name__}: {exc}")
    return Preparation(static, failed, built, time.perf_counter() - start, tuple(notes))


# ---------------------------------------------------------------------------------------------
# The pool's side: which queued jobs to prepare, and taking a finished preparation
# ---------------------------------------------------------------------------------------------


class Preparer:
    """Prepares waiting jobs oldest first, at most ``ahead`` at a time, in background threads.

    Jobs carry their preparation as ``job.preparation`` (a concurrent Future). ``fill`` and ``take``
    are called from the event loop and never wait; ``on_done`` is called on the event loop when a
    preparation finishes, so the pool can start the next one.
    """

    def __init__(self, ahead: int, on_done: Callable[[], None] | None = None) -> None:
        self.ahead = ahead
        self._on_done = on_done
        self._executor: ThreadPoolExecutor | None = None
        self._running: set[Future] = set()
        self._lock = threading.Lock()
        self._loop: Any = None
        self._closed = False
        self.used = self.late = self.failed = 0

    @property
    def enabled(self) -> bool:
        return self.ahead > 0

    def running(self) -> int:
        with self._lock:
            return len(self._running)

    def fill(self, waiting: Sequence[Any], work: Callable[[Any], Callable[[], Preparation]]) -> None:
        """Start preparing the oldest waiting jobs that have no preparation yet, up to ``ahead`` running."""
        if not self.enabled or self._closed:
            return
        for job in list(waiting):
            if self.running() >= self.ahead:
                return
            if job.preparation is not None or (job.future is not None and job.future.done()):
                continue
            try:
                job.preparation = self._submit(work(job))
            except Exception as exc:  # noqa: BLE001 - e.g. shut down: the worker does the work
                log.warning("could not start a preparation", error=f"{type(exc).__name__}: {exc}")
                return

    def _submit(self, fn: Callable[[], Preparation]) -> Future:
        if self._executor is None:
            import asyncio

            self._loop = asyncio.get_running_loop()
            self._executor = ThreadPoolExecutor(max_workers=min(self.ahead, MAX_THREADS),
                                                thread_name_prefix="kw-prepare")
        future = self._executor.submit(fn)
        with self._lock:
            self._running.add(future)
        future.add_done_callback(self._finished)
        return future

    def _finished(self, future: Future) -> None:
        with self._lock:
            self._running.discard(future)
        if self._on_done is not None and self._loop is not None:
            try:
                self._loop.call_soon_threadsafe(self._on_done)
            except RuntimeError:  # the loop is closed: the pool has stopped
                pass

    def take(self, job: Any) -> Preparation | None:
        """The job's finished preparation, or None (not started, still running, or failed)."""
        future = job.preparation
        if future is None:
            return None
        if not future.done():
            self.late += 1
            return None
        try:
            prepared = future.result()
        except Exception as exc:  # noqa: BLE001 - a failed preparation: the worker does the work
            self.failed += 1
            log.warning("preparation failed; the worker does the work itself",
                        error=f"{type(exc).__name__}: {exc}")
            return None
        self.used += 1
        return prepared

    def shutdown(self) -> None:
        self._closed = True  # a preparation finishing later must not start a new executor
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
