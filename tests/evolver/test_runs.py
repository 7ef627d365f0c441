"""The evolver over real gRPC: runs end to end against a converter, a simulated evaluator and an archive."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from kernelwright.archive.v1 import archive_pb2, archive_pb2_grpc
from kernelwright.evolver.store import RunStore
from kernelwright.evolver.v1 import evolver_pb2 as pb
from tests.evolver import scripted
from tests.evolver.conftest import FINAL, RAISES, TASK, watch_to_end

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(autouse=True)
def proposers():
    return {
        "ok": scripted.register("scripted-ok", marker="SLOW:0.05"),
        "fail": scripted.register("scripted-fail", marker="FATAL"),
        "slow": scripted.register("scripted-slow", marker="SLOW:0.3"),
    }


async def test_a_run_finishes_with_a_best_candidate_and_archives_it(mesh, proposers):
    ev = await mesh["boot"]()
    stub = ev["stub"]
    run_id = (await stub.StartRun(pb.StartRunRequest(task=TASK, budget=pb.Budget(max_candidates=10,
                                                                                  max_generations=4)))).run_id
    events = await watch_to_end(stub, run_id)
    last = events[-1]
    assert last.state == pb.RUN_STATE_SUCCEEDED, last.message
    assert {e.stage for e in events} >= {pb.STAGE_CONVERT, pb.STAGE_EVOLVE, pb.STAGE_ARCHIVE}
    assert last.candidates_evaluated == 10 and last.outcomes["VERDICT_OUTCOME_ACCEPTED"] == 10
    run = (await stub.GetRun(pb.GetRunRequest(run_id=run_id))).run
    assert run.best.id and run.best_verdict.candidate_id == run.best.id and run.archived
    assert run.spent.candidates == 10 and run.spent.generations >= 1
    assert any(r.history for r in proposers["ok"].calls), "mutation gives the proposer its parent and verdict"
    # Stage 4 wrote the winner; a later run of the same task finds it as a stepping stone.
    import grpc as _grpc
    async with _grpc.aio.insecure_channel(mesh["archive"]) as channel:
        stats = await archive_pb2_grpc.ArchiveServiceStub(channel).GetStats(archive_pb2.GetStatsRequest())
    assert stats.verified >= 1
    listed = (await stub.ListRuns(pb.ListRunsRequest(states=[pb.RUN_STATE_SUCCEEDED]))).runs
    assert [r.id for r in listed] == [run_id]


@pytest.mark.parametrize("budget, fragment", [
    (pb.Budget(), "all zero"),
    (pb.Budget(max_candidates=10**9), "limit"),
    (pb.Budget(max_generations=-3), ">= 0"),
])
async def test_bad_budgets_are_invalid_argument(mesh, budget, fragment):
    stub = (await mesh["boot"]())["stub"]
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.StartRun(pb.StartRunRequest(task=TASK, budget=budget))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT and fragment in info.value.details()


async def test_unknown_proposer_missing_task_and_unknown_run(mesh):
    stub = (await mesh["boot"]())["stub"]
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.StartRun(pb.StartRunRequest(task=TASK, proposers=[pb.ProposerWeight(name="gpt-9000", weight=1)]))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "unknown proposer" in info.value.details()
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.StartRun(pb.StartRunRequest())
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    for call in (stub.GetRun(pb.GetRunRequest(run_id="nope")), stub.CancelRun(pb.CancelRunRequest(run_id="nope"))):
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await call
        assert info.value.code() == grpc.StatusCode.NOT_FOUND


async def test_stage_one_failure_ends_failed_with_the_reason(mesh):
    stub = (await mesh["boot"]())["stub"]
    run_id = (await stub.StartRun(pb.StartRunRequest(task=RAISES))).run_id
    last = (await watch_to_end(stub, run_id))[-1]
    assert last.state == pb.RUN_STATE_FAILED and "stage 1" in last.message and "TASK_ERROR" in last.message


async def test_all_candidates_failing_ends_failed_with_no_winner(mesh):
    stub = (await mesh["boot"]())["stub"]
    run_id = (await stub.StartRun(pb.StartRunRequest(
        task=TASK, budget=pb.Budget(max_candidates=6), proposers=[pb.ProposerWeight(name="scripted-fail", weight=1)]
    ))).run_id
    last = (await watch_to_end(stub, run_id))[-1]
    assert last.state == pb.RUN_STATE_FAILED and "no verified candidate" in last.message
    assert last.outcomes["VERDICT_OUTCOME_RUNTIME_ERROR"] == 6
    # the first failing verdict's own message travels with the run, so a failed task says why
    assert "; first (" in last.message and last.message.split("; first (", 1)[1].split("): ", 1)[1].strip()
    run = (await stub.GetRun(pb.GetRunRequest(run_id=run_id))).run
    assert not run.best.id


async def test_cancel_ends_the_run_and_the_watch(mesh):
    stub = (await mesh["boot"]())["stub"]
    run_id = (await stub.StartRun(pb.StartRunRequest(
        task=TASK, budget=pb.Budget(max_candidates=200), proposers=[pb.ProposerWeight(name="scripted-slow", weight=1)]
    ))).run_id
    watch = asyncio.ensure_future(watch_to_end(stub, run_id))
    cancelled = (await stub.CancelRun(pb.CancelRunRequest(run_id=run_id))).run
    assert cancelled.state == pb.RUN_STATE_CANCELLED
    assert (await watch)[-1].state == pb.RUN_STATE_CANCELLED
    again = (await stub.CancelRun(pb.CancelRunRequest(run_id=run_id))).run
    assert again.state == pb.RUN_STATE_CANCELLED, "cancelling an ended run returns its state"


async def test_restart_mid_run_resumes_and_loses_no_verified_candidate(mesh, tmp_path):
    first = await mesh["boot"]()
    request = pb.StartRunRequest(task=TASK, budget=pb.Budget(max_candidates=16, max_generations=20),
                                 proposers=[pb.ProposerWeight(name="scripted-slow", weight=1)], request_id="resume-1")
    run_id = (await first["stub"].StartRun(request)).run_id
    async with asyncio.timeout(120):
        async for reply in first["stub"].WatchRun(pb.WatchRunRequest(run_id=run_id)):
            if reply.progress.candidates_evaluated >= 3:
                break
    await mesh["kill"](first)
    store = RunStore(str(tmp_path / "evolver.sqlite"))
    before = {c.candidate.id for c in store.candidates(run_id) if c.verified}
    assert store.get_run(run_id).state == pb.RUN_STATE_RUNNING and len(before) >= 3
    store.close()

    second = await mesh["boot"]()
    assert (await second["stub"].StartRun(request)).run_id == run_id, "request_id is an idempotency key"
    last = (await watch_to_end(second["stub"], run_id))[-1]
    assert last.state == pb.RUN_STATE_SUCCEEDED, last.message
    run = (await second["stub"].GetRun(pb.GetRunRequest(run_id=run_id))).run
    assert run.spent.candidates == 16 and last.candidates_evaluated == 16
    store = RunStore(str(tmp_path / "evolver.sqlite"))
    after = {c.candidate.id for c in store.candidates(run_id) if c.verified}
    store.close()
    assert before <= after


async def test_fifty_concurrent_start_runs_each_get_an_answer(mesh):
    stub = (await mesh["boot"](max_active_runs=8, max_queued_runs=40))["stub"]
    requests = [pb.StartRunRequest(task=TASK, budget=pb.Budget(max_candidates=2, max_generations=1))
                for _ in range(50)]
    results = await asyncio.gather(*(stub.StartRun(r) for r in requests), return_exceptions=True)
    started = [r.run_id for r in results if isinstance(r, pb.StartRunResponse)]
    refused = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(started) + len(refused) == 50
    assert all(r.code() == grpc.StatusCode.RESOURCE_EXHAUSTED for r in refused)
    assert len(started) >= 40
    finals = await asyncio.gather(*(watch_to_end(stub, run_id, timeout_s=240) for run_id in started))
    assert all(events[-1].state in FINAL for events in finals)
    assert all(events[-1].state == pb.RUN_STATE_SUCCEEDED for events in finals), \
        {e[-1].message for e in finals}


async def test_seeding_takes_seed_candidates_per_proposer_and_leaves_the_rest_to_evolution(mesh, tmp_path):
    wide = scripted.register("scripted-wide", marker="SLOW:0.05", per_call=6)
    ev = await mesh["boot"](proposer_weights="scripted-wide=1", seed_candidates=2)
    stub = ev["stub"]
    run_id = (await stub.StartRun(pb.StartRunRequest(task=TASK, budget=pb.Budget(max_candidates=8)))).run_id
    last = (await watch_to_end(stub, run_id))[-1]
    assert last.state == pb.RUN_STATE_SUCCEEDED, last.message
    store = RunStore(str(tmp_path / "evolver.sqlite"))
    generations = [c.generation for c in store.candidates(run_id)]
    assert generations.count(0) == 2, "the proposer offered 6 seeds; only seed_candidates are taken"
    assert len(generations) == 8 and max(generations) >= 1
    assert wide.calls[0].history == [], "the seed call is a plain translation"
