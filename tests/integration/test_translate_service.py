"""Stage 2 end to end without a GPU: converter + simulated gpu-evaluator + translator, real servers on
port 0, the real ``builtin`` proposer, and ``kernelwright translate`` against them.

The simulated worker accepts every candidate (it cannot run CUDA), so what is checked here is the
plumbing: the converter's program reaches the proposer, builtin candidates reach the evaluator, the
verified one comes back and the CLI writes files that ``kernelwright evaluate`` loads unchanged.
"""

from __future__ import annotations

import asyncio
import json

import grpc
import pytest

from kernelwright.common.v1 import kernel_pb2, task_pb2, verdict_pb2
from kernelwright.translator.settings import TranslatorSettings
from kernelwright.translator.v1 import translator_pb2 as pb
from kernelwright.translator.v1 import translator_pb2_grpc

from .conftest import start

pytestmark = pytest.mark.integration

RELU_CHAIN = '''import torch
import torch.nn as nn

class Model(nn.Module):
    def __init__(self, slope):
        super().__init__()
        self.slope = slope

    def forward(self, x):
        return torch.sigmoid(torch.nn.functional.leaky_relu(x, self.slope)) * 2.0

def get_inputs():
    return [torch.randn(8, 1000)]

def get_init_inputs():
    return [0.1]
'''
# An FFT is nothing the built-in generator lowers (complex intermediate values).
FFT = '''import torch
import torch.nn as nn

class Model(nn.Module):
    def forward(self, x):
        return torch.fft.rfft(x).abs()

def get_inputs():
    return [torch.randn(4, 256)]

def get_init_inputs():
    return []
'''


@pytest.fixture(autouse=True)
def no_local_mesh(tmp_path, monkeypatch):
    monkeypatch.setenv("KW_STATE_DIR", str(tmp_path / "state"))


@pytest.fixture(autouse=True)
def logging_to_a_live_stream():
    # `kernelwright` main() points logging at the sys.stderr of its moment, which capsys closes after
    # its test; a later warning logged by a server here would then fail the RPC. Log to the real stderr.
    import sys

    from kernelwright.core.logger import configure_logging

    configure_logging("info", "console", stream=sys.__stderr__)
    yield
    configure_logging("info", "console", stream=sys.__stderr__)


@pytest.fixture
async def mesh(tmp_path):
    """converter + simulated evaluator + translator; yields a dict of addresses."""
    from kernelwright.converter.__main__ import bindings as converter_bindings
    from kernelwright.converter.settings import ConverterSettings
    from kernelwright.gpu_evaluator.__main__ import bindings as evaluator_bindings
    from kernelwright.gpu_evaluator.__main__ import build_pool
    from kernelwright.gpu_evaluator.gpus import fake_gpus
    from kernelwright.gpu_evaluator.settings import GpuEvaluatorSettings
    from kernelwright.gpu_evaluator.simulated_worker import simulated_worker_main
    from kernelwright.translator.__main__ import bindings as translator_bindings

    conv_settings = ConverterSettings(device="cpu", timeout_s=120, max_parallel=2)
    conv_server, conv_port = await start(conv_settings, converter_bindings(conv_settings))

    ev_settings = GpuEvaluatorSettings(gpus="all", cache_dir=str(tmp_path / "cache"), pool="h100",
                                       gpu_product="NVIDIA-H100-80GB-HBM3")
    pool = build_pool(ev_settings, probe=fake_gpus("NVIDIA H100 80GB HBM3;80"))
    for slot in pool.slots:
        slot._target = simulated_worker_main
    await pool.start()
    ev_server, ev_port = await start(ev_settings, evaluator_bindings(ev_settings, pool))

    tr_settings = TranslatorSettings(converter_addr=f"127.0.0.1:{conv_port}",
                                     evaluator_pools=f"h100=127.0.0.1:{ev_port}")
    servicer, services = translator_bindings(tr_settings)
    tr_server, tr_port = await start(tr_settings, services)
    yield {"converter": f"127.0.0.1:{conv_port}", "gpu-evaluator": f"127.0.0.1:{ev_port}",
           "translator": f"127.0.0.1:{tr_port}"}
    await tr_server.stop(0)
    await servicer.close()
    await ev_server.stop(0)
    await pool.stop()
    await conv_server.stop(0)


async def test_builtin_through_converter_and_evaluator(mesh):
    async with grpc.aio.insecure_channel(mesh["translator"]) as channel:
        stub = translator_pb2_grpc.TranslatorServiceStub(channel)
        r = await stub.Translate(pb.TranslateRequest(task=task_pb2.Task(name="chain", source=RELU_CHAIN),
                                                     target_gpu="h100"), timeout=300)
    assert r.translated, r.message
    assert r.verdict.outcome in (verdict_pb2.VERDICT_OUTCOME_ACCEPTED, verdict_pb2.VERDICT_OUTCOME_VERIFIED_UNTIMED)
    assert r.candidate.proposer == "builtin" and r.candidate.format == kernel_pb2.CANDIDATE_FORMAT_FAST
    assert r.candidate.cuda_source and r.candidate.plan.steps and r.candidate.schedule
    # The converter's functional program travelled with the candidate.
    assert "leaky_relu" in " ".join(r.candidate.program.ops) and r.candidate.program.source
    # Translation verifies only (timing is stage 3's): the evaluator was told so.
    assert "verify_only=True" in r.verdict.message
    assert len(r.attempts) == 1 and r.attempts[0].seconds > 0


async def test_builtin_unsupported_task_names_the_reason(mesh):
    async with grpc.aio.insecure_channel(mesh["translator"]) as channel:
        stub = translator_pb2_grpc.TranslatorServiceStub(channel)
        r = await stub.Translate(pb.TranslateRequest(task=task_pb2.Task(name="fft", source=FFT),
                                                     proposers=["builtin"]), timeout=300)
    assert not r.translated and not r.HasField("candidate")
    assert r.unsupported_ops and "builtin" in r.message
    assert len(r.attempts) == 1 and r.attempts[0].verdict.outcome == verdict_pb2.VERDICT_OUTCOME_REJECTED_STATIC


async def test_invalid_task_is_invalid_argument(mesh):
    async with grpc.aio.insecure_channel(mesh["translator"]) as channel:
        stub = translator_pb2_grpc.TranslatorServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.Translate(pb.TranslateRequest(task=task_pb2.Task(name="broken", source="def (:\n")),
                                 timeout=120)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "converter" in info.value.details()


async def test_cli_translate_writes_what_evaluate_reads(mesh, tmp_path, capsys):
    from kernelwright.cli.main import main
    from kernelwright.gpu_evaluator.candidate_files import load_candidate

    task = tmp_path / "17_chain.py"
    task.write_text(RELU_CHAIN)
    out = tmp_path / "out"
    code = await asyncio.to_thread(main, ["translate", str(task), "--translator", mesh["translator"],
                                          "--out", str(out), "--json", str(tmp_path / "log" / "r.json")])  # log/ does not exist yet
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "VERIFIED_UNTIMED" in printed and "builtin" in printed
    response = json.loads((tmp_path / "log" / "r.json").read_text())
    assert response["translated"] is True
    loaded = load_candidate(out / "17_chain.cu")   # finds 17_chain.plan.json beside it
    assert loaded.id == response["candidate"]["id"]

    fft = tmp_path / "fft.py"
    fft.write_text(FFT)
    code = await asyncio.to_thread(main, ["translate", str(fft), "--translator", mesh["translator"],
                                          "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 3 and "not translated" in printed and not (out / "fft.cu").exists()


async def test_cli_translate_starts_its_own_translator(mesh, tmp_path, monkeypatch, capsys):
    """No translator configured: the CLI runs one in-process, wired to the configured converter and evaluator."""
    from kernelwright.cli.main import main

    monkeypatch.setenv("KW_CONVERTER_ADDR", mesh["converter"])
    monkeypatch.setenv("KW_GPU_EVALUATOR_ADDR", mesh["gpu-evaluator"])
    monkeypatch.delenv("KW_TRANSLATOR_ADDR", raising=False)
    task = tmp_path / "chain.py"
    task.write_text(RELU_CHAIN)
    code = await asyncio.to_thread(main, ["translate", str(task), "--out", str(tmp_path), "--max-attempts", "2"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert (tmp_path / "chain.cu").read_text().strip() and (tmp_path / "chain.plan.json").is_file()


async def test_local_mode_uses_the_addresses_up_recorded(mesh, monkeypatch):
    """No converter address and no pools configured: the translator reads `kernelwright up`'s mesh file."""
    from kernelwright.cli.mesh import write_mesh
    from kernelwright.translator.__main__ import bindings

    monkeypatch.delenv("KW_CONVERTER_ADDR", raising=False)
    monkeypatch.delenv("KW_TRANSLATOR_CONVERTER_ADDR", raising=False)
    write_mesh({"converter": mesh["converter"], "gpu-evaluator": mesh["gpu-evaluator"]})   # this pid: alive
    settings = TranslatorSettings(evaluator_discovery="static")
    servicer, services = bindings(settings)
    server, port = await start(settings, services)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = translator_pb2_grpc.TranslatorServiceStub(channel)
            r = await stub.Translate(pb.TranslateRequest(task=task_pb2.Task(name="chain", source=RELU_CHAIN)),
                                     timeout=300)
    finally:
        await server.stop(0)
        await servicer.close()
    assert r.translated, r.message
    assert r.verdict.hardware.pool == "h100"            # the recorded evaluator (routed as pool "local")
    assert r.candidate.program.ops                        # the recorded converter was asked
