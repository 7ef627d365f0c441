"""Converter settings: ``KW_CONVERTER_*`` environment variables."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from kernelwright.core.settings import ServiceSettings


class ConverterSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="KW_CONVERTER_", extra="ignore")

    port: int = Field(50051, ge=0, le=65535)
    trials: int = Field(3, ge=1, le=20, description="Validation trials when a request says 0.")
    timeout_s: float = Field(600.0, gt=0, description="Wall-clock limit per conversion.")
    memory_limit_gib: float = Field(16.0, gt=0, description="Memory limit of the child that runs task code.")
    max_tensor_gib: float = Field(
        8.0, gt=0, description="Inputs + parameters above this are not validated (the verdict says why).")
    device: Literal["cpu", "cuda", "auto"] = "auto"
    max_parallel: int = Field(2, ge=1, description="Conversions running at once; more get RESOURCE_EXHAUSTED.")
