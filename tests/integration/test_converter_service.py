"""ConverterService over real gRPC: good tasks, bad tasks, and the service staying up."""

import asyncio
import textwrap

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from kernelwright.common.v1 import task_pb2
from kernelwright.converter.v1 import converter_pb2 as pb
from kernelwright.converter.v1 import converter_pb2_grpc

pytestmark = pytest.mark.integration

HEADER = "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n"

GOOD = HEADER + textwrap.dedent("""
    class Model(nn.Module):
        def __init__(self, n_in, n_out):
            super().__init__()
            self.fc = nn.Linear(n_in, n_out)
        def forward(self, x):
            return torch.relu(self.fc(x)) * 2.0

    def get_inputs():
        return [torch.randn(4, 8)]

    def get_init_inputs():
        return [8, 16]
""")


def _task(source, name="t"):
    return task_pb2.Task(name=name, source=source)


def _with_forward(body: str) -> str:
    forward = textwrap.indent(textwrap.dedent(body).strip(), " " * 8)
    return HEADER + (
        "class Model(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "    def forward(self, x):\n"
        f"{forward}\n"
        "def get_inputs():\n"
        "    return [torch.randn(4, 4)]\n"
        "def get_init_inputs():\n"
        "    return []\n"
    )


async def _convert(channel, source, **validation):
    stub = converter_pb2_grpc.ConverterServiceStub(channel)
    return await stub.Convert(pb.ConvertRequest(task=_task(source), validation=pb.ValidationOptions(**validation)),
                              timeout=180)


async def test_converts_and_validates(converter_channel):
    reply = await _convert(converter_channel, GOOD, trials=3)
    v = reply.verdict
    assert v.outcome == pb.CONVERSION_OUTCOME_VALIDATED, v.message
    assert len(v.checks) == 3 and all(c.passed for c in v.checks)
    assert len({c.distribution for c in v.checks}) >= 2, "at least one trial must use another distribution"
    assert len({c.seed for c in v.checks}) == 3
    assert v.atol > 0 and v.rtol > 0 and v.max_abs_error <= v.atol * 10
    program = reply.program
    assert "def module_fn" in program.source and "fc_weight" in program.parameter_names
    assert "linear" in program.ops and "relu" in program.ops
    assert list(program.inputs[0].shape) == [4, 8] and program.inputs[0].dtype == "float32"


async def test_skip_validation_is_reported_as_not_validated(converter_channel):
    reply = await _convert(converter_channel, GOOD, skip=True)
    assert reply.verdict.outcome == pb.CONVERSION_OUTCOME_NOT_VALIDATED
    assert reply.verdict.not_validated_reason
    assert not reply.verdict.checks


@pytest.mark.parametrize("source, fragment", [
    ("def broken(:\n", "line 1"),
    (HEADER + "def get_inputs():\n    return []\ndef get_init_inputs():\n    return []\n", "Model"),
    (HEADER + "class Model(nn.Module):\n    pass\ndef get_init_inputs():\n    return []\n", "get_inputs"),
    ("   ", "empty"),
])
async def test_invalid_tasks_are_invalid_argument(converter_channel, source, fragment):
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await _convert(converter_channel, source)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert fragment in info.value.details()


async def test_out_of_range_options_are_invalid_argument(converter_channel):
    for options in ({"trials": 50}, {"device": "tpu"}, {"timeout_s": -1}):
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await _convert(converter_channel, GOOD, **options)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize("body, outcome, fragment", [
    ("raise ValueError('no way')", pb.CONVERSION_OUTCOME_TASK_ERROR, "no way"),
    ("import os\nos.system('true')\nreturn x", pb.CONVERSION_OUTCOME_FORBIDDEN, "os.system"),
])
async def test_task_misbehaviour_is_a_verdict(converter_channel, body, outcome, fragment):
    reply = await _convert(converter_channel, _with_forward(body))
    assert reply.verdict.outcome == outcome, reply.verdict.message
    assert fragment in reply.verdict.message


async def test_task_that_hangs_times_out_and_service_keeps_serving(converter_channel):
    source = _with_forward("import time\nwhile True:\n    time.sleep(1)")
    reply = await _convert(converter_channel, source, timeout_s=8)
    assert reply.verdict.outcome == pb.CONVERSION_OUTCOME_TIMED_OUT
    status = await health_pb2_grpc.HealthStub(converter_channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert status.status == health_pb2.HealthCheckResponse.SERVING
    again = await _convert(converter_channel, GOOD, trials=1)
    assert again.verdict.outcome == pb.CONVERSION_OUTCOME_VALIDATED


async def test_huge_allocation_does_not_take_the_service_down(converter_channel):
    source = HEADER + textwrap.dedent("""
        class Model(nn.Module):
            def forward(self, x):
                return x + 1
        def get_inputs():
            return [torch.rand(50 * 2**30 // 4)]   # 50 GB of float32
        def get_init_inputs():
            return []
    """)
    reply = await _convert(converter_channel, source)
    assert reply.verdict.outcome in (pb.CONVERSION_OUTCOME_NOT_VALIDATED, pb.CONVERSION_OUTCOME_MEMORY_LIMIT)
    assert reply.verdict.not_validated_reason or "memory" in reply.verdict.message.lower()
    assert not any(c.passed for c in reply.verdict.checks), "no check may claim to have run"


async def test_busy_service_answers_resource_exhausted(converter_channel):
    # max_parallel is 1: of two concurrent slow conversions exactly one runs, the other is refused.
    slow = _with_forward("import time\ntime.sleep(30)\nreturn x")
    results = await asyncio.gather(*(_convert(converter_channel, slow, timeout_s=6) for _ in range(2)),
                                   return_exceptions=True)
    refused = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    ran = [r for r in results if not isinstance(r, BaseException)]
    assert len(refused) == 1 and len(ran) == 1, results
    assert refused[0].code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert dict(refused[0].trailing_metadata()).get("retry-after-ms")
    assert ran[0].verdict.outcome == pb.CONVERSION_OUTCOME_TIMED_OUT
