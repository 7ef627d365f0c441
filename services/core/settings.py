"""Typed settings shared by every service; each service subclasses with its own env prefix.

Settings come from the environment (``KW_<SERVICE>_<FIELD>``, e.g. ``KW_ARCHIVE_PORT=50052``),
validated once at start-up so a bad value fails loudly instead of deep inside a request.
"""

from __future__ import annotations

from typing import Literal

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Settings every gRPC service has. Subclasses set ``model_config`` with their prefix."""

    model_config = SettingsConfigDict(env_prefix="KW_", extra="ignore")

    host: str = Field("127.0.0.1", description="Interface to listen on; 0.0.0.0 in containers.")
    port: int = Field(0, ge=0, le=65535, description="gRPC port; 0 picks a free one.")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["auto", "json", "console"] = Field(
        "auto", description="auto: readable on a TTY, JSON lines otherwise."
    )
    metrics_port: int = Field(
        -1, ge=-1, le=65535, description="Prometheus /metrics port; -1 disables, 0 picks a free one."
    )
    max_message_bytes: int = Field(64 * 1024 * 1024, ge=1024 * 1024)
    shutdown_grace_s: float = Field(10.0, ge=0.0, description="In-flight RPCs get this long on SIGTERM.")
    max_concurrent_rpcs: int = Field(64, ge=1)
    tls_cert: str = Field("", description="PEM certificate chain; with tls_key, the server speaks TLS only.")
    tls_key: str = Field("", description="PEM private key for tls_cert.")
    tls_ca: str = Field("", description="PEM CA bundle; when set, clients must present a certificate it signed.")
    health_port: int = Field(0, ge=0, le=65535, description="With TLS on: a plaintext port serving only the "
                             "health service, for Kubernetes gRPC probes (which cannot speak TLS); 0 = none.")

    @model_validator(mode="after")
    def _tls_pair(self) -> "ServiceSettings":
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ValueError("tls_cert and tls_key go together: set both or neither")
        for name in ("tls_cert", "tls_key", "tls_ca"):
            path = getattr(self, name)
            if path and not Path(path).is_file():
                raise ValueError(f"{name}: no such file {path}")
        return self

    @property
    def service_name(self) -> str:
        prefix = self.model_config.get("env_prefix", "KW_")
        return prefix.removeprefix("KW_").rstrip("_").lower() or "kernelwright"
