"""The evaluation pipeline on a real GPU (skipped without one): honest passes, faults are verdicts."""

from pathlib import Path

import pytest

from kernelwright.common.v1 import verdict_pb2

pytestmark = pytest.mark.gpu
FAULTS = Path(__file__).parent / "faults"
V = verdict_pb2


@pytest.fixture(scope="module")
def ctx():
    from kernelwright.gpu_evaluator.worker import make_context

    return make_context("test")


def _evaluate(ctx, name, tmp_path, **opts):
    from kernelwright.gpu_evaluator.candidate_files import load_candidate
    from kernelwright.gpu_evaluator.pipeline import EvalOptions, evaluate

    task = (FAULTS / "task_vector_add.py").read_text()
    return evaluate(ctx, task, load_candidate(FAULTS / name), EvalOptions(cache_dir=str(tmp_path), **opts))


def test_honest_fast_candidate_is_accepted_and_timed(ctx, tmp_path):
    v = _evaluate(ctx, "honest.cu", tmp_path)
    assert v.outcome == V.VERDICT_OUTCOME_ACCEPTED, v.message
    assert v.correct and v.compiled and "vector_add" in " ".join(v.launched_kernels)
    t = v.timings
    assert t.candidate.trials >= 100 and t.eager.median_ms > 0 and t.compiled.median_ms > 0
    assert t.speedup_vs_eager > 0 and t.speedup_vs_compile > 0
    assert {"static", "build", "verify", "time", "reverify"} <= set(v.phase_seconds)
    assert len([c for c in v.checks if c.name.startswith("correctness.")]) >= 6


def test_verify_only_skips_timing(ctx, tmp_path):
    v = _evaluate(ctx, "honest.cu", tmp_path, verify_only=True)
    assert v.outcome == V.VERDICT_OUTCOME_VERIFIED_UNTIMED and not v.timings.candidate.trials


@pytest.mark.parametrize("launcher", ["cuda-python", "pycuda"])
def test_both_launch_back_ends_agree(ctx, tmp_path, launcher):
    pytest.importorskip("pycuda" if launcher == "pycuda" else "cuda.bindings")
    v = _evaluate(ctx, "honest.cu", tmp_path, verify_only=True, launcher=launcher)
    assert v.outcome == V.VERDICT_OUTCOME_VERIFIED_UNTIMED, v.message


def test_a_fast_kernel_that_zeroes_its_weight_is_inputs_modified(ctx, tmp_path):
    """writes_weight.cu computes x * weight correctly, then zeroes the weight pointer it was handed."""
    from kernelwright.gpu_evaluator.candidate_files import load_candidate
    from kernelwright.gpu_evaluator.pipeline import EvalOptions, evaluate

    task = (FAULTS / "task_scale_by_weight.py").read_text()
    v = evaluate(ctx, task, load_candidate(FAULTS / "writes_weight.cu"), EvalOptions(cache_dir=str(tmp_path)))
    assert v.outcome == V.VERDICT_OUTCOME_INPUTS_MODIFIED, v.message
    check = next(c for c in v.checks if c.name == "parameters_unmodified")
    assert not check.passed and "weight" in check.message
