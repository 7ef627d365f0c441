"""Seeds that come through the translator service are timed before they compete.

The translator verifies candidates without timing them (VERIFIED_UNTIMED); recorded as they were, they
ranked below every timed candidate, so the translator's candidate - the generator's best first guess -
could never win a run (seen on the H100 in session 4: the first candidate of 78/84/88 was never timed).
"""

from __future__ import annotations

import sqlite3

import pytest

from kernelwright.common.v1 import kernel_pb2, verdict_pb2
from kernelwright.evolver.v1 import evolver_pb2 as pb
from tests.evolver.conftest import TASK, watch_to_end
from tests.integration.conftest import start


@pytest.fixture
async def translator(mesh):
    from kernelwright.translator.__main__ import bindings as translator_bindings
    from kernelwright.translator.settings import TranslatorSettings

    settings = TranslatorSettings(converter_addr=mesh["converter"], evaluator_pools=f"sim={mesh['evaluator']}")
    servicer, services = translator_bindings(settings)
    server, port = await start(settings, services)
    yield f"127.0.0.1:{port}"
    await server.stop(0)
    await servicer.close()


def _verdicts(state_path: str, run_id: str) -> list[tuple[str, str, verdict_pb2.Verdict]]:
    with sqlite3.connect(state_path) as db:
        rows = db.execute("SELECT operator, candidate, verdict FROM candidates WHERE run_id = ? ORDER BY seq",
                          (run_id,)).fetchall()
    return [(op, kernel_pb2.KernelCandidate.FromString(c).proposer, verdict_pb2.Verdict.FromString(v))
            for op, c, v in rows if v]


async def test_translator_candidates_are_timed_in_the_search(mesh, translator, tmp_path):
    state = str(tmp_path / "evolver.sqlite")
    stub = (await mesh["boot"](translator_addr=translator, proposer_weights="builtin=1", state_path=state))["stub"]
    run_id = (await stub.StartRun(pb.StartRunRequest(task=TASK, budget=pb.Budget(max_candidates=4)))).run_id
    last = (await watch_to_end(stub, run_id))[-1]
    assert last.state == pb.RUN_STATE_SUCCEEDED, last.message
    rows = _verdicts(state, run_id)
    translated = [v for op, _, v in rows if op == "translate"]
    assert translated, "the translator's seed was not recorded"
    # every verified seed carries a timing, so it competes with the others on speed
    for v in translated:
        assert v.outcome == verdict_pb2.VERDICT_OUTCOME_ACCEPTED, verdict_pb2.VerdictOutcome.Name(v.outcome)
        assert v.timings.candidate.median_ms > 0
    assert not [v for _, _, v in rows if v.outcome == verdict_pb2.VERDICT_OUTCOME_VERIFIED_UNTIMED]


async def test_verify_only_evolver_keeps_the_translator_verdicts(mesh, translator, tmp_path):
    state = str(tmp_path / "evolver.sqlite")
    stub = (await mesh["boot"](translator_addr=translator, proposer_weights="builtin=1", state_path=state,
                               evaluator_verify_only=True))["stub"]
    run_id = (await stub.StartRun(pb.StartRunRequest(task=TASK, budget=pb.Budget(max_candidates=4)))).run_id
    last = (await watch_to_end(stub, run_id))[-1]
    assert last.state == pb.RUN_STATE_SUCCEEDED, last.message
    translated = [v for op, _, v in _verdicts(state, run_id) if op == "translate"]
    assert translated and all(v.outcome == verdict_pb2.VERDICT_OUTCOME_VERIFIED_UNTIMED for v in translated)
