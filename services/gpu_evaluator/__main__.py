"""``python -m kernelwright.gpu_evaluator``: settings -> logging -> GPU workers -> serve."""

from __future__ import annotations

import asyncio
import dataclasses

from kernelwright.core.logger import configure_logging, get_logger
from kernelwright.core.server import ServiceBinding, binding, serve
from kernelwright.gpu_evaluator.settings import GpuEvaluatorSettings
from kernelwright.gpu_evaluator.v1 import gpu_evaluator_pb2, gpu_evaluator_pb2_grpc


def build_pool(settings: GpuEvaluatorSettings, probe=None):
    from kernelwright.gpu_evaluator.gpus import probe_nvidia_smi, visible_gpus
    from kernelwright.gpu_evaluator.pipeline import EvalOptions
    from kernelwright.gpu_evaluator.pool import WorkerPool

    gpus = visible_gpus(settings.gpus, probe=probe or probe_nvidia_smi)
    defaults = dataclasses.asdict(EvalOptions(launcher=settings.launcher, arch=settings.arch,
                                              cache_dir=settings.cache_dir))
    return WorkerPool(gpus, pool_name=settings.pool, options=defaults, queue_capacity=settings.queue_capacity,
                      startup_timeout_s=settings.startup_timeout_s, gpu_product=settings.gpu_product,
                      cache_size=settings.verdict_cache_size, prepare_ahead=settings.prepare_ahead,
                      warm_compile=settings.warm_compile)


def bindings(settings: GpuEvaluatorSettings, pool) -> list[ServiceBinding]:
    from kernelwright.gpu_evaluator.servicer import GpuEvaluatorServicer

    return [binding(gpu_evaluator_pb2, "GpuEvaluatorService",
                    gpu_evaluator_pb2_grpc.add_GpuEvaluatorServiceServicer_to_server,
                    GpuEvaluatorServicer(settings, pool))]


async def _main(settings: GpuEvaluatorSettings) -> None:
    log = get_logger("kernelwright.gpu_evaluator")
    pool = build_pool(settings)
    await pool.start()
    log.info("workers started", gpus=len(pool.slots), cpu_only=pool.cpu_only)
    await serve(settings, bindings(settings, pool), on_shutdown=pool.stop)


def main() -> None:
    settings = GpuEvaluatorSettings()
    configure_logging(settings.log_level, settings.log_format)
    asyncio.run(_main(settings))


if __name__ == "__main__":
    main()
