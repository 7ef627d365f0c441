"""Compiling the torch.compile baseline ahead, in a side process that never runs a kernel.

A full evaluation times eager, torch.compile and the candidate. The first ``torch.compile`` of a
task's reference is seconds of CPU work (Dynamo tracing, AOTAutograd, Inductor codegen, Triton
builds) inside the single GPU worker, so the GPU idles meanwhile: on the H200 (session 5) the
first final evaluation of dev task 12 took 8.5 s against ~1.1 s once Inductor's on-disk caches
held that graph. The evolver's runs send candidate-only jobs for minutes before their final full
evaluations, so the pool hands every task it sees to this warmer, which compiles the reference
into the same on-disk caches (FX graph cache, AOTAutograd cache, Triton kernels) the worker then
hits.

The warmer must not disturb timing on the GPU it shares with the worker, so it runs no kernel:
the model's parameters and the inputs are allocated uninitialised on the GPU (``to_empty``,
``empty_like``), and the Inductor backend's compiled callable is replaced by one that raises
instead of running, so Dynamo stops right after the graph is compiled and cached. (Dynamo and
Inductor still copy a few small tensors while compiling: 53 memcpys for the GPU test's two-layer
task on the H200; the test asserts that no kernel runs.) What the worker compiles is the same graph (same module, same parameter and input
metadata, same TF32 settings, dropout switched off the way the worker does it for stochastic
tasks), so its compile is a cache hit; a miss (a task whose graph depends on values, a graph break
after the first subgraph) only costs the time it would have cost anyway. Verdicts are the same
with and without the warmer: it changes where compile time is spent, never what is timed.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kernelwright.core.logger import get_logger

log = get_logger("kernelwright.gpu_evaluator.compile_warmer")


class CompiledNotRun(Exception):
    """Raised by the warmer's compiled graph: it was compiled and cached, and is not to be run."""


def compile_without_running(inner: Callable[..., Any], compiled_graphs: list[int]) -> Callable[..., Any]:
    """A torch.compile backend: compile (and cache) each graph with ``inner``, never run it."""

    def backend(gm: Any, example_inputs: Any) -> Callable[..., Any]:
        inner(gm, example_inputs)
        compiled_graphs.append(len(gm.graph.nodes))

        def refuse(*_args: Any) -> Any:
            raise CompiledNotRun

        return refuse

    return backend


def _inductor() -> Callable[..., Any]:
    from torch._inductor.compile_fx import compile_fx  # what the "inductor" backend calls

    return compile_fx


def _is_stochastic(model: Any) -> bool:
    """Dropout modules that would be active: the worker finds such tasks stochastic by running them
    and switches their dropout off before compiling; the warmer cannot run them, so it asks."""
    import torch

    return any(isinstance(m, torch.nn.modules.dropout._DropoutNd) and m.training and m.p > 0
               for m in model.modules())


def warm_compile(source: str, device: Any, compiler: Callable[..., Any] | None = None) -> dict[str, Any]:
    """Compile the task's reference the way the worker's baseline is compiled, without launching work.

    Returns what happened: ``status`` "compiled" (every graph Dynamo produced was compiled and the
    first was refused at run time), "failed" (the compile raised: the worker will record the same
    failure itself) and ``graphs``, ``seconds``, ``error``."""
    import torch

    from kernelwright.gpu_evaluator import harness

    start = time.perf_counter()
    graphs: list[int] = []
    module = harness.load_task(source)
    init_inputs = list(module.get_init_inputs())
    model = harness.build_model(module.Model, init_inputs, seed=42, device=torch.device("cpu"))
    model = model.to_empty(device=device) if torch.device(device).type != "cpu" else model
    if _is_stochastic(model):
        harness.disable_dropout(model)
    cpu_inputs = harness.make_inputs(module, harness.TrialSpec("timing-0", 500, "task"), torch.device("cpu"))
    inputs = [torch.empty_like(x, device=device) if isinstance(x, torch.Tensor) else x for x in cpu_inputs]
    torch._dynamo.reset()
    compiled = torch.compile(model, backend=compile_without_running(compiler or _inductor(), graphs))
    status, error = "compiled", ""
    try:
        with torch.no_grad():  # as time_forward calls it: the inference graph, not the training one
            compiled(*inputs)
        status, error = "failed", "the compiled graph ran: nothing was refused (no graph was produced?)"
    except CompiledNotRun:
        pass
    except Exception as exc:  # noqa: BLE001 - the baseline's own compiler failure; the worker records it
        cause = getattr(exc, "inner_exception", None) or exc  # Dynamo wraps it in BackendCompilerFailed
        lines = str(cause).strip().splitlines()
        status, error = "failed", f"{type(cause).__name__}: {lines[0] if lines else ''}"[:500]
    finally:
        del compiled, model, inputs
        torch._dynamo.reset()
        if torch.device(device).type == "cuda":
            torch.cuda.empty_cache()
    return {"status": status, "graphs": len(graphs), "seconds": round(time.perf_counter() - start, 3),
            "error": error}


def warmer_main(requests: Any, results: Any, env: dict[str, str]) -> None:
    """The warmer process: (key, task source) requests in, (key, outcome dict) results out; None stops."""
    os.environ.update(env)
    from kernelwright.gpu_evaluator.worker import _isolate_network, prepare_torch

    _isolate_network()  # it executes the user's reference module, as the worker does
    device = prepare_torch()
    while True:
        item = requests.get()
        if item is None:
            return
        key, source = item
        try:
            outcome = warm_compile(source, device)
        except Exception as exc:  # noqa: BLE001 - a task that does not even load: the worker reports it
            outcome = {"status": "failed", "graphs": 0, "seconds": 0.0, "error": f"{type(exc).__name__}: {exc}"[:500]}
        results.put((key, outcome))


@dataclass
class WarmerStats:
    requested: int = 0
    compiled: int = 0
    failed: int = 0
    restarts: int = 0


class CompileWarmer:
    """The pool's handle on the warmer process: ``request(task_source)`` never blocks.

    Each task source is sent once (a bounded memory of recent tasks); if the process dies (a
    reference that crashes the compiler) it is restarted, up to ``max_restarts`` times, and the
    requests it had not done are dropped — warming is an optimisation, the worker compiles anyway."""

    def __init__(self, env: dict[str, str], *, max_restarts: int = 3, memory: int = 1024,
                 target: Callable[..., None] | None = None) -> None:
        self._env = env
        self._target = target or warmer_main
        self._ctx = multiprocessing.get_context("spawn")
        self._requests: Any = None
        self._results: Any = None
        self._process: Any = None
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._dropped: set[str] = set()  # sent, then lost with a process that died
        self._memory = memory
        self._max_restarts = max_restarts
        self._stop = threading.Event()
        self._reader: threading.Thread | None = None
        self._lock = threading.Lock()
        self.stats = WarmerStats()
        self.outcomes: dict[str, dict[str, Any]] = {}
        self.done = threading.Condition(self._lock)
        # Called (from the reader thread) after each outcome: the pool wakes jobs held for a warm-up.
        self.on_outcome: Callable[[], None] | None = None

    def start(self) -> None:
        self._spawn()
        self._reader = threading.Thread(target=self._read, name="kw-compile-warmer-results", daemon=True)
        self._reader.start()

    def _spawn(self) -> None:
        self._requests, self._results = self._ctx.Queue(), self._ctx.Queue()
        self._process = self._ctx.Process(target=self._target, args=(self._requests, self._results, self._env),
                                          name="kw-compile-warmer", daemon=True)
        self._process.start()

    def request(self, task_source: str) -> bool:
        """Queue the task's baseline for compiling; False when it was already sent (or warming is off)."""
        key = hashlib.sha256(task_source.encode()).hexdigest()
        with self._lock:
            if self._process is None or key in self._seen:
                return False
            self._seen[key] = None
            while len(self._seen) > self._memory:
                self._seen.popitem(last=False)
            self.stats.requested += 1
            self._requests.put((key, task_source))
        return True

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                key, outcome = self._results.get(timeout=1.0)
            except queue.Empty:
                if self._process is not None and not self._process.is_alive() and not self._stop.is_set():
                    self._restart()
                    if self.on_outcome is not None:  # its lost requests hold no job any more
                        self.on_outcome()
                continue
            except (EOFError, OSError):
                return
            with self._lock:
                self.outcomes[key] = outcome
                if outcome["status"] == "compiled":
                    self.stats.compiled += 1
                else:
                    self.stats.failed += 1
                self.done.notify_all()
            log.info("baseline compiled ahead" if outcome["status"] == "compiled" else "baseline warm-up failed",
                     task=key[:12], **outcome)
            if self.on_outcome is not None:
                self.on_outcome()

    def _restart(self) -> None:
        code = self._process.exitcode
        with self._lock:
            self._dropped.update(k for k in self._seen if k not in self.outcomes)
            if self.stats.restarts >= self._max_restarts:
                log.warning("compile warmer died; warming off", exitcode=code, restarts=self.stats.restarts)
                self._process = None
                self._stop.set()
                self.done.notify_all()
                return
            self.stats.restarts += 1
            log.warning("compile warmer died; restarting", exitcode=code, restarts=self.stats.restarts)
            self._spawn()

    def pending(self, task_source: str) -> bool:
        """Sent to the warmer and not answered yet (False once warming is off or the request was dropped
        by a restart: nobody would answer it)."""
        key = hashlib.sha256(task_source.encode()).hexdigest()
        with self._lock:
            return self._process is not None and key in self._seen and key not in self.outcomes \
                and key not in self._dropped

    def wait_for(self, task_source: str, timeout_s: float) -> dict[str, Any] | None:
        """The outcome for a task once the warmer reported it (tests and scripts; the pool never waits)."""
        key = hashlib.sha256(task_source.encode()).hexdigest()
        with self._lock:
            self.done.wait_for(lambda: key in self.outcomes or self._process is None, timeout=timeout_s)
            return self.outcomes.get(key)

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            process, self._process = self._process, None
        if process is not None:
            try:
                self._requests.put(None)
            except (OSError, ValueError):
                pass
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join(timeout=5)
        if self._reader is not None:
            self._reader.join(timeout=5)
