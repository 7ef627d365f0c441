"""Archive settings: ``KW_ARCHIVE_*`` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from kernelwright.core.settings import ServiceSettings


def default_archive_path() -> str:
    return str(Path.home() / ".local" / "share" / "kernelwright" / "archive")


class ArchiveSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="KW_ARCHIVE_", extra="ignore")

    port: int = Field(50055, ge=0, le=65535)
    path: str = Field(default_factory=default_archive_path,
                      description="Embedded Qdrant folder (the default back end); owned by this process alone.")
    url: str = Field("", description="Qdrant server URL; when set, `path` is ignored.")
    api_key: str = Field("", description="Qdrant server API key (with `url`).")
    collection: str = "kernels"
    memory: bool = Field(False, description="Keep everything in memory (tests, demos); nothing survives.")

    @model_validator(mode="after")
    def _one_backend(self) -> "ArchiveSettings":
        if self.memory and self.url:
            raise ValueError("set either KW_ARCHIVE_MEMORY or KW_ARCHIVE_URL, not both")
        return self

    def describe_backend(self) -> str:
        if self.url:
            return f"remote:{self.url}"
        return "memory" if self.memory else f"local:{self.path}"
