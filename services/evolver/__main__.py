"""``python -m kernelwright.evolver``: settings -> logging -> store, discovery, dispatcher -> resume runs -> serve."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from kernelwright.core.discovery import (
    Pool,
    PoolRouter,
    StaticPoolDirectory,
    directory_from_settings,
    parse_static_pools,
)
from kernelwright.core.logger import configure_logging, get_logger
from kernelwright.core.server import ServiceBinding, binding, serve
from kernelwright.evolver.settings import EvolverSettings
from kernelwright.evolver.v1 import evolver_pb2, evolver_pb2_grpc


@dataclass
class Evolver:
    """Everything one evolver process owns; ``start()`` resumes unfinished runs, ``stop()`` leaves them
    resumable (their state stays in the store)."""

    settings: EvolverSettings
    manager: object
    dispatcher: object
    directory: object
    channels: object
    store: object
    bindings: list[ServiceBinding]

    async def start(self) -> None:
        await self.directory.start()
        await self.dispatcher.start()
        await self.manager.start()

    async def stop(self) -> None:
        await self.manager.stop()
        await self.dispatcher.stop()
        await self.channels.close()
        await self.directory.stop()
        self.store.close()


class LocalEvaluatorDirectory(StaticPoolDirectory):
    """No pools configured: one evaluator found the way the CLI finds services (KW_GPU_EVALUATOR_ADDR, or
    the `kernelwright up` mesh file), looked up on every use because `up` writes that file after every
    service has started."""

    def __init__(self) -> None:
        super().__init__({})

    def pools(self) -> dict[str, Pool]:
        from kernelwright.evolver.stages import resolve_address

        address = resolve_address("gpu-evaluator", "")
        return parse_static_pools(f"default={address}") if address else {}


def build(settings: EvolverSettings, proposer_settings=None) -> Evolver:
    from kernelwright.evolver.dispatcher import EvaluatorDispatcher
    from kernelwright.evolver.evolution import RunExecutor
    from kernelwright.evolver.manager import RunManager
    from kernelwright.evolver.servicer import EvolverServicer
    from kernelwright.evolver.stages import Channels
    from kernelwright.evolver.store import RunStore
    from kernelwright.gpu_evaluator.v1 import gpu_evaluator_pb2 as epb

    directory = directory_from_settings(settings)
    if settings.evaluator_discovery != "kubernetes" and not directory.pools():
        directory = LocalEvaluatorDirectory()
    store = RunStore(settings.state_path)
    options = epb.EvaluateOptions(verify_only=settings.evaluator_verify_only, timeout_s=settings.evaluator_timeout_s)
    dispatcher = EvaluatorDispatcher(PoolRouter(directory, settings.evaluator_cooldown_s),
                                     inflight_per_endpoint=settings.evaluator_inflight_per_endpoint,
                                     rpc_timeout_s=settings.evaluator_rpc_timeout_s,
                                     no_pool_timeout_s=settings.evaluator_no_pool_timeout_s, options=options)
    channels = Channels()
    manager = RunManager(settings, store, lambda publish: RunExecutor(settings, store, dispatcher, channels, publish,
                                                                       proposer_settings))
    services = [binding(evolver_pb2, "EvolverService", evolver_pb2_grpc.add_EvolverServiceServicer_to_server,
                        EvolverServicer(manager))]
    return Evolver(settings, manager, dispatcher, directory, channels, store, services)


async def _main(settings: EvolverSettings) -> None:
    log = get_logger("kernelwright.evolver")
    evolver = build(settings)
    await evolver.start()
    log.info("evolver ready", state=settings.state_path, pools=sorted(evolver.directory.pools()))
    await serve(settings, evolver.bindings, on_shutdown=evolver.stop)


def main() -> None:
    settings = EvolverSettings()
    configure_logging(settings.log_level, settings.log_format)
    asyncio.run(_main(settings))


if __name__ == "__main__":
    main()
