"""Token prices per model (``prices.json``: USD per million tokens)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PRICES = Path(__file__).resolve().parent / "prices.json"


@dataclass(frozen=True)
class Price:
    input: float
    output: float
    cache_write: float = 0.0
    cache_read: float = 0.0


class PriceTable:
    def __init__(self, models: dict[str, Price]) -> None:
        self.models = models

    @classmethod
    def load(cls, path: Path | None = None) -> PriceTable:
        data = json.loads(Path(path or DEFAULT_PRICES).read_text())
        return cls({k: Price(**v) for k, v in data.get("models", {}).items()})

    def lookup(self, model: str) -> Price | None:
        if model in self.models:
            return self.models[model]
        best = max((k for k in self.models if model.startswith(k)), key=len, default=None)
        return self.models[best] if best else None

    def cost(self, model: str, *, input_tokens: int, output_tokens: int, cache_read: int = 0, cache_write: int = 0) -> tuple[float, bool]:
        """(cost in USD, priced); an unknown model costs 0 and is flagged unpriced."""
        p = self.lookup(model)
        if p is None:
            return 0.0, False
        usd = (input_tokens * p.input + output_tokens * p.output + cache_read * p.cache_read + cache_write * p.cache_write) / 1e6
        return usd, True
