"""Translator settings: ``KW_TRANSLATOR_*`` environment variables.

The proposers read their own settings (API keys, base URLs, retries, ``FALLBACK_TO_BUILTIN``) from the
same prefix through ``ProposerSettings``; this class holds what the service itself needs. Evaluator
pools come from ``DiscoverySettings`` (``KW_TRANSLATOR_EVALUATOR_POOLS`` / ``_EVALUATOR_DISCOVERY``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AliasChoices, BeforeValidator, Field
from pydantic_settings import NoDecode, SettingsConfigDict

from kernelwright.core.discovery import DiscoverySettings


def _names(value: object) -> object:
    """``"builtin,anthropic"`` (the environment's form) or a list -> a list of stripped names."""
    if isinstance(value, str):
        value = value.split(",")
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    return value


ProposerNames = Annotated[list[str], NoDecode, BeforeValidator(_names)]


class TranslatorSettings(DiscoverySettings):
    model_config = SettingsConfigDict(env_prefix="KW_TRANSLATOR_", extra="ignore", populate_by_name=True)

    port: int = Field(50052, ge=0, le=65535)
    proposers: ProposerNames = Field(default_factory=lambda: ["builtin"], min_length=1, description=(
        "Default proposer order when a request names none, e.g. builtin,anthropic."))
    max_attempts: int = Field(8, ge=1, le=200, description=(
        "Default bound on attempts (candidates evaluated + unusable answers) per translation."))
    max_rounds_per_proposer: int = Field(3, ge=1, le=50, description=(
        "Proposer calls per proposer per translation; each round sees the verdicts so far."))
    converter_addr: str = Field("", validation_alias=AliasChoices(
        "KW_TRANSLATOR_CONVERTER_ADDR", "KW_CONVERTER_ADDR", "converter_addr"), description=(
        "host:port of the converter; empty: a running `kernelwright up`, else translate without one."))
    propose_timeout_s: float = Field(900.0, gt=0, description="Deadline of one proposer call (its own "
                                     "retries included); past it the proposer is skipped.")
    evaluate_timeout_s: float = Field(1800.0, gt=0, description="Client deadline of one Evaluate call.")
    convert_timeout_s: float = Field(900.0, gt=0, description="Client deadline of the Convert call.")
    candidate_format: Literal["fast", "kernelbench"] = Field("fast", description=(
        "Format asked for when a request leaves it unspecified."))
    time_candidates: bool = Field(False, description=(
        "Also time candidates (eager and torch.compile baselines); off: verification only, which is "
        "what translation needs and much cheaper. Stage 3 times."))
    target_gpu: str = Field("", description="GPU model when a request names none (pool selection); empty: any.")
