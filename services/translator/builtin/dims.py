"""Sizes that follow the batch dimension: ``Dim(c, b)`` is ``c + b * batch``.

The evaluator runs one correctness trial with the leading (batch) dimension of the inputs one
larger, so no size derived from the batch may be baked into a kernel. The task is traced at two
batch sizes; every size is affine in the batch (``d0`` at ``B``, ``d1`` at ``B + 1``), which gives
``b = d1 - d0`` and ``c = d0 - b * B``. ``batch`` is the plan expression of the batch size
(``in0.shape[0]``, or the first tensor input's).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Dim", "numel_expr", "static_numel"]


@dataclass(frozen=True)
class Dim:
    c: int
    b: int = 0  # coefficient of the batch size

    @staticmethod
    def from_samples(d0: int, d1: int, batch0: int) -> Dim:
        b = int(d1) - int(d0)
        return Dim(int(d0) - b * batch0, b)

    @property
    def is_static(self) -> bool:
        return self.b == 0

    def at(self, batch: int) -> int:
        return self.c + self.b * batch

    def plan_expr(self, batch_expr: str) -> str:
        """ShapeExpr text (the plan grammar: + - * and ``inN.shape[i]``)."""
        if self.b == 0:
            return str(self.c)
        term = batch_expr if self.b == 1 else f"{self.b} * {batch_expr}"
        if self.c == 0:
            return term
        return f"({term} {'+' if self.c > 0 else '-'} {abs(self.c)})"


def numel_expr(dims: Iterable[Dim], batch_expr: str) -> str:
    """Product of ``dims`` as a ShapeExpr (static factors folded)."""
    static = 1
    dyn = []
    for d in dims:
        if d.is_static:
            static *= d.c
        else:
            dyn.append(d.plan_expr(batch_expr))
    parts = dyn + ([str(static)] if static != 1 or not dyn else [])
    return " * ".join(parts)


def static_numel(dims: Iterable[Dim], batch: int) -> int:
    return math.prod(d.at(batch) for d in dims)
