#!/usr/bin/env python
"""Evaluator GPU busy fraction with N concurrent evolver runs (issue #6 goal: >= 85% with 4 runs).

Starts, in this process, a converter, a gpu-evaluator on the real GPUs, an archive in memory and an
evolver; starts N runs of a task with the builtin proposer; samples GPU utilization (NVML through
pynvml or cuda.bindings' nvml when present, else `nvidia-smi`) every --interval seconds while the
runs go on; prints one JSON line: busy fraction (samples with utilization > --busy-pct / samples),
mean utilization, runs' final states and the wall time.

    python scripts/evolver_gpu_utilization.py --runs 4 --task ../shared/benchmarks/kernelbench/dev/level1/19_ReLU.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc


def _nvml_sampler():
    try:
        import pynvml  # type: ignore

        pynvml.nvmlInit()
        handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
        return lambda: [pynvml.nvmlDeviceGetUtilizationRates(h).gpu for h in handles]
    except Exception:  # noqa: BLE001 - fall back to nvidia-smi
        pass
    if shutil.which("nvidia-smi"):
        def smi() -> list[float]:
            out = subprocess.run(["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"],
                                 capture_output=True, text=True, timeout=10).stdout
            return [float(x) for x in out.split()]
        return smi
    raise SystemExit("no NVML (pip install nvidia-ml-py) and no nvidia-smi: cannot sample GPU utilization")


async def _main(args: argparse.Namespace) -> dict:
    from kernelwright.archive.__main__ import bindings as archive_bindings
    from kernelwright.archive.settings import ArchiveSettings
    from kernelwright.common.v1 import task_pb2
    from kernelwright.converter.__main__ import bindings as converter_bindings
    from kernelwright.converter.settings import ConverterSettings
    from kernelwright.core.server import create_server
    from kernelwright.evolver.__main__ import build
    from kernelwright.evolver.settings import EvolverSettings
    from kernelwright.evolver.v1 import evolver_pb2 as pb
    from kernelwright.evolver.v1 import evolver_pb2_grpc
    from kernelwright.gpu_evaluator.__main__ import bindings as evaluator_bindings
    from kernelwright.gpu_evaluator.__main__ import build_pool
    from kernelwright.gpu_evaluator.settings import GpuEvaluatorSettings

    async def up(settings, services):
        settings.port, settings.host = 0, "127.0.0.1"
        server, port = await create_server(settings, services)
        await server.start()
        return server, f"127.0.0.1:{port}"

    tmp = Path(tempfile.mkdtemp(prefix="kw-util-"))
    conv_s = ConverterSettings(device="cuda")
    conv, conv_addr = await up(conv_s, converter_bindings(conv_s))
    arch_s = ArchiveSettings(memory=True)
    arch_servicer, arch_services = archive_bindings(arch_s)
    arch, arch_addr = await up(arch_s, arch_services)
    ev_s = GpuEvaluatorSettings(pool="local", cache_dir=str(tmp / "ev"), queue_capacity=64,
                                warm_compile=args.warm_compile == "on")
    pool = build_pool(ev_s)
    await pool.start()
    ev, ev_addr = await up(ev_s, evaluator_bindings(ev_s, pool))
    evo_s = EvolverSettings(state_path=str(tmp / "evolver.sqlite"), converter_addr=conv_addr, archive_addr=arch_addr,
                            evaluator_pools=f"local={ev_addr}", proposer_weights=args.proposers,
                            offspring_per_generation=args.offspring, max_active_runs=max(args.runs, 1),
                            generations_in_flight=args.generations_in_flight)
    evolver = build(evo_s)
    await evolver.start()
    evo, evo_addr = await up(evo_s, evolver.bindings)

    sample = _nvml_sampler()
    source = Path(args.task).read_text()
    samples: list[float] = []
    async with grpc.aio.insecure_channel(evo_addr) as channel:
        stub = evolver_pb2_grpc.EvolverServiceStub(channel)
        budget = pb.Budget(max_candidates=args.candidates, max_generations=args.generations,
                           max_wall_seconds=args.wall)
        # A distinct comment per run: the evaluator caches verdicts by (task source, candidate), and
        # four runs of one task with a deterministic proposer would otherwise be served from its cache.
        ids = [(await stub.StartRun(pb.StartRunRequest(task=task_pb2.Task(name=Path(args.task).stem,
                                                                          source=f"{source}\n# run {i}\n"),
                                                       budget=budget, request_id=f"util-{i}"))).run_id
               for i in range(args.runs)]
        # Measure while the evolve stage runs: from the first dispatched candidate until the last run ends.
        start = time.monotonic()
        while True:
            runs = [(await stub.GetRun(pb.GetRunRequest(run_id=i))).run for i in ids]
            if all(r.state in (pb.RUN_STATE_SUCCEEDED, pb.RUN_STATE_FAILED, pb.RUN_STATE_CANCELLED) for r in runs):
                break
            if any(r.stage >= pb.STAGE_TRANSLATE for r in runs):
                samples.append(max(await asyncio.to_thread(sample)))
            await asyncio.sleep(args.interval)
        wall = time.monotonic() - start
    busy = [s for s in samples if s > args.busy_pct]
    result = {
        "runs": args.runs, "task": args.task, "generations_in_flight": args.generations_in_flight, "wall_s": round(wall, 1), "samples": len(samples),
        "busy_fraction": round(len(busy) / len(samples), 3) if samples else 0.0,
        "mean_utilization_pct": round(sum(samples) / len(samples), 1) if samples else 0.0,
        "states": [pb.RunState.Name(r.state) for r in runs], "messages": [r.message for r in runs],
        "candidates": [r.spent.candidates for r in runs],
        "warm_compile": args.warm_compile,
        "warmer": vars(pool.warmer.stats) if pool.warmer is not None else None,
    }
    for server in (evo, ev, arch, conv):
        await server.stop(0)
    await evolver.stop()
    await pool.stop()
    arch_servicer.close()
    return result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", required=True, help="a KernelBench task file the proposers can translate")
    p.add_argument("--runs", type=int, default=4)
    p.add_argument("--proposers", default="builtin=1")
    p.add_argument("--candidates", type=int, default=48)
    p.add_argument("--generations", type=int, default=20)
    p.add_argument("--wall", type=float, default=600.0)
    p.add_argument("--offspring", type=int, default=8)
    p.add_argument("--generations-in-flight", type=int, default=2,
                   help="KW_EVOLVER_GENERATIONS_IN_FLIGHT for the runs; 1 is the old per-generation barrier")
    p.add_argument("--warm-compile", choices=("on", "off"), default="on",
                   help="KW_GPU_EVALUATOR_WARM_COMPILE: compile each task's torch.compile baseline ahead; for an "
                        "A/B give each run its own cold TORCHINDUCTOR_CACHE_DIR and TRITON_CACHE_DIR")
    p.add_argument("--interval", type=float, default=0.2)
    p.add_argument("--busy-pct", type=float, default=0.0, help="a sample counts as busy above this utilization")
    args = p.parse_args()
    result = asyncio.run(_main(args))
    print(json.dumps(result))
    return 0 if result["busy_fraction"] >= 0.85 else 1


if __name__ == "__main__":
    sys.exit(main())
