"""Finding (or starting) the services a CLI command talks to.

Order: an explicit ``--<service>`` address, then ``KW_<SERVICE>_ADDR``, then the mesh file that
``kernelwright up`` writes, and only then an ephemeral in-process server on a free loopback port
that lives for the one command. Every path goes through gRPC, so the archive folder keeps a
single owner.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

SERVICES = ("converter", "archive", "gpu-evaluator", "translator", "evolver")  # implemented


def state_dir() -> Path:
    return Path(os.environ.get("KW_STATE_DIR", Path.home() / ".local" / "state" / "kernelwright"))


def mesh_file() -> Path:
    return state_dir() / "mesh.json"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_mesh(addresses: dict[str, str]) -> Path:
    path = mesh_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"pid": os.getpid(), "services": addresses}, indent=2))
    tmp.replace(path)
    return path


def clear_mesh() -> None:
    with contextlib.suppress(FileNotFoundError):
        data = json.loads(mesh_file().read_text())
        if data.get("pid") == os.getpid():
            mesh_file().unlink()


def running_mesh() -> dict[str, str]:
    """Addresses from a live ``kernelwright up``; empty when none runs."""
    try:
        data = json.loads(mesh_file().read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
    if not _pid_alive(int(data.get("pid", -1))):
        return {}
    return dict(data.get("services", {}))


def configured_address(service: str, explicit: str | None = None) -> str | None:
    if explicit:
        return explicit
    env = os.environ.get(f"KW_{service.upper().replace('-', '_')}_ADDR")
    if env:
        return env
    return running_mesh().get(service)


class _BackgroundServer:
    """An asyncio gRPC server on its own thread, for the life of one CLI command."""

    def __init__(self, service: str, build=None) -> None:
        self.service = service
        # build(): async -> (settings, bindings, close); default: the service's own settings from the env.
        self._build = build or (lambda: _build(service))
        self.port: int | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, name=f"kw-{service}", daemon=True)

    def start(self) -> str:
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # surfaced to the caller of start()
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        from kernelwright.core.server import create_server

        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        settings, bindings, close = await self._build()
        settings.port = 0
        settings.host = "127.0.0.1"
        server, self.port = await create_server(settings, bindings)
        await server.start()
        self._ready.set()
        await self._stop.wait()
        await server.stop(5)
        if close:
            result = close()
            if asyncio.iscoroutine(result):
                await result


async def _build(service: str):
    if service == "gpu-evaluator":
        from kernelwright.gpu_evaluator.__main__ import bindings, build_pool
        from kernelwright.gpu_evaluator.settings import GpuEvaluatorSettings

        settings = GpuEvaluatorSettings()
        pool = build_pool(settings)
        await pool.start()  # GPU workers (none on a CPU-only machine) before the server answers
        return settings, bindings(settings, pool), pool.stop
    if service == "converter":
        from kernelwright.converter.__main__ import bindings
        from kernelwright.converter.settings import ConverterSettings

        settings = ConverterSettings()
        return settings, bindings(settings), None
    if service == "archive":
        from kernelwright.archive.__main__ import bindings
        from kernelwright.archive.settings import ArchiveSettings

        settings = ArchiveSettings()
        servicer, services = bindings(settings)
        return settings, services, servicer.close
    if service == "translator":
        from kernelwright.translator.__main__ import bindings
        from kernelwright.translator.settings import TranslatorSettings

        settings = TranslatorSettings()
        servicer, services = bindings(settings)
        return settings, services, servicer.close
    if service == "evolver":
        from kernelwright.evolver.__main__ import build
        from kernelwright.evolver.settings import EvolverSettings

        settings = EvolverSettings()
        evolver = build(settings)
        await evolver.start()  # resumes unfinished runs of its store before the server answers
        return settings, evolver.bindings, evolver.stop
    raise ValueError(f"unknown service {service}")


@contextlib.contextmanager
def endpoint(service: str, explicit: str | None = None) -> Iterator[str]:
    """Yield an address for ``service``: a configured/running one or an ephemeral local server."""
    address = configured_address(service, explicit)
    if address:
        yield address
        return
    server = _BackgroundServer(service)
    address = server.start()
    try:
        yield address
    finally:
        server.stop()


# Start order of a local mesh: a service comes after everything it calls (the evolver calls all).
LOCAL_MESH_ORDER = ("converter", "archive", "gpu-evaluator", "translator", "evolver")
# Settings of services started for one command: an evolver that lives for one command keeps its
# runs in memory, so a later command never resumes runs of an earlier one.
_LOCAL_ONLY = {"evolver": {"KW_EVOLVER_STATE_PATH": ":memory:"}}


@contextlib.contextmanager
def _env_defaults(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables that are not set already; put everything back afterwards."""
    added = [k for k in values if k not in os.environ]
    for k in added:
        os.environ[k] = values[k]
    try:
        yield
    finally:
        for k in added:
            os.environ.pop(k, None)


def _wiring(service: str, address: str) -> dict[str, str]:
    """The settings that point the services started after ``service`` at it."""
    env = {f"KW_{service.upper().replace('-', '_')}_ADDR": address}
    if service == "gpu-evaluator":
        for caller in ("TRANSLATOR", "EVOLVER"):
            env[f"KW_{caller}_EVALUATOR_POOLS"] = f"local={address}"
    if service in ("converter", "archive", "translator"):
        env[f"KW_EVOLVER_{service.upper()}_ADDR"] = address
    return env


@contextlib.contextmanager
def local_mesh(require: tuple[str, ...] = ()) -> Iterator[dict[str, str]]:
    """Addresses of every implemented service for one command (``require``: those that must be).

    Configured services (flag/env/mesh file) are used as they are; the rest start in-process on
    free loopback ports, in dependency order, each wired to those before it through their ``KW_*``
    settings (set only for the life of the mesh, and never over a value the user set).
    """
    wanted = [s for s in LOCAL_MESH_ORDER if s in SERVICES]
    missing = [s for s in require if s not in SERVICES]
    if missing:
        raise RuntimeError(f"not implemented in this version: {', '.join(missing)}")
    addresses: dict[str, str] = {}
    with contextlib.ExitStack() as stack:
        for service in wanted:
            address = configured_address(service)
            if address is None:
                stack.enter_context(_env_defaults(_LOCAL_ONLY.get(service, {})))
                server = _BackgroundServer(service)
                address = server.start()
                stack.callback(server.stop)
            addresses[service] = address
            stack.enter_context(_env_defaults(_wiring(service, address)))
        yield addresses
