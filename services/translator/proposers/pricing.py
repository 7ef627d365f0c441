"""Token prices per model (``prices.json``: USD per million tokens)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PRICES = Path(__file__).resolve().parent / "prices.json"


# "<id>-YYYYMMDD" (Anthropic API) or "<id>@YYYYMMDD" (Vertex AI), optionally with a further suffix.
_DATED = re.compile(r"(.+?)[-@](\d{8})(?:[-:@].*)?")


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
        """Exact id, or a listed id plus a date suffix. Not any prefix: "claude-opus-4-5" must not be
        priced as "claude-opus-4" (three times its price); an unlisted id is unknown instead."""
        if model in self.models:
            return self.models[model]
        m = _DATED.fullmatch(model)
        return self.models.get(m.group(1)) if m else None

    def cost(self, model: str, *, input_tokens: int, output_tokens: int, cache_read: int = 0, cache_write: int = 0) -> tuple[float, bool]:
        """(cost in USD, priced); an unknown model costs 0 and is flagged unpriced."""
        p = self.lookup(model)
        if p is None:
            return 0.0, False
        usd = (input_tokens * p.input + output_tokens * p.output + cache_read * p.cache_read + cache_write * p.cache_write) / 1e6
        return usd, True
