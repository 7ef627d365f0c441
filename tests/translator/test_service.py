"""TranslatorService over real gRPC: a simulated gpu-evaluator (no GPU) and scripted proposers.

The simulated worker accepts any candidate unless its CUDA source carries a marker: FATAL gives
RUNTIME_ERROR, so a "bad" candidate here is one with ``// FATAL`` in it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from dataclasses import dataclass, field

import grpc
import pytest
from grpc_health.v1 import health

from kernelwright.common.v1 import kernel_pb2, task_pb2, verdict_pb2
from kernelwright.core.server import create_server, set_serving
from kernelwright.translator.proposers import (
    ProposalRequest,
    ProposalResult,
    ProposerConfigError,
    ProposerSettings,
    ProposerUnavailable,
    registry,
)
from kernelwright.translator.settings import TranslatorSettings
from kernelwright.translator.v1 import translator_pb2 as pb
from kernelwright.translator.v1 import translator_pb2_grpc

pytestmark = pytest.mark.integration
V = verdict_pb2

TASK = task_pb2.Task(name="vector_add", source=(
    "import torch\nclass Model(torch.nn.Module):\n    def forward(self, x, y):\n        return x + y\n"
    "def get_inputs():\n    return [torch.rand(1024), torch.rand(1024)]\ndef get_init_inputs():\n    return []\n"))
PROGRAM = task_pb2.FunctionalProgram(source=TASK.source, function_name="module_fn", ops=["add"])
KERNEL = ('extern "C" __global__ void vector_add(const float* x, const float* y, float* out, long long n) {\n'
          '    long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;\n'
          '    if (i < n) out[i] = x[i] + y[i];\n}\n')


def candidate(tag: str = "", *, bad: bool = False, steps: bool = True) -> kernel_pb2.KernelCandidate:
    """A fast-format vector add; ``bad`` makes the simulated worker fail it, ``tag`` changes its id."""
    source = KERNEL + (f"// {tag}\n" if tag else "") + ("// FATAL\n" if bad else "")
    c = kernel_pb2.KernelCandidate(format=kernel_pb2.CANDIDATE_FORMAT_FAST, cuda_source=source)
    c.plan.allocations.add(name="out", dtype="float32", is_output=True).shape.add(expr="in0.shape[0]")
    if steps:
        launch = c.plan.steps.add().launch
        launch.kernel = "vector_add"
        launch.grid.add(expr="ceil_div(in0.numel, 256)")
        launch.block.add(expr="256")
        for name in ("in0", "in1", "out"):
            launch.args.add(tensor=name)
        launch.args.add().int_expr.expr = "in0.numel"
    return c


@dataclass
class Scripted:
    """A proposer that plays rounds from a script and records every request it got.

    A round is a list of candidates, a list of problem strings (``str`` items), an exception to
    raise, or ``"hang"`` (waits until cancelled by the translator's deadline).
    """

    name: str
    rounds: list
    requests: list[ProposalRequest] = field(default_factory=list)

    async def propose(self, request: ProposalRequest) -> ProposalResult:
        self.requests.append(request)
        step = self.rounds[min(len(self.requests), len(self.rounds)) - 1]
        if isinstance(step, BaseException):
            raise step
        if step == "hang":
            await asyncio.Event().wait()
        result = ProposalResult()
        for item in step:
            if isinstance(item, str):
                result.problems.append(item)
            else:
                result.candidates.append(kernel_pb2.KernelCandidate.FromString(item.SerializeToString()))
        return result


@pytest.fixture
def script(monkeypatch):
    """``script(name, rounds)`` registers a scripted proposer for this test only and returns it."""

    def register(name: str, rounds: list) -> Scripted:
        proposer = Scripted(name, rounds)
        monkeypatch.setitem(registry._FACTORIES, name, lambda settings: proposer)
        return proposer

    return register


@pytest.fixture(autouse=True)
def no_local_mesh(tmp_path, monkeypatch):
    # A `kernelwright up` running on this machine must not leak into the tests.
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


async def _start(settings, bindings):
    health_servicer = health.aio.HealthServicer()
    settings.port, settings.host = 0, "127.0.0.1"
    server, port = await create_server(settings, bindings, health_servicer)
    await server.start()
    await set_serving(health_servicer, bindings, True)
    return server, port


@contextlib.asynccontextmanager
async def simulated_evaluator(cache_dir, **settings_fields):
    """A gpu-evaluator with one simulated worker on a fake H100; yields its address."""
    from kernelwright.gpu_evaluator.__main__ import bindings, build_pool
    from kernelwright.gpu_evaluator.gpus import fake_gpus
    from kernelwright.gpu_evaluator.settings import GpuEvaluatorSettings
    from kernelwright.gpu_evaluator.simulated_worker import simulated_worker_main

    settings = GpuEvaluatorSettings(gpus="all", cache_dir=str(cache_dir), pool="h100",
                                    gpu_product="NVIDIA-H100-80GB-HBM3", **settings_fields)
    pool = build_pool(settings, probe=fake_gpus("NVIDIA H100 80GB HBM3;80"))
    for slot in pool.slots:
        slot._target = simulated_worker_main
    await pool.start()
    server, port = await _start(settings, bindings(settings, pool))
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(0)
        await pool.stop()


@pytest.fixture
async def sim_evaluator(tmp_path):
    async with simulated_evaluator(tmp_path / "cache") as address:
        yield address


@pytest.fixture
async def translator(sim_evaluator):
    """``await translator(**settings)`` -> a stub of a translator wired to the simulated evaluator."""
    from kernelwright.translator.__main__ import bindings

    started = []

    async def make(proposer_settings: ProposerSettings | None = None, **overrides):
        fields = {"evaluator_pools": f"h100@NVIDIA-H100-80GB-HBM3={sim_evaluator}", **overrides}
        settings = TranslatorSettings(**fields)
        servicer, services = bindings(settings, proposer_settings=proposer_settings or ProposerSettings())
        server, port = await _start(settings, services)
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        started.append((server, servicer, channel))
        return translator_pb2_grpc.TranslatorServiceStub(channel)

    yield make
    for server, servicer, channel in started:
        await channel.close()
        await server.stop(0)
        await servicer.close()


def request(*proposers: str, max_attempts: int = 0, **kw) -> pb.TranslateRequest:
    return pb.TranslateRequest(task=TASK, program=PROGRAM, proposers=proposers, max_attempts=max_attempts, **kw)


def outcomes(response: pb.TranslateResponse) -> list[str]:
    return [V.VerdictOutcome.Name(a.verdict.outcome).removeprefix("VERDICT_OUTCOME_") for a in response.attempts]


async def test_bad_then_good_returns_the_verified_one_with_the_log(translator, script):
    p = script("t-bad-good", [[candidate("a", bad=True)], [candidate("b")]])
    stub = await translator()
    r = await stub.Translate(request("t-bad-good"))
    assert r.translated, r.message
    assert outcomes(r) == ["RUNTIME_ERROR", "VERIFIED_UNTIMED"]  # the translator verifies only
    assert r.candidate.id == r.attempts[1].candidate.id == r.verdict.candidate_id
    assert "FATAL" not in r.candidate.cuda_source
    assert r.verdict.outcome == V.VERDICT_OUTCOME_VERIFIED_UNTIMED
    assert all(a.proposer == "t-bad-good" and a.candidate.proposer == "t-bad-good" for a in r.attempts)
    # The second call saw the first verdict as feedback; a runtime error is not a repair case.
    assert [len(q.history) for q in p.requests] == [0, 1]
    assert p.requests[1].history[0].verdict.outcome == V.VERDICT_OUTCOME_RUNTIME_ERROR
    assert p.requests[1].mode == "translate"
    # What proposers see: the task, the program, the format and its parameters.
    q = p.requests[0]
    assert q.task_source == TASK.source and q.functional_source == PROGRAM.source and q.ops == ["add"]
    assert q.format == kernel_pb2.CANDIDATE_FORMAT_FAST


async def test_never_returns_an_unverified_candidate(translator, script):
    script("t-all-bad", [[candidate(f"x{i}", bad=True) for i in range(2)]])
    stub = await translator()
    r = await stub.Translate(request("t-all-bad"))
    assert not r.translated
    assert not r.HasField("candidate") and not r.HasField("verdict")
    assert outcomes(r) == ["RUNTIME_ERROR", "RUNTIME_ERROR"]
    # The proposer repeated itself (same two candidates each round): it was left after one round.
    assert "only repeated candidates" in r.message


async def test_attempts_are_bounded_across_proposers(translator, script):
    first = script("t-many-bad", [[candidate(f"m{i}", bad=True) for i in range(3)]])
    second = script("t-good", [[candidate("g")]])
    stub = await translator(max_attempts=4)
    r = await stub.Translate(request("t-many-bad", "t-good", max_attempts=2))
    assert not r.translated and len(r.attempts) == 2
    assert "max_attempts=2" in r.message
    assert len(first.requests) == 1 and not second.requests   # the bound stopped before the next proposer
    # 0 means the configured default (4): three bad ones, a round of repeats, then the good proposer.
    r = await stub.Translate(request("t-many-bad", "t-good"))
    assert r.translated and len(r.attempts) == 4 and r.attempts[-1].proposer == "t-good"
    assert len(first.requests) == 3 and len(second.requests) == 1


async def test_order_and_unusable_answers_are_counted_fed_back_and_bounded(translator, script):
    empty = script("t-empty", [["no fenced code block in the answer"]])
    good = script("t-good2", [[candidate("g2")]])
    stub = await translator()
    r = await stub.Translate(request("t-empty", "t-good2"))
    assert r.translated
    # Two unusable answers (the same problem twice: left), then the next proposer in order.
    assert [a.proposer for a in r.attempts] == ["t-empty", "t-empty", "t-good2"]
    assert outcomes(r)[:2] == ["REJECTED_STATIC", "REJECTED_STATIC"]
    assert "no fenced code block" in r.attempts[0].verdict.log
    assert empty.requests[1].mode == "repair" and len(empty.requests[1].history) == 1
    assert len(good.requests[0].history) == 2 and good.requests[0].mode == "translate"


async def test_evaluator_refusing_a_candidate_is_an_attempt_not_an_error(translator, script):
    p = script("t-noplan", [[candidate("np", steps=False)], [candidate("ok")]])
    stub = await translator()
    r = await stub.Translate(request("t-noplan"))
    assert r.translated and outcomes(r) == ["REJECTED_STATIC", "VERIFIED_UNTIMED"]
    assert "plan has no steps" in r.attempts[0].verdict.message
    assert p.requests[1].mode == "repair"


async def test_declared_unsupported_names_the_ops(translator, script):
    script("t-unsup", [["t-unsup: unsupported: op conv_transpose3d is not elementwise-supported"]])
    stub = await translator()
    r = await stub.Translate(request("t-unsup"))
    assert not r.translated and list(r.unsupported_ops) == ["conv_transpose3d"]
    assert len(r.attempts) == 1 and "conv_transpose3d" in r.message


async def test_slow_and_dead_proposers_are_skipped_and_the_service_keeps_serving(translator, script):
    script("t-hang", ["hang"])
    script("t-dead", [ProposerUnavailable("http://127.0.0.1:9/v1 failed after 3 attempts", attempts=3)])
    script("t-good3", [[candidate("g3")]])
    stub = await translator(propose_timeout_s=0.2)
    r = await stub.Translate(request("t-hang", "t-dead", "t-good3"))
    assert r.translated and [a.proposer for a in r.attempts] == ["t-hang", "t-dead", "t-good3"]
    assert "deadline" in r.attempts[0].verdict.message
    assert "unavailable" in r.attempts[1].verdict.message and "127.0.0.1:9" in r.attempts[1].verdict.message
    r = await stub.Translate(request("t-dead"))
    assert not r.translated and "t-dead: endpoint unavailable" in r.message


async def test_missing_setting_is_failed_precondition_naming_it(translator, monkeypatch):
    def needs_key(settings):
        raise ProposerConfigError("t-keyed proposer needs KW_TRANSLATOR_TKEYED_API_KEY")

    monkeypatch.setitem(registry._FACTORIES, "t-keyed", needs_key)
    stub = await translator()
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.Translate(request("t-keyed"))
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "KW_TRANSLATOR_TKEYED_API_KEY" in info.value.details()


async def test_fallback_to_builtin_replaces_an_unconfigured_proposer(translator, monkeypatch):
    def needs_key(settings):
        raise ProposerConfigError("t-keyed proposer needs KW_TRANSLATOR_TKEYED_API_KEY")

    monkeypatch.setitem(registry._FACTORIES, "t-keyed", needs_key)
    stub = await translator(proposer_settings=ProposerSettings(fallback_to_builtin=True))
    r = await stub.Translate(request("t-keyed", "builtin"))
    # builtin once (the fallback and the explicit name are the same proposer), verified by the simulator.
    assert r.translated, r.message
    assert {a.proposer for a in r.attempts} == {"builtin"}
    assert r.candidate.proposer == "builtin" and r.candidate.schedule
    assert "t-keyed is not configured; using builtin" in r.message


@pytest.mark.parametrize("make, fragment", [
    (lambda: pb.TranslateRequest(proposers=["builtin"]), "task"),
    (lambda: request("no-such-proposer"), "unknown proposer"),
    (lambda: request("builtin", max_attempts=-1), "max_attempts"),
])
async def test_bad_requests_are_invalid_argument(translator, make, fragment):
    stub = await translator()
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.Translate(make())
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT and fragment in info.value.details()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_no_reachable_evaluator_is_unavailable(translator, script):
    p = script("t-never", [[candidate("n")]])
    stub = await translator(evaluator_pools=f"h100=127.0.0.1:{_closed_port()}")
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.Translate(request("t-never"))
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE and "pool h100" in info.value.details()
    # No pool for the GPU asked for: refused before any proposer is called.
    stub = await translator()
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.Translate(request("t-never", target_gpu="a100"))
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE and "a100" in info.value.details()
    assert len(p.requests) == 1


async def test_no_pools_at_all_is_unavailable(translator, script):
    script("t-never2", [[candidate("n2")]])
    stub = await translator(evaluator_pools="", evaluator_discovery="static")
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.Translate(request("t-never2"))
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE and "no evaluator pool" in info.value.details()


async def test_program_alone_is_enough(translator, script):
    script("t-prog", [[candidate("p")]])
    stub = await translator()
    r = await stub.Translate(pb.TranslateRequest(program=PROGRAM, proposers=["t-prog"]))
    assert r.translated


async def test_a_busy_evaluator_is_waited_for_not_reported_unavailable(translator, script, tmp_path, monkeypatch):
    from kernelwright.translator import evaluator_client

    hints: list[float] = []
    real = evaluator_client._retry_after_s
    monkeypatch.setattr(evaluator_client, "_retry_after_s", lambda exc: hints.append(real(exc)) or 0.2)
    # One worker, a queue of one: of three concurrent translations one is refused RESOURCE_EXHAUSTED
    # (for longer than the channel's own retries last: at most 0.2+0.4+0.8 s of backoff) and must
    # wait its turn rather than fail.
    for i in range(3):
        script(f"t-slow{i}", [[candidate(f"SLOW:2.5 s{i}")]])
    async with simulated_evaluator(tmp_path / "busy-cache", queue_capacity=1) as busy:
        stub = await translator(evaluator_pools=f"h100={busy}")
        results = await asyncio.gather(*(stub.Translate(request(f"t-slow{i}")) for i in range(3)))
    assert all(r.translated for r in results), [r.message for r in results]
    assert hints and all(h > 0 for h in hints)   # it was refused, and read the evaluator's retry-after
