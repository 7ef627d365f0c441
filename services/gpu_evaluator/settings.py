"""gpu-evaluator settings: ``KW_GPU_EVALUATOR_*`` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from kernelwright.core.settings import ServiceSettings


class GpuEvaluatorSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="KW_GPU_EVALUATOR_", extra="ignore")

    port: int = Field(50054, ge=0, le=65535)
    pool: str = Field("default", description="Pool name reported in capabilities and verdicts, e.g. h100.")
    gpus: str = Field("all", description='"all", "none" (CPU-only: Check works, Evaluate refuses), or "0,1".')
    gpu_product: str = Field("", description="Node label nvidia.com/gpu.product; a -SHARED suffix means "
                             "time-sliced: candidates are verified but never timed.")
    queue_capacity: int = Field(64, ge=1, description="Queued candidates before RESOURCE_EXHAUSTED.")
    candidate_timeout_s: float = Field(300.0, gt=0, description="Wall-clock limit per candidate in a worker.")
    startup_timeout_s: float = Field(180.0, gt=0)
    correctness_trials: int = Field(5, ge=5, le=50)
    timing_trials: int = Field(100, ge=100, le=10000)
    warmup: int = Field(10, ge=1)
    input_sets: int = Field(3, ge=1, le=16)
    launcher: Literal["cuda-python", "pycuda"] = "cuda-python"
    arch: str = Field("", description='NVRTC target, e.g. "sm_90a"; empty: the GPU\'s own.')
    cache_dir: str = Field(default_factory=lambda: str(Path.home() / ".cache" / "kernelwright" / "evaluator"))
    verdict_cache_size: int = Field(4096, ge=0)
    prepare_ahead: int = Field(4, ge=0, le=16, description="Queued candidates whose static checks and build "
                               "are prepared while the GPU works on earlier ones (docs/evaluator.md); 0 = off.")
    warm_compile: bool = Field(True, description="Compile each new task's torch.compile baseline ahead in a "
                               "side process that launches no GPU work, so the worker's compile is an "
                               "Inductor cache hit (docs/evaluator.md).")
