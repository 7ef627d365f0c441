"""skip_baselines and measurement from the wire to the worker: the servicer's mapping, the simulated
worker, the cache key."""

from __future__ import annotations

import pytest

from kernelwright.gpu_evaluator.servicer import options_from
from kernelwright.gpu_evaluator.settings import GpuEvaluatorSettings
from kernelwright.gpu_evaluator.v1 import gpu_evaluator_pb2 as pb
from tests.gpu_evaluator.test_pool import TASK, _candidate, _pool


def _options(**fields) -> dict:
    request = pb.EvaluateRequest(options=pb.EvaluateOptions(**fields))
    return options_from(request, GpuEvaluatorSettings(gpus="none"), shared_gpu=False)


def test_servicer_maps_skip_baselines_to_the_worker_option():
    assert _options()["baselines"] is True
    assert _options(skip_baselines=True)["baselines"] is False


async def test_simulated_worker_times_only_the_candidate_when_baselines_are_skipped():
    pool = await _pool()
    try:
        full = await pool.evaluate(TASK, _candidate("MS:0.5 a"), _options(), 30)
        quick = await pool.evaluate(TASK, _candidate("MS:0.5 b"), _options(skip_baselines=True), 30)
    finally:
        await pool.stop()
    assert full.timings.candidate.median_ms == quick.timings.candidate.median_ms == 0.5
    assert full.timings.eager.median_ms > 0 and full.timings.compiled.median_ms > 0
    assert full.timings.speedup_vs_eager > 0 and full.timings.speedup_vs_compile > 0
    assert not quick.timings.HasField("eager") and not quick.timings.HasField("compiled")
    assert quick.timings.speedup_vs_eager == 0 and quick.timings.speedup_vs_compile == 0


@pytest.mark.parametrize("first, second", [(True, False), (False, True)])
async def test_cached_verdict_is_never_served_across_skip_baselines(first, second):
    pool = await _pool()
    try:
        candidate = _candidate("MS:0.7 same")
        a = await pool.evaluate(TASK, candidate, _options(skip_baselines=first), 30)
        b = await pool.evaluate(TASK, candidate, _options(skip_baselines=second), 30)
        again = await pool.evaluate(TASK, candidate, _options(skip_baselines=second), 30)
    finally:
        await pool.stop()
    assert not a.cached and not b.cached, "a different skip_baselines is a different cache entry"
    assert again.cached, "the same request is served from the cache"
    full = b if not second else a
    assert full.timings.eager.median_ms > 0 and full.timings.speedup_vs_eager > 0


async def test_a_repeat_measurement_is_timed_anew_not_served_from_the_cache():
    assert _options()["measurement"] == 0 and _options(measurement=1)["measurement"] == 1
    pool = await _pool()
    try:
        candidate = _candidate("MS:0.6 confirmed")
        first = await pool.evaluate(TASK, candidate, _options(), 30)
        repeat = await pool.evaluate(TASK, candidate, _options(measurement=1), 30)
        again = await pool.evaluate(TASK, candidate, _options(measurement=1), 30)
    finally:
        await pool.stop()
    assert not first.cached and not repeat.cached, "measurement 1 is a new evaluation on the worker"
    assert again.cached, "the same repeat asked twice is one measurement"
    assert repeat.timings.eager.median_ms > 0 and repeat.outcome == first.outcome
