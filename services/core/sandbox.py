"""Run untrusted task code in a separate process with limits.

The parent never imports or executes user code itself: it starts a *spawned*
child (never forked: the parent may be a threaded gRPC server), hands it a
picklable callable plus arguments, and waits with a wall-clock timeout.  The
child caps its own address space, installs an audit hook that refuses
process/network/file-system side effects, then calls the function and sends
back either the return value or a structured failure.

Everything that crosses the process boundary is a plain picklable object.
The module only depends on the standard library so that any service (and the
GPU evaluator later) can reuse it.
"""

from __future__ import annotations

import dataclasses
import enum
import multiprocessing
import os
import signal
import sys
import tempfile
import time
import traceback
from typing import Any, Callable

__all__ = [
    "SandboxLimits",
    "SandboxStatus",
    "SandboxResult",
    "ForbiddenCall",
    "run_in_sandbox",
    "report_progress",
    "guard_enabled",
    "suspend_guard",
    "limit_address_space",
]


class SandboxStatus(str, enum.Enum):
    OK = "ok"                  # the function returned normally
    ERROR = "error"            # the function raised
    TIMEOUT = "timeout"        # killed after the wall-clock limit
    MEMORY_LIMIT = "memory_limit"  # MemoryError / allocation failure / OOM kill
    FORBIDDEN = "forbidden"    # the audit hook refused a call
    CRASHED = "crashed"        # the child died without reporting (signal, abort)


@dataclasses.dataclass
class SandboxLimits:
    timeout_s: float = 600.0
    # Extra address space the child may map on top of what it uses after its
    # preloads (torch alone maps several GiB of virtual memory, so an absolute
    # limit would be meaningless).  None: no limit -- required for CUDA, whose
    # driver reserves huge virtual ranges.
    memory_limit_bytes: int | None = 8 * 2**30
    # Modules imported before the limit and the audit hook are installed.
    preload: tuple[str, ...] = ()
    # Writes are allowed only below this directory (a fresh temp dir if None).
    scratch_dir: str | None = None
    # Cap torch's intra-op threads in the child (None: leave default).
    torch_threads: int | None = None


@dataclasses.dataclass
class SandboxResult:
    status: SandboxStatus
    value: Any = None
    error_type: str = ""
    message: str = ""
    traceback: str = ""
    # Last progress message / payload sent with report_progress before the end;
    # lets callers say how far a killed child got.
    progress: str = ""
    progress_payload: Any = None
    duration_s: float = 0.0
    exitcode: int | None = None


class ForbiddenCall(PermissionError):
    """Raised by the audit hook; also recorded so that catching it does not hide it."""


# --- child-side state -------------------------------------------------------

_progress_conn = None
_violations: list[str] = []
_guard_depth = 0  # >0 while the guard is suspended (trusted harness code)
_scratch = ""

_DENY_EVENTS = {
    "os.system": "os.system",
    "os.exec": "os.exec*",
    "os.posix_spawn": "os.posix_spawn",
    "os.spawn": "os.spawn*",
    "os.fork": "os.fork",
    "os.forkpty": "os.forkpty",
    "subprocess.Popen": "subprocess.Popen",
    "socket.connect": "socket.connect",
    "socket.bind": "socket.bind",
    "socket.sendto": "socket.sendto",
    "os.kill": "os.kill",
    "os.killpg": "os.killpg",
    "signal.pthread_kill": "signal.pthread_kill",
    "resource.setrlimit": "resource.setrlimit",
    "resource.prlimit": "resource.prlimit",
    "ctypes.dlopen": None,  # allowed: torch loads libraries lazily
}

_WRITE_EVENTS = {"os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod",
                 "os.chown", "os.link", "os.symlink", "os.truncate", "shutil.rmtree",
                 "os.utime"}


def guard_enabled() -> bool:
    return _guard_depth == 0


class suspend_guard:
    """Context manager for trusted harness code that must touch the file system."""

    def __enter__(self):
        global _guard_depth
        _guard_depth += 1

    def __exit__(self, *exc):
        global _guard_depth
        _guard_depth -= 1
        return False


def _outside_scratch(path: Any) -> bool:
    if isinstance(path, int):  # an already-open descriptor
        return False
    try:
        p = os.path.realpath(os.fsdecode(path))
    except Exception:
        return True
    if p == os.devnull:
        return False
    return not (p == _scratch or p.startswith(_scratch + os.sep))


def _refuse(what: str) -> None:
    msg = f"task called {what}, which is not allowed"
    _violations.append(msg)
    raise ForbiddenCall(msg)


def _audit_hook(event: str, args: tuple) -> None:
    if _guard_depth:
        return
    if event in _DENY_EVENTS:
        name = _DENY_EVENTS[event]
        if name is not None:
            _refuse(name)
        return
    if event == "open":
        path, mode, flags = (list(args) + [None, None, None])[:3]
        writing = False
        if isinstance(mode, str) and any(c in mode for c in "wax+"):
            writing = True
        if isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND):
            writing = True
        if writing and path is not None and _outside_scratch(path):
            _refuse(f"open({os.fsdecode(path) if not isinstance(path, int) else path!r}) for writing outside the scratch directory")
        return
    if event in _WRITE_EVENTS:
        if args and _outside_scratch(args[0]):
            _refuse(f"{event}({args[0]!r}) outside the scratch directory")


def report_progress(message: str, payload: Any = None) -> None:
    """Called inside the child; the parent keeps the latest message and payload.

    A no-op outside a sandbox child, so domain code can call it unconditionally.
    """
    conn = _progress_conn
    if conn is None:
        return
    with suspend_guard():
        try:
            conn.send(("progress", message, payload))
        except Exception:
            pass


def _is_memory_error(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError):
        return True
    name = type(exc).__name__
    if name == "OutOfMemoryError":  # torch.cuda.OutOfMemoryError
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and (
        "can't allocate memory" in text or "not enough memory" in text
        or "CUDA out of memory" in text or "std::bad_alloc" in text
    )


def limit_address_space(extra: int) -> None:
    """Cap the address space at current usage + ``extra`` bytes (call inside the child).

    Exposed so a child function can decide late (e.g. only for CPU runs: the
    CUDA driver reserves far more virtual memory than any sane cap).
    """
    with suspend_guard():
        _set_memory_limit(extra)


def _set_memory_limit(extra: int) -> None:
    import resource

    vm = 0
    try:
        with open("/proc/self/statm") as f:
            vm = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        pass
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = vm + extra
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _child_main(conn, fn, args, kwargs, limits: SandboxLimits, scratch: str) -> None:
    global _progress_conn, _scratch
    _progress_conn = conn
    _scratch = os.path.realpath(scratch)
    os.environ["TMPDIR"] = _scratch
    tempfile.tempdir = _scratch
    # Caches torch may create lazily (inductor, triton, generic XDG) go to the scratch dir too;
    # they are read from the environment at use time, so this holds even if torch is imported.
    for var, sub in (("TORCHINDUCTOR_CACHE_DIR", "inductor"), ("TRITON_CACHE_DIR", "triton"),
                     ("XDG_CACHE_HOME", "cache"), ("TORCH_EXTENSIONS_DIR", "extensions")):
        os.environ[var] = os.path.join(_scratch, sub)
    # libraries write probe/cache files relative to the cwd (seen with CUDA RNNs)
    os.chdir(_scratch)
    # importlib writing .pyc files would trip the write guard on lazy imports
    sys.dont_write_bytecode = True
    try:
        import importlib

        for mod in limits.preload:
            importlib.import_module(mod)
        if limits.torch_threads and "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(limits.torch_threads)
        if limits.memory_limit_bytes is not None:
            _set_memory_limit(limits.memory_limit_bytes)
        sys.addaudithook(_audit_hook)
    except BaseException as exc:  # harness problem, not the task's
        conn.send(("done", SandboxStatus.CRASHED, None, type(exc).__name__,
                   f"sandbox setup failed: {exc}", traceback.format_exc()))
        return

    try:
        if isinstance(fn, str):
            import importlib

            with suspend_guard():
                mod_name, _, fn_name = fn.partition(":")
                fn = getattr(importlib.import_module(mod_name), fn_name)
        value = fn(*args, **kwargs)
        status, payload = SandboxStatus.OK, value
        etype = msg = tb = ""
    except BaseException as exc:
        payload = None
        etype, msg, tb = type(exc).__name__, str(exc), traceback.format_exc()
        if _violations:
            status = SandboxStatus.FORBIDDEN
        elif _is_memory_error(exc):
            status = SandboxStatus.MEMORY_LIMIT
        else:
            status = SandboxStatus.ERROR
    if _violations and status == SandboxStatus.OK:
        # The task swallowed the ForbiddenCall; it still counts.
        status, payload = SandboxStatus.FORBIDDEN, None
    if status == SandboxStatus.FORBIDDEN:
        msg = _violations[0]
    with suspend_guard():
        try:
            conn.send(("done", status, payload, etype, msg, tb))
        except Exception as exc:  # unpicklable return value
            conn.send(("done", SandboxStatus.ERROR, None, type(exc).__name__,
                       f"result could not be sent to the parent: {exc}", traceback.format_exc()))


def run_in_sandbox(fn: Callable[..., Any] | str, *args: Any, limits: SandboxLimits | None = None,
                   **kwargs: Any) -> SandboxResult:
    """Call ``fn(*args, **kwargs)`` in a spawned child under ``limits``.

    ``fn`` is a module-level function (pickled by qualified name) or a string
    ``"package.module:function"``, which lets the parent avoid importing heavy
    modules (torch) that only the child needs.
    Never raises for anything the child does.
    """
    limits = limits or SandboxLimits()
    ctx = multiprocessing.get_context("spawn")
    own_scratch = limits.scratch_dir is None
    scratch = tempfile.mkdtemp(prefix="kw-sandbox-") if own_scratch else limits.scratch_dir
    parent_conn, child_conn = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child_main, args=(child_conn, fn, args, kwargs, limits, scratch), daemon=True)
    start = time.monotonic()
    proc.start()
    child_conn.close()
    progress, payload = "", None
    outcome = None
    deadline = start + limits.timeout_s
    try:
        while outcome is None:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                ready = parent_conn.poll(min(left, 0.5))
            except (EOFError, OSError):
                ready = False
            if ready:
                try:
                    msg = parent_conn.recv()
                except (EOFError, OSError):
                    break
                except Exception as exc:  # could not unpickle what the child sent
                    outcome = ("done", SandboxStatus.ERROR, None, type(exc).__name__,
                               f"could not read the child's result: {exc}", "")
                    break
                if msg[0] == "progress":
                    progress, payload = msg[1], msg[2]
                else:
                    outcome = msg
            elif not proc.is_alive():
                # Drain anything sent just before exit.
                if parent_conn.poll(0):
                    continue
                break
        duration = time.monotonic() - start
        if outcome is not None:
            _, status, value, etype, message, tb = outcome
            proc.join(5)
            return SandboxResult(status, value, etype, message, tb, progress, payload, duration,
                                 proc.exitcode)
        if proc.is_alive():
            proc.kill()
            proc.join(10)
            return SandboxResult(SandboxStatus.TIMEOUT, None, "TimeoutError",
                                 f"timed out after {limits.timeout_s:g} s"
                                 + (f" (last step: {progress})" if progress else ""),
                                 "", progress, payload, duration, proc.exitcode)
        proc.join(1)
        code = proc.exitcode
        if code is not None and code < 0:
            sig = -code
            signame = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
            if sig == signal.SIGKILL:
                return SandboxResult(SandboxStatus.MEMORY_LIMIT, None, "Killed",
                                     f"child was killed by {signame}, most likely by the out-of-memory killer"
                                     + (f" (last step: {progress})" if progress else ""),
                                     "", progress, payload, duration, code)
            return SandboxResult(SandboxStatus.CRASHED, None, signame,
                                 f"child died from signal {signame}"
                                 + (f" (last step: {progress})" if progress else ""),
                                 "", progress, payload, duration, code)
        return SandboxResult(SandboxStatus.CRASHED, None, "ExitWithoutResult",
                             f"child exited with code {code} without a result"
                             + (f" (last step: {progress})" if progress else ""),
                             "", progress, payload, duration, code)
    finally:
        parent_conn.close()
        if proc.is_alive():
            proc.kill()
            proc.join(5)
        if own_scratch:
            import shutil

            shutil.rmtree(scratch, ignore_errors=True)
