"""Candidate-only timing during the search, full baselines for the winner (KW_EVOLVER_SEARCH_TIMING).

The simulated evaluator times a candidate from a stable hash of its source and, unless the request says
skip_baselines, adds eager and torch.compile timings with speedups. A spy on the evaluator's pool sees
every request as the evaluator received it over gRPC.
"""

from __future__ import annotations

import asyncio

import grpc
import pytest

from kernelwright.archive.v1 import archive_pb2, archive_pb2_grpc
from kernelwright.evolver.population import features
from kernelwright.evolver.store import SELECTION_SUFFIX, RunStore
from kernelwright.evolver.v1 import evolver_pb2 as pb
from tests.evolver import scripted
from tests.evolver.conftest import TASK, watch_to_end

pytestmark = [pytest.mark.integration, pytest.mark.slow]
FINAL_REEVALUATIONS = 2


@pytest.fixture(autouse=True)
def proposer():
    return scripted.register("scripted-ok", marker="SLOW:0.02")


@pytest.fixture
def requests(mesh, monkeypatch):
    """Every (candidate id, baselines timed?) the evaluator was asked for, in order."""
    pool = mesh["evaluator_pool"]
    seen: list[tuple[str, bool]] = []
    real = pool.evaluate

    async def spy(task_source, candidate, options, timeout_s):
        seen.append((candidate.id, options["baselines"]))
        return await real(task_source, candidate, options, timeout_s)

    monkeypatch.setattr(pool, "evaluate", spy)
    return seen


async def _archived(mesh) -> list[archive_pb2.ArchiveEntry]:
    async with grpc.aio.insecure_channel(mesh["archive"]) as channel:
        stub = archive_pb2_grpc.ArchiveServiceStub(channel)
        return [e async for reply in stub.ExportEntries(archive_pb2.ExportEntriesRequest()) for e in reply.entries]


def _store(tmp_path) -> RunStore:
    return RunStore(str(tmp_path / "evolver.sqlite"))


async def test_candidate_timing_searches_without_baselines_and_reports_full_verdicts(mesh, requests, tmp_path):
    stub = (await mesh["boot"](search_timing="candidate", final_reevaluations=FINAL_REEVALUATIONS))["stub"]
    run_id = (await stub.StartRun(pb.StartRunRequest(task=TASK, budget=pb.Budget(max_candidates=8)))).run_id
    events = await watch_to_end(stub, run_id)
    last = events[-1]
    assert last.state == pb.RUN_STATE_SUCCEEDED, last.message

    store = _store(tmp_path)
    searched = store.candidates(run_id)
    stored = store.final_verdicts(run_id)
    store.close()
    finals = {k: v for k, v in stored.items() if not k.endswith(SELECTION_SUFFIX)}
    searched_ids = {c.candidate.id for c in searched}
    assert len(searched_ids) == 8
    search_requests = [r for r in requests if not r[1]]
    full_requests = [r for r in requests if r[1]]
    assert {cid for cid, _ in search_requests} == searched_ids, "every search candidate is timed alone"
    # The top-k elites, each evaluated in full once, then the leader once more (its confirmation).
    assert len(full_requests) == FINAL_REEVALUATIONS + 1 and len(finals) == FINAL_REEVALUATIONS
    assert set(finals) == {cid for cid, _ in full_requests} <= searched_ids
    assert requests.index(full_requests[0]) >= len(search_requests), "the full evaluations come after the search"
    cell_best: dict = {}
    for c in searched:  # each MAP-Elites cell's fastest by its candidate-only time
        cell = features(c.candidate)
        ms = c.verdict.timings.candidate.median_ms
        if cell not in cell_best or ms < cell_best[cell][0]:
            cell_best[cell] = (ms, c.candidate.id)
    assert set(finals) == {cid for _, cid in sorted(cell_best.values())[:FINAL_REEVALUATIONS]}

    run = (await stub.GetRun(pb.GetRunRequest(run_id=run_id))).run
    t = run.best_verdict.timings
    assert run.best.id in finals and run.best_verdict == finals[run.best.id], "GetRun reports the full verdict"
    assert full_requests[-1][0] == run.best.id and run.best.id + SELECTION_SUFFIX in stored, "the winner, confirmed"
    assert t.eager.median_ms > 0 and t.compiled.median_ms > 0 and t.speedup_vs_eager > 0 and t.speedup_vs_compile > 0
    assert run.best.id == min(finals, key=lambda cid: finals[cid].timings.candidate.median_ms)
    assert last.best_speedup_vs_eager == pytest.approx(t.speedup_vs_eager)
    assert last.best_candidate_ms == pytest.approx(t.candidate.median_ms)
    assert f"{t.speedup_vs_eager:.3g}x vs eager" in last.message

    # While searching, the best candidate's time is known but no speedup is claimed.
    assert any(e.best_candidate_ms > 0 and e.best_speedup_vs_eager == 0 == e.best_speedup_vs_compile
               for e in events), "during the search: the best time, no speedup"

    entries = await _archived(mesh)
    assert entries and all(e.speedup_eager > 0 and e.eager_ms > 0 and e.compile_ms > 0 for e in entries)
    assert len(entries) <= FINAL_REEVALUATIONS, "only elites with a full verdict are archived"


async def test_full_timing_sends_no_skip_baselines_and_no_final_reevaluation(mesh, requests, tmp_path):
    stub = (await mesh["boot"](search_timing="full"))["stub"]
    run_id = (await stub.StartRun(pb.StartRunRequest(task=TASK, budget=pb.Budget(max_candidates=6)))).run_id
    last = (await watch_to_end(stub, run_id))[-1]
    assert last.state == pb.RUN_STATE_SUCCEEDED, last.message
    assert requests and all(baselines for _, baselines in requests)
    assert len(requests) == 7, "one evaluation per candidate, then only the leader's confirmation"
    store = _store(tmp_path)
    best = store.get_run(run_id).best_id
    assert set(store.final_verdicts(run_id)) == {best, best + SELECTION_SUFFIX}
    store.close()
    assert last.best_speedup_vs_eager > 0
    assert all(e.speedup_eager > 0 for e in await _archived(mesh))


class HoldSecondFullEvaluation:
    """Wraps a dispatcher: the first full evaluation goes through, the second never returns (the evolver is
    killed while it waits). ``holding`` is set once the first one's verdict has been stored."""

    def __init__(self, real) -> None:
        self.real = real
        self.full = 0
        self.holding = asyncio.Event()

    async def evaluate(self, run_id, pool, task, candidate, *, skip_baselines=False, measurement=0):
        if skip_baselines:
            return await self.real.evaluate(run_id, pool, task, candidate, skip_baselines=True)
        if measurement:  # the confirmation after the final full evaluations
            return await self.real.evaluate(run_id, pool, task, candidate, measurement=measurement)
        self.full += 1
        if self.full > 1:
            await asyncio.Event().wait()
        verdict = await self.real.evaluate(run_id, pool, task, candidate)
        # The caller stores the verdict synchronously after this returns; signal once that step is done.
        asyncio.get_running_loop().call_soon(self.holding.set)
        return verdict


async def test_restart_between_search_end_and_final_reevaluation_redoes_only_what_is_missing(
        mesh, requests, tmp_path):
    first = await mesh["boot"](search_timing="candidate", final_reevaluations=FINAL_REEVALUATIONS)
    executor = first["evolver"].manager.executor
    gate = HoldSecondFullEvaluation(executor.dispatcher)
    executor.dispatcher = gate
    run_id = (await first["stub"].StartRun(pb.StartRunRequest(task=TASK, budget=pb.Budget(max_candidates=8)))).run_id
    async with asyncio.timeout(120):
        await gate.holding.wait()
    await mesh["kill"](first)

    store = _store(tmp_path)
    record = store.get_run(run_id)
    done = store.final_verdicts(run_id)
    store.close()
    assert record.state == pb.RUN_STATE_RUNNING and record.search_stopped, "the search had ended"
    assert len(done) == 1
    searched_before = sum(1 for _, baselines in requests if not baselines)

    requests.clear()
    second = await mesh["boot"](search_timing="candidate", final_reevaluations=FINAL_REEVALUATIONS)
    last = (await watch_to_end(second["stub"], run_id))[-1]
    assert last.state == pb.RUN_STATE_SUCCEEDED, last.message
    assert searched_before == 8
    # Only the missing full evaluation and the leader's confirmation; the search is not resumed.
    assert len(requests) == 2 and all(baselines for _, baselines in requests)
    assert requests[0][0] not in done
    store = _store(tmp_path)
    finals = {k: v for k, v in store.final_verdicts(run_id).items() if not k.endswith(SELECTION_SUFFIX)}
    store.close()
    assert len(finals) == FINAL_REEVALUATIONS
    leader = requests[1][0]
    assert {k: v for k, v in done.items() if k != leader}.items() <= finals.items()
    run = (await second["stub"].GetRun(pb.GetRunRequest(run_id=run_id))).run
    assert run.best_verdict.timings.eager.median_ms > 0 and run.best_verdict.timings.speedup_vs_compile > 0
    assert run.archived


@pytest.fixture
def confirmations(mesh, monkeypatch):
    """The pool answers each candidate's first confirmation (measurement 1) by a rule set per test:
    ``rule["slow"]`` times it 100x slower for the first candidate confirmed, ``rule["fail"]`` makes it a
    WRONG_ANSWER. Records (candidate id, measurement) of every full request."""
    from kernelwright.common.v1 import verdict_pb2

    pool = mesh["evaluator_pool"]
    real = pool.evaluate
    state = {"rule": "", "seen": []}

    async def spy(task_source, candidate, options, timeout_s):
        verdict = await real(task_source, candidate, options, timeout_s)
        if options["baselines"]:
            state["seen"].append((candidate.id, options["measurement"]))
        first_confirmation = options["measurement"] == 1 and not any(
            m == 1 for _, m in state["seen"][:-1])
        if first_confirmation and state["rule"] == "slow":
            t = verdict.timings
            t.candidate.median_ms *= 100
            t.speedup_vs_eager /= 100
            t.speedup_vs_compile /= 100
        elif first_confirmation and state["rule"] == "fail":
            verdict.outcome, verdict.correct = verdict_pb2.VERDICT_OUTCOME_WRONG_ANSWER, False
            verdict.message = "output 0: 3 of 64 elements outside atol=0.0001 rtol=0.0001 (flaky)"
        return verdict

    monkeypatch.setattr(pool, "evaluate", spy)
    return state


@pytest.mark.parametrize("rule", ["slow", "fail"])
async def test_a_leader_that_does_not_hold_up_hands_the_lead_over(mesh, confirmations, rule, tmp_path):
    confirmations["rule"] = rule
    stub = (await mesh["boot"](search_timing="candidate", final_reevaluations=FINAL_REEVALUATIONS))["stub"]
    run_id = (await stub.StartRun(pb.StartRunRequest(task=TASK, budget=pb.Budget(max_candidates=8)))).run_id
    last = (await watch_to_end(stub, run_id))[-1]
    assert last.state == pb.RUN_STATE_SUCCEEDED, last.message
    full = confirmations["seen"]
    selections = [cid for cid, m in full if m == 0]
    confirmed = [cid for cid, m in full if m == 1]
    assert len(selections) == FINAL_REEVALUATIONS and len(confirmed) == 2, full
    first, second = confirmed
    assert first != second and set(confirmed) == set(selections), "both finalists confirmed, each once"
    run = (await stub.GetRun(pb.GetRunRequest(run_id=run_id))).run
    store = _store(tmp_path)
    stored = store.final_verdicts(run_id)
    store.close()
    assert run.best.id == second, "the first leader fell behind (or failed): the other one won"
    assert run.best_verdict == stored[second], "its confirmation is what is reported"
    assert stored[second + SELECTION_SUFFIX].timings.candidate.median_ms > 0
    if rule == "fail":
        assert stored[first].outcome == verdict_pb2_outcome("WRONG_ANSWER")
    else:
        assert stored[first].timings.candidate.median_ms == pytest.approx(
            100 * stored[first + SELECTION_SUFFIX].timings.candidate.median_ms)


def verdict_pb2_outcome(name: str) -> int:
    from kernelwright.common.v1 import verdict_pb2

    return verdict_pb2.VerdictOutcome.Value(f"VERDICT_OUTCOME_{name}")


async def test_confirmation_off_reports_the_selecting_measurement(mesh, requests, tmp_path):
    stub = (await mesh["boot"](search_timing="candidate", final_reevaluations=FINAL_REEVALUATIONS,
                               confirm_winner=False))["stub"]
    run_id = (await stub.StartRun(pb.StartRunRequest(task=TASK, budget=pb.Budget(max_candidates=8)))).run_id
    last = (await watch_to_end(stub, run_id))[-1]
    assert last.state == pb.RUN_STATE_SUCCEEDED, last.message
    assert len([r for r in requests if r[1]]) == FINAL_REEVALUATIONS
    store = _store(tmp_path)
    assert not any(k.endswith(SELECTION_SUFFIX) for k in store.final_verdicts(run_id))
    store.close()


def test_an_old_state_file_gets_the_new_column_on_open(tmp_path):
    import sqlite3

    path = tmp_path / "old.sqlite"
    RunStore(str(path)).close()
    db = sqlite3.connect(path)
    db.execute("ALTER TABLE runs DROP COLUMN search_stopped")
    db.commit()
    db.close()
    store = RunStore(str(path))
    run_id, _ = store.create_run(TASK, pb.Budget(max_candidates=1), {"builtin": 1.0}, "")
    assert store.get_run(run_id).search_stopped == ""
    store.update_run(run_id, search_stopped="converged")
    assert store.get_run(run_id).search_stopped == "converged"
    store.close()
