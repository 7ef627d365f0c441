"""Budgets: validation of what a caller asks for, and accounting of what a run has spent."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from kernelwright.core.errors import InvalidArgument
from kernelwright.evolver.settings import EvolverSettings
from kernelwright.evolver.v1 import evolver_pb2 as pb


def resolve_budget(requested: pb.Budget | None, settings: EvolverSettings) -> pb.Budget:
    """The budget a run gets: fields left 0 take the defaults; zero-everything, negative, NaN or absurd
    values are refused (INVALID_ARGUMENT) with the field and the limit named."""
    given = requested is not None
    requested = requested if requested is not None else pb.Budget()
    values = {
        "max_candidates": requested.max_candidates,
        "max_generations": requested.max_generations,
        "max_wall_seconds": requested.max_wall_seconds,
        "max_llm_cost_usd": requested.max_llm_cost_usd,
    }
    for name, value in values.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidArgument(f"budget.{name} must be a finite number, got {value}")
        if value < 0:
            raise InvalidArgument(f"budget.{name} must be >= 0 (0 means the default), got {value}")
    if given and not any(values.values()):
        raise InvalidArgument("budget is all zero: a run that may spend nothing does nothing; "
                              "omit the budget for the defaults or set a positive limit")
    limits = {
        "max_candidates": settings.limit_max_candidates,
        "max_generations": settings.limit_max_generations,
        "max_wall_seconds": settings.limit_max_wall_seconds,
        "max_llm_cost_usd": settings.limit_max_llm_cost_usd,
    }
    for name, limit in limits.items():
        if values[name] > limit:
            raise InvalidArgument(f"budget.{name}={values[name]} is beyond this evolver's limit of {limit}")
    return pb.Budget(
        max_candidates=values["max_candidates"] or settings.default_max_candidates,
        max_generations=values["max_generations"] or settings.default_max_generations,
        max_wall_seconds=values["max_wall_seconds"] or settings.default_max_wall_seconds,
        max_llm_cost_usd=values["max_llm_cost_usd"] or settings.default_max_llm_cost_usd,
    )


class BudgetTracker:
    """What a run has spent, carried across restarts: wall time spent before a restart is kept in
    ``spent.wall_seconds`` and the clock restarts from there."""

    def __init__(self, budget: pb.Budget, spent: pb.BudgetSpent, clock: Callable[[], float] = time.monotonic):
        self.budget = budget
        self.spent = pb.BudgetSpent()
        self.spent.CopyFrom(spent)
        self._clock = clock
        self._base_wall = spent.wall_seconds
        self._since = clock()

    def tick(self) -> pb.BudgetSpent:
        self.spent.wall_seconds = self._base_wall + (self._clock() - self._since)
        return self.spent

    def candidates_left(self) -> int:
        return max(0, self.budget.max_candidates - self.spent.candidates)

    def wall_left(self) -> float:
        return max(0.0, self.budget.max_wall_seconds - self.tick().wall_seconds)

    def cost_left(self) -> float:
        return max(0.0, self.budget.max_llm_cost_usd - self.spent.llm_cost_usd)

    def generations_left(self) -> int:
        return max(0, self.budget.max_generations - self.spent.generations)

    def exhausted(self) -> str:
        """Empty while there is budget left; otherwise which limit was reached."""
        if self.candidates_left() <= 0:
            return f"candidate budget spent ({self.budget.max_candidates})"
        if self.generations_left() <= 0:
            return f"generation budget spent ({self.budget.max_generations})"
        if self.wall_left() <= 0:
            return f"wall-time budget spent ({self.budget.max_wall_seconds:g} s)"
        return ""

    def charge_cost(self, usd: float) -> None:
        self.spent.llm_cost_usd += max(0.0, usd)

    def charge_candidate(self) -> None:
        self.spent.candidates += 1
