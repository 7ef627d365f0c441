"""The proposer ensemble: proposers by name with weights, built through the translator's facade."""

from __future__ import annotations

import dataclasses
import random

from kernelwright.core.errors import FailedPrecondition, InvalidArgument
from kernelwright.translator.proposers import (
    ProposalRequest,
    Proposer,
    ProposerConfigError,
    ProposerSettings,
    available_proposers,
    make_proposer,
)

FREE_PROPOSERS = frozenset({"builtin"})   # no LLM money: allowed when the cost budget is spent
SUPPORTS_PARENTS = "parents" in {f.name for f in dataclasses.fields(ProposalRequest)}


def validate_weights(weights: dict[str, float]) -> dict[str, float]:
    """Canonical names; INVALID_ARGUMENT for unknown names or no positive weight."""
    known = set(available_proposers())
    out: dict[str, float] = {}
    for name, weight in weights.items():
        key = name.strip().lower()
        if weight < 0 or weight != weight:
            raise InvalidArgument(f"proposer {name!r}: weight must be >= 0, got {weight}")
        if key not in known and key not in ("claude", "vllm", "sglang", "openai-compatible"):
            raise InvalidArgument(f"unknown proposer {name!r}; known: {', '.join(sorted(known))}")
        out[key] = out.get(key, 0.0) + weight
    if not any(w > 0 for w in out.values()):
        raise InvalidArgument("no proposer has a positive weight")
    return out


class Ensemble:
    def __init__(self, weights: dict[str, float], settings: ProposerSettings | None = None) -> None:
        self.weights = {n: w for n, w in weights.items() if w > 0}
        self.proposers: dict[str, Proposer] = {}
        for name in self.weights:
            try:
                self.proposers[name] = make_proposer(name, settings)
            except ProposerConfigError as exc:
                raise FailedPrecondition(f"proposer {name!r} cannot be used: {exc}") from exc

    def choose(self, rng: random.Random, *, free_only: bool = False) -> str | None:
        names = [n for n in self.weights if not free_only or n in FREE_PROPOSERS]
        if not names:
            return None
        return rng.choices(names, weights=[self.weights[n] for n in names])[0]

    def has(self, name: str) -> bool:
        return name in self.proposers
