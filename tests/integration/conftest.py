"""Real gRPC servers on port 0, in-process, one per test module."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health

from kernelwright.core.server import create_server, set_serving


async def start(settings, bindings):
    health_servicer = health.aio.HealthServicer()
    settings.port = 0
    settings.host = "127.0.0.1"
    server, port = await create_server(settings, bindings, health_servicer)
    await server.start()
    await set_serving(health_servicer, bindings, True)
    return server, port


@pytest.fixture
async def converter_channel():
    from kernelwright.converter.__main__ import bindings
    from kernelwright.converter.settings import ConverterSettings

    settings = ConverterSettings(device="cpu", timeout_s=120, max_parallel=1)
    server, port = await start(settings, bindings(settings))
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield channel
    await server.stop(0)


@pytest.fixture
async def archive_server(tmp_path):
    """An archive on a disk folder; yields (channel, restart) where restart() reopens the folder."""
    from kernelwright.archive.__main__ import bindings
    from kernelwright.archive.settings import ArchiveSettings

    state = {}

    async def boot():
        settings = ArchiveSettings(path=str(tmp_path / "archive"))
        servicer, services = bindings(settings)
        server, port = await start(settings, services)
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        state.update(server=server, servicer=servicer, channel=channel)
        return channel

    async def shutdown():
        await state["channel"].close()
        await state["server"].stop(1)
        state["servicer"].close()

    async def restart():
        await shutdown()
        return await boot()

    channel = await boot()
    yield channel, restart, tmp_path / "archive"
    await shutdown()
