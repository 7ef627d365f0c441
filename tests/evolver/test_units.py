"""Population, selection and budget rules, without servers."""

import random

import pytest

from kernelwright.common.v1 import verdict_pb2
from kernelwright.core.errors import InvalidArgument
from kernelwright.evolver.budget import BudgetTracker, resolve_budget
from kernelwright.evolver.ensemble import validate_weights
from kernelwright.evolver.population import Population, features
from kernelwright.evolver.settings import EvolverSettings, parse_weights
from kernelwright.evolver.store import RunStore
from kernelwright.evolver.v1 import evolver_pb2 as pb
from kernelwright.gpu_evaluator.pool import candidate_id
from tests.evolver.scripted import fast_candidate

V = verdict_pb2
SETTINGS = EvolverSettings(state_path=":memory:")


def _verdict(eager: float, compiled: float = 0.0, outcome=V.VERDICT_OUTCOME_ACCEPTED) -> V.Verdict:
    """A full verdict with eager at 1 ms: the candidate takes 1/speedup ms (untimed when speedup is 0)."""
    v = V.Verdict(outcome=outcome)
    if eager:
        v.timings.eager.median_ms = 1.0
        v.timings.candidate.median_ms = 1.0 / eager
    v.timings.speedup_vs_eager = eager
    v.timings.speedup_vs_compile = compiled
    return v


def _ranked_only(ms: float) -> V.Verdict:
    """A search verdict with skip_baselines: the candidate's time, no baselines, speedups 0."""
    v = V.Verdict(outcome=V.VERDICT_OUTCOME_ACCEPTED)
    v.timings.candidate.median_ms = ms
    return v


def _cand(marker: str, block: int = 256):
    c = fast_candidate(marker, block)
    c.id = candidate_id(c)
    return c


def test_population_keeps_the_fastest_per_cell_and_never_unverified():
    pop = Population()
    assert not pop.add(_cand("a"), _verdict(9.0, outcome=V.VERDICT_OUTCOME_WRONG_ANSWER))
    assert len(pop) == 0
    assert pop.add(_cand("slow"), _verdict(1.2))
    assert pop.add(_cand("fast"), _verdict(2.5))
    assert not pop.add(_cand("slower"), _verdict(2.0))
    assert len(pop) == 1 and pop.best().verdict.timings.speedup_vs_eager == 2.5


def test_population_keeps_diversity_across_block_sizes():
    pop = Population()
    pop.add(_cand("big", 1024), _verdict(3.0))
    pop.add(_cand("small", 64), _verdict(1.1))
    assert len(pop) == 2, "a different schedule is a different cell, kept even though slower"
    assert features(_cand("x", 64)) != features(_cand("x", 1024))


def test_population_ranks_by_candidate_time_without_baselines():
    pop = Population()
    assert pop.add(_cand("slow"), _ranked_only(0.9))
    assert pop.add(_cand("fast"), _ranked_only(0.3)), "lower median time is fitter"
    assert not pop.add(_cand("slower"), _ranked_only(0.5))
    assert not pop.add(_cand("untimed"), _verdict(0.0, outcome=V.VERDICT_OUTCOME_VERIFIED_UNTIMED))
    assert pop.best().verdict.timings.candidate.median_ms == 0.3
    other = _cand("other cell", 1024)
    pop.add(other, _verdict(0.0, outcome=V.VERDICT_OUTCOME_VERIFIED_UNTIMED))
    assert [e.verdict.timings.candidate.median_ms for e in pop.elites()] == [0.3, 0.0], "untimed ranks last"


def test_ties_go_to_the_older_candidate():
    pop = Population()
    first = _cand("first")
    pop.add(first, _verdict(0.0, outcome=V.VERDICT_OUTCOME_VERIFIED_UNTIMED))
    pop.add(_cand("second"), _verdict(0.0, outcome=V.VERDICT_OUTCOME_VERIFIED_UNTIMED))
    assert pop.best().candidate.id == first.id


def test_selection_favours_speed_and_pairs_come_from_different_cells():
    pop = Population()
    pop.add(_cand("a", 64), _verdict(1.0, 0.5))
    pop.add(_cand("b", 256), _verdict(4.0, 0.8))
    pop.add(_cand("c", 1024), _verdict(2.0, 1.5))
    rng = random.Random(0)
    picks = [pop.select(rng).verdict.timings.speedup_vs_eager for _ in range(300)]
    assert picks.count(4.0) > picks.count(1.0) * 2
    for _ in range(20):
        a, b = pop.select_pair(rng)
        assert a is not b and features(a.candidate) != features(b.candidate)
    assert Population().select_pair(rng) is None


@pytest.mark.parametrize("budget, fragment", [
    (pb.Budget(), "all zero"),
    (pb.Budget(max_candidates=-1), "max_candidates must be >= 0"),
    (pb.Budget(max_candidates=10**9), "beyond this evolver's limit"),
    (pb.Budget(max_wall_seconds=float("inf")), "finite"),
    (pb.Budget(max_wall_seconds=float("nan")), "finite"),
    (pb.Budget(max_llm_cost_usd=1e12), "max_llm_cost_usd"),
])
def test_bad_budgets_are_refused_with_the_field_named(budget, fragment):
    with pytest.raises(InvalidArgument, match=fragment):
        resolve_budget(budget, SETTINGS)


def test_budget_defaults_fill_fields_left_zero():
    b = resolve_budget(pb.Budget(max_candidates=5), SETTINGS)
    assert b.max_candidates == 5 and b.max_generations == SETTINGS.default_max_generations
    assert resolve_budget(None, SETTINGS).max_candidates == SETTINGS.default_max_candidates


def test_tracker_carries_wall_time_across_restarts_and_names_the_limit():
    now = [100.0]
    t = BudgetTracker(pb.Budget(max_candidates=2, max_generations=5, max_wall_seconds=10),
                      pb.BudgetSpent(wall_seconds=4.0), clock=lambda: now[0])
    now[0] += 3
    assert t.tick().wall_seconds == pytest.approx(7.0) and not t.exhausted()
    t.charge_candidate()
    t.charge_candidate()
    assert "candidate budget" in t.exhausted()
    t2 = BudgetTracker(pb.Budget(max_candidates=9, max_generations=5, max_wall_seconds=10),
                       pb.BudgetSpent(wall_seconds=9.5), clock=lambda: now[0])
    now[0] += 1
    assert "wall-time" in t2.exhausted()


def test_proposer_weights():
    assert parse_weights("builtin=1, anthropic=0.5,openai") == {"builtin": 1.0, "anthropic": 0.5, "openai": 1.0}
    with pytest.raises(InvalidArgument, match="unknown proposer"):
        validate_weights({"nonsense": 1.0})
    with pytest.raises(InvalidArgument, match="positive weight"):
        validate_weights({"builtin": 0.0})
    with pytest.raises(InvalidArgument, match=">= 0"):
        validate_weights({"builtin": -1.0})


def test_store_is_idempotent_by_candidate_id(tmp_path):
    store = RunStore(str(tmp_path / "runs.sqlite"))
    run_id, created = store.create_run(_task(), pb.Budget(max_candidates=3),
                                       {"builtin": 1.0}, "", request_id="req-1")
    assert created and store.create_run(_task(), pb.Budget(), {}, "", request_id="req-1") == (run_id, False)
    c = _cand("one")
    assert store.add_candidates(run_id, 0, [(c, "seed")]) == [c]
    assert store.add_candidates(run_id, 1, [(c, "mutate")]) == [], "the same kernel twice is one candidate"
    store.record_verdict(run_id, c.id, _verdict(1.5), pb.BudgetSpent(candidates=1), c.id)
    store.close()
    reopened = RunStore(str(tmp_path / "runs.sqlite"))
    assert reopened.get_run(run_id).best_id == c.id
    assert reopened.outcome_counts(run_id) == {"VERDICT_OUTCOME_ACCEPTED": 1}
    assert reopened.unfinished_runs() == [run_id]


def _task():
    from kernelwright.common.v1 import task_pb2

    return task_pb2.Task(name="t", source="x = 1\n")
