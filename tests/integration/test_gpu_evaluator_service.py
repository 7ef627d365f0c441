"""gpu-evaluator over real gRPC without a GPU: CPU-only mode, and the pool with simulated workers."""

import grpc
import pytest

from kernelwright.common.v1 import kernel_pb2, task_pb2, verdict_pb2
from kernelwright.gpu_evaluator.__main__ import bindings, build_pool
from kernelwright.gpu_evaluator.gpus import fake_gpus
from kernelwright.gpu_evaluator.settings import GpuEvaluatorSettings
from kernelwright.gpu_evaluator.v1 import gpu_evaluator_pb2 as pb
from kernelwright.gpu_evaluator.v1 import gpu_evaluator_pb2_grpc

from .conftest import start

pytestmark = pytest.mark.integration

TASK = task_pb2.Task(name="vector_add", source=(
    "import torch\nclass Model(torch.nn.Module):\n    def forward(self, x, y):\n        return x + y\n"
    "def get_inputs():\n    return [torch.rand(1024), torch.rand(1024)]\ndef get_init_inputs():\n    return []\n"))
KERNEL = ('extern "C" __global__ void vector_add(const float* x, const float* y, float* out, long long n) {\n'
          '    long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;\n'
          '    if (i < n) out[i] = x[i] + y[i];\n}\n')


def _candidate(source=KERNEL):
    c = kernel_pb2.KernelCandidate(format=kernel_pb2.CANDIDATE_FORMAT_FAST, cuda_source=source)
    c.plan.allocations.add(name="out", dtype="float32", is_output=True).shape.add(expr="in0.shape[0]")
    launch = c.plan.steps.add().launch
    launch.kernel = "vector_add"
    launch.grid.add(expr="ceil_div(in0.numel, 256)")
    launch.block.add(expr="256")
    launch.args.add(tensor="in0")
    launch.args.add(tensor="in1")
    launch.args.add(tensor="out")
    launch.args.add().int_expr.expr = "in0.numel"
    return c


@pytest.fixture
async def cpu_only(tmp_path):
    settings = GpuEvaluatorSettings(gpus="none", cache_dir=str(tmp_path / "cache"), pool="laptop")
    pool = build_pool(settings)
    await pool.start()
    server, port = await start(settings, bindings(settings, pool))
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield gpu_evaluator_pb2_grpc.GpuEvaluatorServiceStub(channel)
    await server.stop(0)


async def test_cpu_only_evaluate_is_failed_precondition(cpu_only):
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await cpu_only.Evaluate(pb.EvaluateRequest(task=TASK, candidate=_candidate()))
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "CPU-only" in info.value.details()


async def test_cpu_only_capabilities(cpu_only):
    caps = await cpu_only.GetCapabilities(pb.GetCapabilitiesRequest())
    assert caps.cpu_only and caps.pool == "laptop" and not caps.workers
    assert kernel_pb2.CANDIDATE_FORMAT_FAST in caps.formats


async def test_check_runs_static_checks_and_compiles_without_gpu(cpu_only):
    from kernelwright.gpu_evaluator.nvrtc_build import nvcc_path, nvrtc_available

    if not (nvrtc_available() or nvcc_path()):
        pytest.skip("no NVRTC and no nvcc on this machine")
    ok = (await cpu_only.Check(pb.CheckRequest(task=TASK, candidate=_candidate()))).verdict
    assert ok.compiled, ok.message
    broken = (await cpu_only.Check(pb.CheckRequest(task=TASK, candidate=_candidate(KERNEL.replace(";", "", 1))))).verdict
    assert broken.outcome == verdict_pb2.VERDICT_OUTCOME_COMPILE_ERROR and broken.log


@pytest.mark.parametrize("mutate, fragment", [
    (lambda r: r.ClearField("candidate"), "candidate"),
    (lambda r: setattr(r.candidate, "format", 0), "format"),
    (lambda r: r.candidate.ClearField("plan"), "plan"),
    (lambda r: setattr(r.options, "correctness_trials", 2), "correctness_trials"),
    (lambda r: setattr(r.options, "timing_trials", 10), "timing_trials"),
])
async def test_bad_requests_are_invalid_argument(cpu_only, mutate, fragment):
    request = pb.EvaluateRequest(task=TASK, candidate=_candidate())
    mutate(request)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await cpu_only.Evaluate(request)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT and fragment in info.value.details()


async def test_simulated_workers_over_grpc_with_back_pressure(tmp_path):
    from kernelwright.gpu_evaluator.simulated_worker import simulated_worker_main
    import asyncio

    settings = GpuEvaluatorSettings(gpus="all", queue_capacity=1, cache_dir=str(tmp_path), pool="sim",
                                    gpu_product="NVIDIA-H100-80GB-HBM3-SHARED")
    pool = build_pool(settings, probe=fake_gpus("NVIDIA H100 80GB HBM3;80"))
    for slot in pool.slots:
        slot._target = simulated_worker_main
    await pool.start()
    server, port = await start(settings, bindings(settings, pool))
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = gpu_evaluator_pb2_grpc.GpuEvaluatorServiceStub(channel)
            slow = [_candidate(KERNEL + f"// SLOW:1 {i}") for i in range(3)]
            results = await asyncio.gather(*(stub.Evaluate(pb.EvaluateRequest(task=TASK, candidate=c)) for c in slow),
                                           return_exceptions=True)
            refused = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
            done = [r for r in results if not isinstance(r, BaseException)]
            assert refused and all(r.code() == grpc.StatusCode.RESOURCE_EXHAUSTED for r in refused)
            assert dict(refused[0].trailing_metadata())["retry-after-ms"]
            # A -SHARED (time-sliced) GPU is never timed: the worker is told to verify only.
            assert done and all(r.verdict.outcome == verdict_pb2.VERDICT_OUTCOME_VERIFIED_UNTIMED for r in done)
            assert "verify_only=True" in done[0].verdict.message
            caps = await stub.GetCapabilities(pb.GetCapabilitiesRequest())
            assert [w.hardware.gpu_name for w in caps.workers] == ["Simulated GPU 0"]
    finally:
        await server.stop(0)
        await pool.stop()
