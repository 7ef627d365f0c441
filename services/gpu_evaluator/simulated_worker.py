"""A stand-in for the GPU worker, speaking the same protocol, for CPU-only tests of the pool.

It never touches a GPU. What it does is chosen by a marker in the candidate's cuda_source:
HANG (never answers), SEGFAULT (dies by SIGSEGV), FATAL (answers, then exits as after an illegal
address), SLOW:<seconds> (answers after a while); anything else is accepted. The verdict message
names the worker's CUDA_VISIBLE_DEVICES so tests can see which GPU a job ran on.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any


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
        fatal = "FATAL" in source
        verdict = verdict_pb2.Verdict(
            candidate_id=job_id,
            outcome=verdict_pb2.VERDICT_OUTCOME_RUNTIME_ERROR if fatal else verdict_pb2.VERDICT_OUTCOME_ACCEPTED,
            message=f"gpu={gpu} pid={os.getpid()} verify_only={job_options.get('verify_only')}")
        verdict.hardware.CopyFrom(hardware)
        conn.send(("result", job_id, verdict.SerializeToString(), fatal))
        if fatal:
            os._exit(3)
