"""A real mesh on port 0 for the evolver: converter, simulated evaluator (2 fake GPUs), archive in memory."""

from __future__ import annotations

import asyncio
import contextlib

import grpc
import pytest

from kernelwright.common.v1 import task_pb2
from kernelwright.evolver.v1 import evolver_pb2 as pb
from kernelwright.evolver.v1 import evolver_pb2_grpc
from tests.integration.conftest import start

TASK = task_pb2.Task(name="tiny_relu", source="""import torch
import torch.nn as nn

class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        return torch.relu(x)

def get_inputs():
    return [torch.randn(8, 16)]

def get_init_inputs():
    return []
""")

RAISES = task_pb2.Task(name="raises", source=TASK.source.replace("return torch.relu(x)",
                                                                  "raise RuntimeError('broken task')"))


@pytest.fixture
async def mesh(tmp_path):
    """Yields a dict: converter/archive/evaluator addresses and boot_evolver(**settings) -> stub."""
    from kernelwright.archive.__main__ import bindings as archive_bindings
    from kernelwright.archive.settings import ArchiveSettings
    from kernelwright.converter.__main__ import bindings as converter_bindings
    from kernelwright.converter.settings import ConverterSettings
    from kernelwright.gpu_evaluator.__main__ import bindings as evaluator_bindings
    from kernelwright.gpu_evaluator.__main__ import build_pool
    from kernelwright.gpu_evaluator.gpus import fake_gpus
    from kernelwright.gpu_evaluator.settings import GpuEvaluatorSettings
    from kernelwright.gpu_evaluator.simulated_worker import simulated_worker_main

    servers, cleanups = [], []
    conv_settings = ConverterSettings(device="cpu", timeout_s=120, max_parallel=2)
    conv_server, conv_port = await start(conv_settings, converter_bindings(conv_settings))
    servers.append(conv_server)
    arch_settings = ArchiveSettings(memory=True)
    arch_servicer, arch_services = archive_bindings(arch_settings)
    arch_server, arch_port = await start(arch_settings, arch_services)
    servers.append(arch_server)
    cleanups.append(arch_servicer.close)
    ev_settings = GpuEvaluatorSettings(gpus="all", queue_capacity=4, cache_dir=str(tmp_path / "ev"), pool="sim")
    pool = build_pool(ev_settings, probe=fake_gpus("NVIDIA H100 80GB HBM3;80,NVIDIA H100 80GB HBM3;80"))
    for slot in pool.slots:
        slot._target = simulated_worker_main
    await pool.start()
    ev_server, ev_port = await start(ev_settings, evaluator_bindings(ev_settings, pool))
    servers.append(ev_server)

    evolvers = []

    async def boot_evolver(**overrides):
        from kernelwright.evolver.__main__ import build
        from kernelwright.evolver.settings import EvolverSettings

        values = dict(state_path=str(tmp_path / "evolver.sqlite"), converter_addr=f"127.0.0.1:{conv_port}",
                      archive_addr=f"127.0.0.1:{arch_port}", evaluator_pools=f"sim=127.0.0.1:{ev_port}",
                      proposer_weights="scripted-ok=1", convert_trials=1, convert_device="cpu",
                      offspring_per_generation=4, stage_deadline_s=30)
        values.update(overrides)
        settings = EvolverSettings(**values)
        evolver = build(settings)
        await evolver.start()
        server, port = await start(settings, evolver.bindings)
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        handle = {"evolver": evolver, "server": server, "channel": channel,
                  "stub": evolver_pb2_grpc.EvolverServiceStub(channel)}
        evolvers.append(handle)
        return handle

    async def kill_evolver(handle):
        """Stop abruptly: no graceful drain; runs keep their RUNNING state in the store."""
        await handle["server"].stop(0)
        await handle["channel"].close()
        await handle["evolver"].stop()
        evolvers.remove(handle)

    yield {"boot": boot_evolver, "kill": kill_evolver, "archive": f"127.0.0.1:{arch_port}",
           "evaluator_pool": pool, "evaluator": f"127.0.0.1:{ev_port}", "converter": f"127.0.0.1:{conv_port}"}
    for handle in list(evolvers):
        with contextlib.suppress(Exception):
            await kill_evolver(handle)
    for server in servers:
        await server.stop(0)
    await pool.stop()
    for fn in cleanups:
        fn()


async def watch_to_end(stub, run_id: str, timeout_s: float = 120.0) -> list[pb.RunProgress]:
    """Every progress event until the stream ends (it must: the last one carries a final state)."""
    events = []
    async with asyncio.timeout(timeout_s):
        async for reply in stub.WatchRun(pb.WatchRunRequest(run_id=run_id)):
            events.append(reply.progress)
    return events


FINAL = (pb.RUN_STATE_SUCCEEDED, pb.RUN_STATE_FAILED, pb.RUN_STATE_CANCELLED)
