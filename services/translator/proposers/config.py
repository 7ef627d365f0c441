"""Proposer settings (``KW_TRANSLATOR_*`` environment variables)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from kernelwright.translator.proposers.base import ProposerConfigError

ENV_PREFIX = "KW_TRANSLATOR_"
DEFAULT_ANTHROPIC_MODEL = "claude-sonnet-4-6"


class ProposerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    anthropic_api_key: str | None = None
    anthropic_api_key_file: Path | None = None
    anthropic_base_url: str | None = None  # None: the SDK's default endpoint
    anthropic_model: str = DEFAULT_ANTHROPIC_MODEL
    openai_api_key: str | None = None
    openai_api_key_file: Path | None = None
    openai_base_url: str | None = None  # e.g. http://vllm:8000/v1
    openai_model: str | None = None
    max_retries: int = Field(default=4, ge=0, le=20)
    backoff_initial_s: float = Field(default=1.0, ge=0)
    backoff_max_s: float = Field(default=30.0, ge=0)
    request_timeout_s: float = Field(default=300.0, gt=0)
    # Overall deadline for one call including retries; None: bounded by attempts only.
    deadline_s: float | None = Field(default=None, gt=0)
    max_output_tokens: int = Field(default=16000, ge=1)
    temperature: float | None = None
    # Where a proposer cannot be built (no key), use the registered "builtin" proposer instead.
    fallback_to_builtin: bool = False
    # Price table (USD per million tokens); None: the bundled prices.json.
    prices_file: Path | None = None


def env_name(field_name: str) -> str:
    return ENV_PREFIX + field_name.upper()


def resolve_secret(settings: ProposerSettings, key_field: str, backend: str) -> str:
    """The API key from ``<key_field>`` or the file named by ``<key_field>_file``."""
    value = getattr(settings, key_field)
    if value:
        return value
    file_field = key_field + "_file"
    path = getattr(settings, file_field)
    if path is not None:
        try:
            text = Path(path).read_text().strip()
        except OSError as exc:
            raise ProposerConfigError(
                f"{backend} proposer: cannot read {env_name(file_field)}={path}: {exc.strerror or exc}"
            ) from exc
        if not text:
            raise ProposerConfigError(f"{backend} proposer: {env_name(file_field)}={path} is empty")
        return text
    raise ProposerConfigError(
        f"{backend} proposer needs {env_name(key_field)} (or a mounted secret file {env_name(file_field)})"
    )


def require(settings: ProposerSettings, field_name: str, backend: str) -> str:
    value = getattr(settings, field_name)
    if not value:
        raise ProposerConfigError(f"{backend} proposer needs {env_name(field_name)}")
    return str(value)
