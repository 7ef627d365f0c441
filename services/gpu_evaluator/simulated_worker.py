"""A stand-in for the GPU worker, speaking the same protocol, for CPU-only tests of the pool.

It never touches a GPU. What it does is chosen by a marker in the candidate's cuda_source:
HANG (never answers), SEGFAULT (dies by SIGSEGV), FATAL (answers, then exits as after an illegal
address), SLOW:<seconds> (answers after a while), OOM (out of GPU memory, fatal like the real worker's),
OOM_ONCE:<file> (out of memory unless <file> exists, which it creates: the next worker succeeds); anything
else is accepted. The verdict message
names the worker's CUDA_VISIBLE_DEVICES so tests can see which GPU a job ran on.

Accepted candidates are "timed" like the real pipeline reports it: a candidate time from MS:<ms> in
the source (else a stable value from its hash), eager and torch.compile baselines and speedups —
except that ``verify_only`` times nothing and ``baselines=False`` (EvaluateOptions.skip_baselines)
times only the candidate.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import time
from pathlib import Path
from typing import Any

EAGER_MS = 2.0
COMPILED_MS = 1.5


def simulated_ms(source: str) -> float:
    """The candidate's "median time": MS:<ms> when given, else stable in [0.5, 1.5) from the source."""
    if "MS:" in source:
        return float(source.split("MS:")[1].split()[0])
    return 0.5 + int(hashlib.sha256(source.encode()).hexdigest()[:8], 16) % 1000 / 1000


def _time(verdict: Any, source: str, baselines: bool) -> None:
    t = verdict.timings
    t.candidate.median_ms = simulated_ms(source)
    t.candidate.trials = 100
    if baselines:
        t.eager.median_ms, t.eager.trials = EAGER_MS, 100
        t.compiled.median_ms, t.compiled.trials = COMPILED_MS, 100
        t.speedup_vs_eager = EAGER_MS / t.candidate.median_ms
        t.speedup_vs_compile = COMPILED_MS / t.candidate.median_ms


def _seen(marker_file: str) -> bool:
    """True when ``marker_file`` existed; creates it either way."""
    path = Path(marker_file)
    existed = path.exists()
    path.touch()
    return existed


def simulated_worker_main(conn: Any, pool: str, options: dict[str, Any], gpu_product: str = "",
                          env: dict[str, str] | None = None) -> None:
    os.environ.update(env or {})
    from kernelwright.common.v1 import hardware_pb2, kernel_pb2, verdict_pb2

    gpu = os.environ.get("CUDA_VISIBLE_DEVICES", "?")
    hardware = hardware_pb2.Hardware(gpu_name=f"Simulated GPU {gpu}", pool=pool,
                                     shared=gpu_product.endswith("-SHARED"))
    conn.send(("ready", hardware.SerializeToString(), {"network": "simulated", "pid": os.getpid()}))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message[0] == "stop":
            return
        _, job_id, _task, candidate_bytes, job_options = message
        source = kernel_pb2.KernelCandidate.FromString(candidate_bytes).cuda_source
        if "HANG" in source:
            time.sleep(3600)
        if "SEGFAULT" in source:
            os.kill(os.getpid(), signal.SIGSEGV)
        if "SLOW:" in source:
            time.sleep(float(source.split("SLOW:")[1].split()[0]))
        oom = "OOM" in source and not ("OOM_ONCE:" in source and _seen(source.split("OOM_ONCE:")[1].split()[0]))
        fatal = "FATAL" in source or oom
        verdict = verdict_pb2.Verdict(
            candidate_id=job_id,
            outcome=(verdict_pb2.VERDICT_OUTCOME_OUT_OF_MEMORY if oom
                     else verdict_pb2.VERDICT_OUTCOME_RUNTIME_ERROR if fatal
                     # as the real pipeline: verified, nothing timed
                     else verdict_pb2.VERDICT_OUTCOME_VERIFIED_UNTIMED if job_options.get("verify_only")
                     else verdict_pb2.VERDICT_OUTCOME_ACCEPTED),
            message=f"gpu={gpu} pid={os.getpid()} verify_only={job_options.get('verify_only')} "
                    f"baselines={job_options.get('baselines', True)}")
        verdict.hardware.CopyFrom(hardware)
        if not fatal and not job_options.get("verify_only"):
            _time(verdict, source, job_options.get("baselines", True))
        conn.send(("result", job_id, verdict.SerializeToString(), fatal))
        if fatal:
            os._exit(3)


def simulated_warmer_main(requests: Any, results: Any, env: dict[str, str]) -> None:
    """A stand-in for compile_warmer.warmer_main: "compiles" every task at once (after ``WARM_SLOW:<s>``
    seconds where the source says so), and dies (exit 3, as a crashing compiler would) on a task source
    containing CRASH_WARMER."""
    os.environ.update(env)
    while True:
        item = requests.get()
        if item is None:
            return
        key, source = item
        if "CRASH_WARMER" in source:
            os._exit(3)
        slow = re.search(r"WARM_SLOW:([\d.]+)", source)
        if slow:
            time.sleep(float(slow.group(1)))
        results.put((key, {"status": "compiled", "graphs": 1, "seconds": 0.0, "error": "",
                           "gpu": os.environ.get("CUDA_VISIBLE_DEVICES", "")}))
