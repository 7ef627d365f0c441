"""The dispatcher against a scripted evaluator: fair sharing between runs, back-pressure honoured."""

from __future__ import annotations

import asyncio

import pytest

from kernelwright.common.v1 import task_pb2, verdict_pb2
from kernelwright.core.discovery import PoolRouter, StaticPoolDirectory, parse_static_pools
from kernelwright.core.errors import ResourceExhausted
from kernelwright.core.settings import ServiceSettings
from kernelwright.core.server import binding
from kernelwright.evolver.dispatcher import EvaluatorDispatcher
from kernelwright.gpu_evaluator.pool import candidate_id
from kernelwright.gpu_evaluator.v1 import gpu_evaluator_pb2 as epb
from kernelwright.gpu_evaluator.v1 import gpu_evaluator_pb2_grpc as egrpc
from tests.evolver.scripted import fast_candidate
from tests.integration.conftest import start

pytestmark = pytest.mark.integration


class OneAtATimeEvaluator(egrpc.GpuEvaluatorServiceServicer):
    """Runs one candidate at a time; refuses the first call with a retry hint, as a full queue does."""

    def __init__(self) -> None:
        self.order: list[str] = []
        self.refused = 0
        self.busy = asyncio.Lock()

    async def Evaluate(self, request, context):
        if not self.refused:
            self.refused += 1
            raise ResourceExhausted("queue full", retry_after_ms=50)
        async with self.busy:
            self.order.append(request.candidate.proposer)
            await asyncio.sleep(0)   # yield so other calls queue behind the lock
        return epb.EvaluateResponse(verdict=verdict_pb2.Verdict(
            candidate_id=request.candidate.id, outcome=verdict_pb2.VERDICT_OUTCOME_ACCEPTED))


async def test_runs_share_one_evaluator_fairly_and_retry_after_back_pressure():
    fake = OneAtATimeEvaluator()
    settings = ServiceSettings()
    server, port = await start(settings, [binding(epb, "GpuEvaluatorService",
                                                  egrpc.add_GpuEvaluatorServiceServicer_to_server, fake)])
    router = PoolRouter(StaticPoolDirectory(parse_static_pools(f"sim=127.0.0.1:{port}")))
    dispatcher = EvaluatorDispatcher(router, inflight_per_endpoint=1)
    await dispatcher.start()
    task = task_pb2.Task(name="t", source="x = 1\n")

    def cands(run: str, n: int):
        out = []
        for i in range(n):
            c = fast_candidate(f"{run}-{i}")
            c.proposer = run
            c.id = candidate_id(c)
            out.append(c)
        return out

    try:
        big = [dispatcher.evaluate("big", "", task, c) for c in cands("big", 12)]
        small = [dispatcher.evaluate("small", "", task, c) for c in cands("small", 3)]
        verdicts = await asyncio.wait_for(asyncio.gather(*big, *small), 30)
    finally:
        await dispatcher.stop()
        await server.stop(0)
    assert all(v.outcome == verdict_pb2.VERDICT_OUTCOME_ACCEPTED for v in verdicts), "no candidate lost"
    assert fake.refused == 1 and len(fake.order) == 15
    # Round-robin: the small run's three candidates are among the first seven, not after the big run's 12.
    last_small = max(i for i, run in enumerate(fake.order) if run == "small")
    assert last_small <= 6, fake.order
