"""Benchmark metrics on hand-computed cases, including empty and all-failed sets."""

import math

import pytest

from kernelwright.bench import metrics
from kernelwright.bench.results import SUCCEEDED, TaskResult

from .helpers import error, failed, ok

# Five tasks: speedups vs eager 0.5, 1.2, 1.6, 3.0 (correct) and one failure.
MIXED = [ok("a", 1, 0.5, 0.4), ok("b", 1, 1.2, 0.9), ok("c", 2, 1.6, 1.1), ok("d", 2, 3.0, 2.5), failed("e", 2)]


def test_empty_set_gives_zeros_and_no_geomean():
    s = metrics.summarize([])
    assert (s.tasks, s.correct, s.correctness_rate) == (0, 0, 0.0)
    assert all(v == 0.0 for b in metrics.BASELINES for v in s.fast[b].values())
    assert s.geomean == {"eager": None, "compile": None}
    assert metrics.per_level([]) == {}


def test_all_failed_set():
    results = [failed("a", 1), error("b", 1), failed("c", 2)]
    s = metrics.summarize(results)
    assert s.correct == 0 and s.correctness_rate == 0.0
    assert s.fast["eager"][0.0] == 0.0 and s.fast["compile"][2.0] == 0.0
    assert s.geomean["eager"] is None
    assert s.outcomes == {"ERROR": 1, "FAILED": 2}


def test_correctness_rate_counts_failed_tasks_in_the_denominator():
    assert metrics.correctness_rate(MIXED) == pytest.approx(4 / 5)


@pytest.mark.parametrize(("p", "baseline", "expected"), [
    (0.0, "eager", 4 / 5),      # every correct task has a speedup > 0
    (1.0, "eager", 3 / 5),      # 1.2, 1.6, 3.0
    (1.5, "eager", 2 / 5),      # 1.6, 3.0
    (2.0, "eager", 1 / 5),      # 3.0
    (1.0, "compile", 2 / 5),    # 1.1, 2.5
    (1.5, "compile", 1 / 5),    # 2.5
    (2.0, "compile", 1 / 5),
])
def test_fast_p_by_hand(p, baseline, expected):
    assert metrics.fast_p(MIXED, p, baseline) == pytest.approx(expected)


def test_fast_p_is_strictly_greater_than_p():
    assert metrics.fast_p([ok("x", 1, 1.0, 1.5)], 1.0, "eager") == 0.0
    assert metrics.fast_p([ok("x", 1, 1.0, 1.5)], 1.5, "compile") == 0.0


def test_a_fast_but_incorrect_task_is_not_fast():
    wrong = TaskResult(task="w", level=1, correct=False, outcome=SUCCEEDED, speedup_eager=9.0, speedup_compile=9.0)
    assert metrics.fast_p([wrong], 0.0) == 0.0
    assert metrics.geomean_speedup([wrong]) is None


def test_correct_but_untimed_is_correct_and_not_fast():
    untimed = TaskResult(task="u", level=1, correct=True, outcome=SUCCEEDED)
    assert metrics.correctness_rate([untimed]) == 1.0
    assert metrics.fast_p([untimed], 0.0) == 0.0
    assert metrics.geomean_speedup([untimed]) is None


def test_geomean_over_correct_tasks_only():
    assert metrics.geomean_speedup(MIXED, "eager") == pytest.approx((0.5 * 1.2 * 1.6 * 3.0) ** 0.25)
    assert metrics.geomean_speedup(MIXED, "compile") == pytest.approx(math.exp(
        sum(math.log(v) for v in (0.4, 0.9, 1.1, 2.5)) / 4))


def test_unknown_baseline_raises():
    with pytest.raises(ValueError, match="unknown baseline"):
        metrics.fast_p(MIXED, 1.0, "cudnn")


def test_per_level_breakdown():
    levels = metrics.per_level(MIXED)
    assert list(levels) == [1, 2]
    assert (levels[1].tasks, levels[1].correct) == (2, 2)
    assert levels[1].fast["eager"][1.0] == pytest.approx(1 / 2)
    assert (levels[2].tasks, levels[2].correct) == (3, 2)
    assert levels[2].fast["eager"][1.0] == pytest.approx(2 / 3)
    assert levels[2].fast["compile"][1.0] == pytest.approx(2 / 3)
    assert levels[2].geomean["eager"] == pytest.approx((1.6 * 3.0) ** 0.5)


def test_goals_met_and_missed():
    by_name = {g.name.split(" (")[0]: g for g in metrics.goals(MIXED)}
    eager = by_name["level 2 faster than eager"]
    assert eager.actual == pytest.approx(2 / 3) and not eager.met
    compile_ = by_name["level 2 faster than torch.compile"]
    assert compile_.actual == pytest.approx(2 / 3) and compile_.met
    correct = by_name["correct, all tasks"]
    assert correct.actual == pytest.approx(0.8) and correct.met


def test_goals_without_level_2_tasks_are_not_met():
    g = metrics.goals([ok("a", 1, 2.0, 2.0)])
    assert g[0].actual is None and not g[0].met
    assert g[2].met
