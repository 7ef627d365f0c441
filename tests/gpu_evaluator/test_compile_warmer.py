"""The torch.compile baseline compiled ahead (compile_warmer.py): it compiles without running, the
worker's later compile of the same task is an Inductor cache hit, and the pool feeds it every task."""

import asyncio
import time

import pytest
import torch

from kernelwright.common.v1 import kernel_pb2, verdict_pb2
from kernelwright.gpu_evaluator import harness
from kernelwright.gpu_evaluator.compile_warmer import CompileWarmer, warm_compile
from kernelwright.gpu_evaluator.gpus import fake_gpus, visible_gpus
from kernelwright.gpu_evaluator.pool import WorkerPool, candidate_id
from kernelwright.gpu_evaluator.simulated_worker import simulated_warmer_main, simulated_worker_main

V = verdict_pb2

TASK = """
import torch
import torch.nn as nn

class Model(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.linear = nn.Linear(n, n)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        return self.drop(torch.relu(self.linear(x)) * 2.0)

def get_inputs():
    return [torch.rand(4, 16)]

def get_init_inputs():
    return [16]
"""


def test_the_warm_up_compiles_every_graph_and_runs_none():
    seen, ran = [], []

    def compiler(gm, example_inputs):
        seen.append([tuple(x.shape) for x in example_inputs if isinstance(x, torch.Tensor)])
        return lambda *args: ran.append(args)

    outcome = warm_compile(TASK, "cpu", compiler=compiler)
    assert outcome["status"] == "compiled", outcome
    assert outcome["graphs"] == 1 and len(seen) == 1
    assert (4, 16) in seen[0], "the graph was compiled for the task's own input shape"
    assert ran == [], "the compiled graph must never run (it would launch work on the timed GPU)"


def test_a_compiler_failure_is_reported_not_raised():
    def compiler(gm, example_inputs):
        raise RuntimeError("inductor cannot lower this\nmore detail")

    outcome = warm_compile(TASK, "cpu", compiler=compiler)
    assert outcome["status"] == "failed"
    assert "inductor cannot lower this" in outcome["error"] and "more detail" not in outcome["error"]


def _worker_compile_counters(device="cpu"):
    """What the worker does for its baseline: the seeded reference, timing inputs, torch.compile, no_grad."""
    from torch._dynamo.utils import counters

    device = torch.device(device)
    module = harness.load_task(TASK)
    model = harness.build_model(module.Model, list(module.get_init_inputs()), seed=42, device=device)
    harness.disable_dropout(model)  # the worker finds this task stochastic and compiles it so
    inputs = harness.make_inputs(module, harness.TrialSpec("timing-0", 500, "task"), device)
    torch._dynamo.reset()
    counters.clear()
    with torch.no_grad():
        torch.compile(model)(*inputs)
    result = dict(counters["inductor"])
    torch._dynamo.reset()
    return result


@pytest.mark.slow
def test_the_workers_compile_after_a_warm_up_is_a_cache_hit(tmp_path, monkeypatch):
    """Real Inductor (CPU codegen): cold, the worker's compile misses the FX graph cache; after the
    warmer compiled the task into the same cache directory, it hits and misses nothing."""
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "cold"))
    cold = _worker_compile_counters()
    assert cold.get("fxgraph_cache_miss", 0) >= 1, cold

    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "warmed"))
    outcome = warm_compile(TASK, "cpu")
    assert outcome["status"] == "compiled", outcome
    warmed = _worker_compile_counters()
    assert warmed.get("fxgraph_cache_hit", 0) >= 1 and warmed.get("fxgraph_cache_miss", 0) == 0, warmed


@pytest.mark.gpu
def test_on_the_gpu_the_warm_up_launches_nothing_and_the_worker_hits_the_cache(tmp_path, monkeypatch):
    from torch.profiler import ProfilerActivity, profile

    from kernelwright.gpu_evaluator.worker import prepare_torch

    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "inductor"))
    monkeypatch.setenv("TRITON_CACHE_DIR", str(tmp_path / "triton"))
    device = prepare_torch()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        outcome = warm_compile(TASK, device)
        torch.cuda.synchronize()
    assert outcome["status"] == "compiled", outcome
    on_gpu = [e.name for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA]
    # Dynamo/Inductor copy small tensors while compiling (53 memcpys for this task on the H200,
    # session 6); no kernel may run.
    kernels = [n for n in on_gpu if not n.startswith(("Memcpy", "Memset"))]
    assert kernels == [], f"the warm-up ran kernels on the GPU: {kernels[:5]}"
    warmed = _worker_compile_counters(device)
    assert warmed.get("fxgraph_cache_hit", 0) >= 1 and warmed.get("fxgraph_cache_miss", 0) == 0, warmed


def _candidate(marker: str) -> kernel_pb2.KernelCandidate:
    c = kernel_pb2.KernelCandidate(format=kernel_pb2.CANDIDATE_FORMAT_FAST,
                                   cuda_source=f'extern "C" __global__ void k() {{}} // {marker}')
    c.id = candidate_id(c)
    return c


SIM_TASK = "import torch\nclass Model: pass\ndef get_inputs(): return []\ndef get_init_inputs(): return []\n"


async def test_the_pool_sends_each_new_task_once_and_skips_verify_only_jobs():
    gpus = visible_gpus("all", env={}, probe=fake_gpus("NVIDIA H100 80GB HBM3;80,NVIDIA H100 80GB HBM3;80"))
    pool = WorkerPool(gpus, pool_name="test", options={}, queue_capacity=8, startup_timeout_s=60,
                      worker_target=simulated_worker_main, warm_compile=True, warmer_target=simulated_warmer_main)
    await pool.start()
    try:
        a, b, c = (SIM_TASK + f"# {name}\n" for name in "abc")
        await pool.evaluate(a, _candidate("one"), {"baselines": False}, 30)
        await pool.evaluate(a, _candidate("two"), {}, 30)
        await pool.evaluate(b, _candidate("one"), {}, 30)
        await pool.evaluate(c, _candidate("one"), {"verify_only": True}, 30)
        assert pool.warmer.stats.requested == 2, "task a once (candidate-only jobs too), task b once, c never"
        for task in (a, b):
            outcome = pool.warmer.wait_for(task, timeout_s=30)
            assert outcome is not None and outcome["status"] == "compiled"
            assert outcome["gpu"] == gpus[0].physical_id, "the warmer sees one GPU, the first worker's"
        assert pool.warmer.wait_for(c, timeout_s=0) is None
    finally:
        await pool.stop()


async def _evaluate_in_order(pool, jobs):
    """Submit (task, candidate, options) in order, each enqueued before the next; the order they finished in."""
    done: list[int] = []
    tasks = []
    for i, (task, candidate, options) in enumerate(jobs):
        t = asyncio.create_task(pool.evaluate(task, candidate, options, 60))
        t.add_done_callback(lambda _t, i=i: done.append(i))
        tasks.append(t)
        await asyncio.sleep(0)
    return await asyncio.gather(*tasks), done


async def _one_worker_pool(warm_wait_s: float) -> WorkerPool:
    gpus = visible_gpus("all", env={}, probe=fake_gpus("NVIDIA H100 80GB HBM3;80"))
    pool = WorkerPool(gpus, pool_name="test", options={}, queue_capacity=8, startup_timeout_s=60,
                      worker_target=simulated_worker_main, warm_compile=True, warmer_target=simulated_warmer_main,
                      prepare_ahead=0, warm_wait_s=warm_wait_s)
    await pool.start()
    return pool


async def test_a_full_evaluation_waits_for_its_warm_up_while_other_jobs_run():
    """The worker would compile the same baseline itself, next to the warmer: it runs jobs that need
    no compile first, and the full evaluation once the warmer has cached its graph."""
    pool = await _one_worker_pool(warm_wait_s=60)
    try:
        slow = SIM_TASK + "# WARM_SLOW:1.5\n"
        jobs = [(slow, _candidate("SLOW:0.1 full"), {}), (slow, _candidate("SLOW:0.1 candidate-only"), {"baselines": False}),
                (slow, _candidate("SLOW:0.1 verify"), {"verify_only": True})]
        verdicts, order = await _evaluate_in_order(pool, jobs)
        assert order == [1, 2, 0]
        assert all(v.outcome in (V.VERDICT_OUTCOME_ACCEPTED, V.VERDICT_OUTCOME_VERIFIED_UNTIMED) for v in verdicts)
        assert pool.warmer.stats.compiled == 1 and not pool.warmer.pending(slow)
    finally:
        await pool.stop()


async def test_a_slow_warm_up_holds_a_full_evaluation_only_for_the_bound():
    pool = await _one_worker_pool(warm_wait_s=0.5)
    try:
        stuck = SIM_TASK + "# WARM_SLOW:30\n"
        start = time.monotonic()
        verdicts, order = await _evaluate_in_order(pool, [(stuck, _candidate("SLOW:0.1 full"), {})])
        assert 0.5 <= time.monotonic() - start < 10
        assert verdicts[0].outcome == V.VERDICT_OUTCOME_ACCEPTED and pool.warmer.pending(stuck)
    finally:
        await pool.stop()


def test_a_dead_warmer_is_restarted_and_goes_on():
    warmer = CompileWarmer({}, target=simulated_warmer_main, max_restarts=1)
    warmer.start()
    try:
        assert warmer.request(SIM_TASK + "# CRASH_WARMER\n")
        assert not warmer.request(SIM_TASK + "# CRASH_WARMER\n"), "a task is sent once"
        after = SIM_TASK + "# after the crash\n"
        # Requests are dropped while the process is down; keep asking with new tasks until the
        # restarted warmer answers one (a condition wait, no sleep).
        answered = None
        for i in range(50):
            task = f"{after}# {i}\n"
            warmer.request(task)
            answered = warmer.wait_for(task, timeout_s=2)
            if answered is not None:
                break
        assert answered is not None and answered["status"] == "compiled"
        assert warmer.stats.restarts == 1
    finally:
        warmer.stop()
