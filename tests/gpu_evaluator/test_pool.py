"""The worker pool's scheduling and fault recovery, with simulated workers (no GPU needed)."""

import asyncio
import time

import pytest

from kernelwright.common.v1 import kernel_pb2, verdict_pb2
from kernelwright.core.errors import FailedPrecondition, ResourceExhausted
from kernelwright.gpu_evaluator.gpus import fake_gpus, visible_gpus
from kernelwright.gpu_evaluator.pool import WorkerPool, candidate_id
from kernelwright.gpu_evaluator.simulated_worker import simulated_worker_main

V = verdict_pb2
TASK = "import torch\nclass Model: pass\ndef get_inputs(): return []\ndef get_init_inputs(): return []\n"


def _candidate(marker: str) -> kernel_pb2.KernelCandidate:
    c = kernel_pb2.KernelCandidate(format=kernel_pb2.CANDIDATE_FORMAT_FAST,
                                   cuda_source=f'extern "C" __global__ void k() {{}} // {marker}')
    c.id = candidate_id(c)
    return c


async def _pool(n_gpus=1, capacity=8, **kw):
    gpus = visible_gpus("all", env={}, probe=fake_gpus(",".join(["NVIDIA H100 80GB HBM3;80"] * n_gpus)))
    pool = WorkerPool(gpus, pool_name="test", options={}, queue_capacity=capacity, startup_timeout_s=60,
                      worker_target=simulated_worker_main, **kw)
    await pool.start()
    return pool


async def test_each_worker_sees_only_its_own_gpu():
    pool = await _pool(n_gpus=2)
    try:
        verdicts = await asyncio.gather(*(pool.evaluate(TASK, _candidate(f"SLOW:0.5 job{i}"), {}, 30)
                                          for i in range(4)))
        gpus = {v.message.split()[0] for v in verdicts}
        assert gpus == {"gpu=0", "gpu=1"}, "both GPUs must take work"
        assert {s.hardware.gpu_name for s in pool.slots} == {"Simulated GPU 0", "Simulated GPU 1"}
    finally:
        await pool.stop()


async def test_hang_is_killed_timed_out_and_replaced_quickly():
    pool = await _pool()
    try:
        verdict = await pool.evaluate(TASK, _candidate("HANG"), {}, timeout_s=1.0)
        assert verdict.outcome == V.VERDICT_OUTCOME_TIMED_OUT
        assert pool.slots[0].restarts == 1 and pool.slots[0].last_start_s < 10
        after = await pool.evaluate(TASK, _candidate("fine"), {}, 30)
        assert after.outcome == V.VERDICT_OUTCOME_ACCEPTED
    finally:
        await pool.stop()


async def test_segfault_is_crashed_and_next_candidate_gets_a_fresh_worker():
    pool = await _pool()
    try:
        first_pid = (await pool.evaluate(TASK, _candidate("before"), {}, 30)).message.split("pid=")[1].split()[0]
        verdict = await pool.evaluate(TASK, _candidate("SEGFAULT"), {}, 30)
        assert verdict.outcome == V.VERDICT_OUTCOME_CRASHED
        assert "SIGSEGV" in verdict.message
        start = time.monotonic()
        after = await pool.evaluate(TASK, _candidate("after"), {}, 30)
        assert after.outcome == V.VERDICT_OUTCOME_ACCEPTED and time.monotonic() - start < 10
        assert after.message.split("pid=")[1].split()[0] != first_pid
    finally:
        await pool.stop()


async def test_fatal_cuda_error_restarts_worker_after_answering():
    pool = await _pool()
    try:
        verdict = await pool.evaluate(TASK, _candidate("FATAL"), {}, 30)
        assert verdict.outcome == V.VERDICT_OUTCOME_RUNTIME_ERROR
        assert pool.slots[0].restarts == 1
        assert (await pool.evaluate(TASK, _candidate("ok"), {}, 30)).outcome == V.VERDICT_OUTCOME_ACCEPTED
    finally:
        await pool.stop()


async def test_full_queue_is_resource_exhausted_with_retry_hint():
    pool = await _pool(capacity=1)
    try:
        running = asyncio.ensure_future(pool.evaluate(TASK, _candidate("SLOW:2 a"), {}, 30))
        queued = None
        # Wait (bounded, event-driven) until the first job has left the queue for the worker.
        for _ in range(500):
            await asyncio.sleep(0.01)
            if pool.slots[0].state == "busy":
                break
        queued = asyncio.ensure_future(pool.evaluate(TASK, _candidate("SLOW:0 b"), {}, 30))
        await asyncio.sleep(0)  # lets `queued` run up to its await: it is now in the queue
        with pytest.raises(ResourceExhausted) as info:
            await pool.evaluate(TASK, _candidate("c"), {}, 30)
        assert info.value.retry_after_ms and info.value.retry_after_ms > 0
        assert (await running).outcome == V.VERDICT_OUTCOME_ACCEPTED
        assert (await queued).outcome == V.VERDICT_OUTCOME_ACCEPTED
    finally:
        await pool.stop()


async def test_identical_request_is_served_from_cache_fast():
    pool = await _pool()
    try:
        first = await pool.evaluate(TASK, _candidate("same"), {"x": 1}, 30)
        start = time.perf_counter()
        second = await pool.evaluate(TASK, _candidate("same"), {"x": 1}, 30)
        assert time.perf_counter() - start < 0.05
        assert second.cached and not first.cached and second.outcome == first.outcome
        other_options = await pool.evaluate(TASK, _candidate("same"), {"x": 2}, 30)
        assert not other_options.cached
    finally:
        await pool.stop()


async def test_cpu_only_pool_refuses_evaluate_clearly():
    pool = WorkerPool([], pool_name="cpu", options={}, queue_capacity=4, startup_timeout_s=5)
    await pool.start()
    with pytest.raises(FailedPrecondition, match="CPU-only"):
        await pool.evaluate(TASK, _candidate("x"), {}, 5)


def test_candidate_id_is_content_hash():
    a, b = _candidate("one"), _candidate("one")
    b.proposer = "someone else"
    assert candidate_id(a) == candidate_id(b)
    assert candidate_id(a) != candidate_id(_candidate("two"))


async def test_out_of_memory_is_retried_once_on_a_fresh_worker(tmp_path):
    pool = await _pool()
    try:
        verdict = await pool.evaluate(TASK, _candidate(f"OOM_ONCE:{tmp_path / 'seen'}"), {}, 30)
        assert verdict.outcome == V.VERDICT_OUTCOME_ACCEPTED, verdict.message
        assert pool.slots[0].restarts == 1
        verdict = await pool.evaluate(TASK, _candidate("OOM always"), {}, 30)
        assert verdict.outcome == V.VERDICT_OUTCOME_OUT_OF_MEMORY
        assert "also on a retry" in verdict.message and pool.slots[0].restarts == 3
    finally:
        await pool.stop()
