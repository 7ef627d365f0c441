"""Benchmark metrics: pure functions over ``TaskResult`` lists.

Definitions (KernelBench's, made explicit):

* correctness rate = correct tasks / all tasks.
* fast_p vs a baseline = tasks that are correct AND have speedup > p, divided by ALL tasks
  (failed tasks count in the denominator). Speedup = baseline ms / ours ms. A correct task whose
  speedup was not measured (0, e.g. a CPU-only evaluator) is not fast for any p.
* geomean speedup = geometric mean over correct tasks with a measured speedup; ``None`` when
  there is none.

Every function returns 0.0 (or ``None`` for geomeans) on an empty list instead of raising.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from .results import TaskResult

P_VALUES = (0.0, 1.0, 1.5, 2.0)
BASELINES = ("eager", "compile")


def speedup(result: TaskResult, baseline: str) -> float:
    if baseline == "eager":
        return result.speedup_eager
    if baseline == "compile":
        return result.speedup_compile
    raise ValueError(f"unknown baseline {baseline!r}; expected one of {BASELINES}")


def correctness_rate(results: Sequence[TaskResult]) -> float:
    if not results:
        return 0.0
    return sum(1 for r in results if r.correct) / len(results)


def fast_p(results: Sequence[TaskResult], p: float, baseline: str = "eager") -> float:
    if not results:
        return 0.0
    return sum(1 for r in results if r.correct and speedup(r, baseline) > p) / len(results)


def geomean_speedup(results: Sequence[TaskResult], baseline: str = "eager") -> float | None:
    values = [speedup(r, baseline) for r in results if r.correct and speedup(r, baseline) > 0]
    if not values:
        return None
    return math.exp(sum(math.log(v) for v in values) / len(values))


@dataclass
class Summary:
    """The headline numbers of one set of tasks (all of them, or one level)."""

    tasks: int
    correct: int
    correctness_rate: float
    # fast[baseline][p]
    fast: dict[str, dict[float, float]] = field(default_factory=dict)
    geomean: dict[str, float | None] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)


def summarize(results: Sequence[TaskResult]) -> Summary:
    outcomes: dict[str, int] = {}
    for r in results:
        outcomes[r.outcome] = outcomes.get(r.outcome, 0) + 1
    return Summary(
        tasks=len(results),
        correct=sum(1 for r in results if r.correct),
        correctness_rate=correctness_rate(results),
        fast={b: {p: fast_p(results, p, b) for p in P_VALUES} for b in BASELINES},
        geomean={b: geomean_speedup(results, b) for b in BASELINES},
        outcomes=dict(sorted(outcomes.items())),
    )


def per_level(results: Sequence[TaskResult]) -> dict[int, Summary]:
    """Summaries keyed by KernelBench level (0 = unknown level), levels in ascending order."""
    levels = sorted({r.level for r in results})
    return {lv: summarize([r for r in results if r.level == lv]) for lv in levels}


@dataclass(frozen=True)
class Goal:
    """One target of issue #6's benchmark, and whether the results meet it."""

    name: str
    target: float
    actual: float | None  # None: no task of that level in the results
    met: bool


def goals(results: Sequence[TaskResult]) -> list[Goal]:
    """Issue #6: level 2 faster than eager on >= 80% and than torch.compile on >= 50% of its tasks
    (fast_1); correct on >= 80% of all tasks."""
    level2 = [r for r in results if r.level == 2]

    def goal(name: str, target: float, actual: float | None) -> Goal:
        return Goal(name, target, actual, actual is not None and actual >= target)

    return [
        goal("level 2 faster than eager (fast_1 vs eager)", 0.80, fast_p(level2, 1.0, "eager") if level2 else None),
        goal("level 2 faster than torch.compile (fast_1 vs compile)", 0.50,
             fast_p(level2, 1.0, "compile") if level2 else None),
        goal("correct, all tasks", 0.80, correctness_rate(results) if results else None),
    ]
