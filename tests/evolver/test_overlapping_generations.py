"""Stage 3 without a per-generation barrier (KW_EVOLVER_GENERATIONS_IN_FLIGHT), against a dispatcher the
test controls: each evaluation waits until the test (or a driver) answers it."""

from __future__ import annotations

import asyncio

import pytest

from kernelwright.common.v1 import task_pb2, verdict_pb2
from kernelwright.evolver.budget import BudgetTracker
from kernelwright.evolver.ensemble import Ensemble
from kernelwright.evolver.evolution import RunExecutor, _Context
from kernelwright.evolver.settings import EvolverSettings
from kernelwright.evolver.store import RunStore
from kernelwright.evolver.v1 import evolver_pb2 as pb
from tests.evolver.scripted import register


class HeldDispatcher:
    """Every evaluate() waits for the test to answer it; ``log`` has ("start"|"done", candidate id)."""

    def __init__(self) -> None:
        self.pending: dict[str, asyncio.Future] = {}
        self.log: list[tuple[str, str]] = []
        self.changed = asyncio.Condition()

    async def evaluate(self, run_id, target_pool, task, candidate, skip_baselines=False):
        future = asyncio.get_running_loop().create_future()
        async with self.changed:
            self.pending[candidate.id] = future
            self.log.append(("start", candidate.id))
            self.changed.notify_all()
        verdict = await future
        self.log.append(("done", candidate.id))
        return verdict

    async def until(self, predicate) -> None:
        async with self.changed:
            await self.changed.wait_for(predicate)

    def answer(self, candidate_id: str, ms: float = 1.0) -> None:
        v = verdict_pb2.Verdict(outcome=verdict_pb2.VERDICT_OUTCOME_ACCEPTED, candidate_id=candidate_id)
        v.timings.candidate.median_ms = ms
        self.pending.pop(candidate_id).set_result(v)


def _executor(depth: int, candidates: int):
    register("scripted-overlap", per_call=1)
    settings = EvolverSettings(state_path=":memory:", proposer_weights="scripted-overlap=1",
                               offspring_per_generation=2, generations_in_flight=depth, stale_generations=2)
    store = RunStore(":memory:")
    budget = pb.Budget(max_candidates=candidates, max_generations=50, max_wall_seconds=60, max_llm_cost_usd=1)
    run_id, _ = store.create_run(task_pb2.Task(name="t", source="x"), budget, {"scripted-overlap": 1.0}, "sim")
    dispatcher = HeldDispatcher()
    executor = RunExecutor(settings, store, dispatcher, channels=None, publish=lambda _run: None)
    record = store.get_run(run_id)
    ctx = _Context(record, BudgetTracker(record.budget, record.spent), Ensemble(record.proposers))
    return executor, ctx, dispatcher, store


async def _answer_oldest_first(dispatcher: HeldDispatcher) -> None:
    while True:
        await dispatcher.until(lambda: dispatcher.pending)
        dispatcher.answer(next(iter(dispatcher.pending)))


def _generations(store: RunStore, run_id: str) -> dict[str, int]:
    return {c.candidate.id: c.generation for c in store.candidates(run_id)}


async def test_next_generation_is_sent_while_the_previous_one_is_still_evaluated():
    executor, ctx, dispatcher, store = _executor(depth=2, candidates=8)
    search = asyncio.create_task(executor._evolve(ctx))
    async with asyncio.timeout(10):
        # Generation 1 (2 candidates) is held unanswered; generation 2 must still be sent.
        await dispatcher.until(lambda: len(dispatcher.pending) == 4)
        gens = _generations(store, ctx.run_id)
        assert sorted(gens[c] for c in dispatcher.pending) == [1, 1, 2, 2]
        # Never more than two generations at once: a third waits for the first to be answered.
        assert not search.done()
        first = [c for c in dispatcher.pending if gens[c] == 1]
        for c in first:
            dispatcher.answer(c)
        await dispatcher.until(lambda: len(dispatcher.pending) == 4)
        gens = _generations(store, ctx.run_id)
        assert sorted(gens[c] for c in dispatcher.pending) == [2, 2, 3, 3]
        driver = asyncio.create_task(_answer_oldest_first(dispatcher))
        why = await search
    driver.cancel()
    assert why == "candidate budget spent (8)"
    # Every candidate sent before the budget ended got its verdict: nothing is left pending.
    assert len(store.candidates(ctx.run_id)) == 8
    assert not store.candidates(ctx.run_id, pending_only=True)


async def _let_the_run_go_on() -> None:
    # A bounded number of event-loop turns (no clock): far more than the evolver needs to breed and send
    # a generation (measured: under 10), so whatever it would send is sent by then.
    for _ in range(200):
        await asyncio.sleep(0)


async def test_one_generation_in_flight_keeps_the_barrier():
    executor, ctx, dispatcher, store = _executor(depth=1, candidates=6)
    search = asyncio.create_task(executor._evolve(ctx))
    async with asyncio.timeout(10):
        await dispatcher.until(lambda: len(dispatcher.pending) == 2)
        await _let_the_run_go_on()
        gens = _generations(store, ctx.run_id)
        assert sorted(gens[c] for c in dispatcher.pending) == [1, 1]
        first, second = list(dispatcher.pending)
        dispatcher.answer(first)
        await _let_the_run_go_on()
        # One candidate of generation 1 is still out: generation 2 waits for it.
        assert list(dispatcher.pending) == [second] and len(store.candidates(ctx.run_id)) == 2
        dispatcher.answer(second)
        await dispatcher.until(lambda: len(dispatcher.pending) == 2)
        gens = _generations(store, ctx.run_id)
        assert sorted(gens[c] for c in dispatcher.pending) == [2, 2]
        driver = asyncio.create_task(_answer_oldest_first(dispatcher))
        why = await search
    driver.cancel()
    assert why == "candidate budget spent (6)"
    assert not store.candidates(ctx.run_id, pending_only=True)


async def test_a_failing_evaluation_cancels_the_generations_in_flight():
    executor, ctx, dispatcher, store = _executor(depth=2, candidates=8)
    search = asyncio.create_task(executor._evolve(ctx))
    async with asyncio.timeout(10):
        await dispatcher.until(lambda: len(dispatcher.pending) == 4)
        failing = next(iter(dispatcher.pending))
        held = [f for c, f in dispatcher.pending.items() if c != failing]
        dispatcher.pending.pop(failing).set_exception(RuntimeError("evaluator refused"))
        with pytest.raises(RuntimeError, match="evaluator refused"):
            await search
    # The other evaluations in flight (both generations) were cancelled, not left running; their
    # candidates stay pending in the store, and a resumed run sends them again.
    assert len(held) == 3 and all(f.cancelled() for f in held)
    assert len(store.candidates(ctx.run_id, pending_only=True)) == 4
