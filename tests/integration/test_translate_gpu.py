"""Stage 2 on a real GPU: the builtin proposer's candidate verified by a real gpu-evaluator worker.

Skipped without CUDA. Uses the bundled level-1 ReLU task (tests/data/kernelbench) so it needs no
benchmark checkout; the dev-set run is ``kernelwright translate`` (docs/translator.md).
"""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from kernelwright.common.v1 import task_pb2, verdict_pb2
from kernelwright.translator.settings import TranslatorSettings
from kernelwright.translator.v1 import translator_pb2 as pb
from kernelwright.translator.v1 import translator_pb2_grpc

from .conftest import start

pytestmark = [pytest.mark.integration, pytest.mark.gpu, pytest.mark.slow]

RELU = Path(__file__).parents[1] / "data" / "kernelbench" / "level1_19_ReLU.py"


@pytest.mark.timeout(900)
async def test_builtin_relu_verified_on_the_gpu(tmp_path, monkeypatch):
    from kernelwright.gpu_evaluator.__main__ import bindings as evaluator_bindings
    from kernelwright.gpu_evaluator.__main__ import build_pool
    from kernelwright.gpu_evaluator.settings import GpuEvaluatorSettings
    from kernelwright.translator.__main__ import bindings as translator_bindings

    monkeypatch.setenv("KW_STATE_DIR", str(tmp_path / "state"))
    ev_settings = GpuEvaluatorSettings(gpus="0", cache_dir=str(tmp_path / "cache"), pool="gpu")
    pool = build_pool(ev_settings)
    await pool.start()
    ev_server, ev_port = await start(ev_settings, evaluator_bindings(ev_settings, pool))
    # No converter: the builtin generator works from the task source; the evaluator checks against the task.
    tr_settings = TranslatorSettings(evaluator_pools=f"gpu=127.0.0.1:{ev_port}", converter_addr="")
    servicer, services = translator_bindings(tr_settings)
    tr_server, tr_port = await start(tr_settings, services)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{tr_port}") as channel:
            stub = translator_pb2_grpc.TranslatorServiceStub(channel)
            r = await stub.Translate(pb.TranslateRequest(
                task=task_pb2.Task(name="19_ReLU", source=RELU.read_text()), proposers=["builtin"]), timeout=800)
    finally:
        await tr_server.stop(0)
        await servicer.close()
        await ev_server.stop(0)
        await pool.stop()
    log = "\n".join(f"{a.proposer} {verdict_pb2.VerdictOutcome.Name(a.verdict.outcome)} {a.verdict.message}"
                    for a in r.attempts)
    assert r.translated, f"{r.message}\n{log}"
    assert r.verdict.outcome == verdict_pb2.VERDICT_OUTCOME_VERIFIED_UNTIMED and r.verdict.correct
    assert r.verdict.hardware.gpu_name and r.candidate.proposer == "builtin"
