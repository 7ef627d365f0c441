"""``make_proposer(name, settings)``: build a proposer by name."""

from __future__ import annotations

from collections.abc import Callable

from kernelwright.translator.proposers.base import Proposer, ProposerConfigError
from kernelwright.translator.proposers.config import ProposerSettings

Factory = Callable[[ProposerSettings], Proposer]
_FACTORIES: dict[str, Factory] = {}
_ALIASES = {"claude": "anthropic", "openai-compatible": "openai", "vllm": "openai", "sglang": "openai"}


def register_proposer(name: str, factory: Factory) -> None:
    """Register (or replace) a factory, e.g. the translator's deterministic ``builtin`` proposer."""
    _FACTORIES[name] = factory


def _anthropic(settings: ProposerSettings) -> Proposer:
    from kernelwright.translator.proposers.anthropic_proposer import AnthropicProposer

    return AnthropicProposer(settings)


def _openai(settings: ProposerSettings) -> Proposer:
    from kernelwright.translator.proposers.openai_proposer import OpenAICompatibleProposer

    return OpenAICompatibleProposer(settings)


register_proposer("anthropic", _anthropic)
register_proposer("openai", _openai)


def _builtin(settings: ProposerSettings) -> Proposer:
    # Imported on use: the generator pulls in torch.fx, which the LLM paths do not need.
    from kernelwright.translator.builtin.proposer import BuiltinProposer

    return BuiltinProposer(settings)


register_proposer("builtin", _builtin)


def available_proposers() -> list[str]:
    return sorted(_FACTORIES)


def make_proposer(name: str, settings: ProposerSettings | None = None) -> Proposer:
    settings = settings if settings is not None else ProposerSettings()
    key = _ALIASES.get(name.strip().lower(), name.strip().lower())
    factory = _FACTORIES.get(key)
    if factory is None:
        raise ProposerConfigError(f"unknown proposer {name!r}; known: {', '.join(available_proposers())}")
    try:
        return factory(settings)
    except ProposerConfigError as exc:
        if settings.fallback_to_builtin and key != "builtin":
            builtin = _FACTORIES.get("builtin")
            if builtin is None:
                raise ProposerConfigError(f"{exc}; fallback_to_builtin is set but no 'builtin' proposer is registered") from exc
            return builtin(settings)
        raise
