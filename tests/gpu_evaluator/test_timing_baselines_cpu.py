"""The pipeline's timing stage and verdict on the CPU: baselines that fail, baselines that are skipped.

Everything GPU-bound is replaced by a fake: the timer returns fixed milliseconds per callable (and calls
it once, so a callable that raises still raises), the candidate is a plain Python runner, static checks
and the launch proof pass. What is real is the pipeline's own logic: which timings are taken, which
checks are recorded, which suspicion applies, and the outcome.
"""

from __future__ import annotations

import textwrap

import pytest
import torch

from kernelwright.common.v1 import hardware_pb2, kernel_pb2, verdict_pb2
from kernelwright.gpu_evaluator import pipeline, static_checks
from kernelwright.gpu_evaluator.runners import CandidateRunner
from kernelwright.gpu_evaluator.timing import TimingResult

V = verdict_pb2
TASK = textwrap.dedent("""
    import torch
    class Model(torch.nn.Module):
        def forward(self, x):
            return torch.relu(x) * 2.0
    def get_inputs():
        return [torch.randn(16, 32)]
    def get_init_inputs():
        return []
""")
CANDIDATE_MS, EAGER_MS, COMPILED_MS = 1.0, 3.0, 2.0


class InductorError(RuntimeError):
    """Stands in for torch._inductor's exception type (only its name matters here)."""


class Runner(CandidateRunner):
    kernel_names = ["k"]

    def __call__(self, x):
        return torch.clamp_min(x, 0) * 2


class Fakes:
    """Installs the fakes; records what was compiled and timed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, compiled_error: Exception | None = None,
                 candidate_ms: float = CANDIDATE_MS) -> None:
        self.compiles = 0
        self.timed: list[str] = []
        self.runner = Runner()
        self.compiled_error = compiled_error
        self.candidate_ms = candidate_ms
        monkeypatch.setattr(static_checks, "static_verdict_checks", lambda *a, **k: [])
        monkeypatch.setattr(pipeline, "build_runner", lambda *a, **k: self.runner)
        monkeypatch.setattr(pipeline, "_launch_proof", lambda *a, **k: None)  # the proof holds
        monkeypatch.setattr(pipeline, "time_forward", self.time_forward)
        monkeypatch.setattr(torch, "compile", self.compile)

    def compile(self, model):
        self.compiles += 1
        error = self.compiled_error

        def compiled(*inputs):
            if error is not None:  # like Inductor: the failure surfaces on the first call
                raise error
            return model(*inputs)

        compiled.kind = "compiled"
        return compiled

    def time_forward(self, fn, input_sets, *, trials, warmup, flusher, refill=False, audit_sets=(), rng=None):
        out = fn(*input_sets[0])
        kind = "candidate" if fn is self.runner else getattr(fn, "kind", "eager")
        self.timed.append(kind)
        ms = {"candidate": self.candidate_ms, "eager": EAGER_MS, "compiled": COMPILED_MS}[kind]
        return TimingResult([ms] * trials, [(j, fn(*a)) for j, a in enumerate(audit_sets)])


def _context() -> pipeline.WorkerContext:
    return pipeline.WorkerContext(torch.device("cpu"), hardware_pb2.Hardware(gpu_name="Simulated"), None)


def _evaluate(ctx: pipeline.WorkerContext, **options) -> V.Verdict:
    candidate = kernel_pb2.KernelCandidate(id="c", format=kernel_pb2.CANDIDATE_FORMAT_FAST, cuda_source="//")
    opts = pipeline.EvalOptions(timing_trials=100, warmup=1, input_sets=1, **options)
    return pipeline.evaluate(ctx, TASK, candidate, opts)


def _check(verdict: V.Verdict, name: str) -> V.CheckResult | None:
    return next((c for c in verdict.checks if c.name == name), None)


def test_all_three_timings_when_nothing_fails(monkeypatch):
    fakes = Fakes(monkeypatch)
    verdict = _evaluate(_context())
    assert verdict.outcome == V.VERDICT_OUTCOME_ACCEPTED, verdict.message
    assert sorted(fakes.timed) == ["candidate", "compiled", "eager"]
    t = verdict.timings
    assert t.speedup_vs_eager == pytest.approx(EAGER_MS / CANDIDATE_MS)
    assert t.speedup_vs_compile == pytest.approx(COMPILED_MS / CANDIDATE_MS)
    assert _check(verdict, "baseline.torch_compile") is None


def test_torch_compile_failure_is_a_failed_baseline_check_not_the_candidates_failure(monkeypatch):
    fakes = Fakes(monkeypatch, compiled_error=InductorError("LoweringException: conv_transpose3d\nlong traceback"))
    ctx = _context()
    verdict = _evaluate(ctx)
    assert verdict.outcome == V.VERDICT_OUTCOME_ACCEPTED, verdict.message
    check = _check(verdict, "baseline.torch_compile")
    assert check is not None and not check.passed
    assert "InductorError: LoweringException: conv_transpose3d" in check.message
    assert "long traceback" not in check.message, "only the first line of the message"
    t = verdict.timings
    assert not t.HasField("compiled") and t.speedup_vs_compile == 0
    assert t.eager.median_ms == EAGER_MS and t.speedup_vs_eager == pytest.approx(EAGER_MS / CANDIDATE_MS)

    # A later candidate of the same task gets the same check without compiling again.
    again = _evaluate(ctx)
    assert fakes.compiles == 1
    assert again.outcome == V.VERDICT_OUTCOME_ACCEPTED
    assert _check(again, "baseline.torch_compile").message == check.message
    assert fakes.timed.count("compiled") == 0


def test_fatal_cuda_error_while_timing_the_compile_baseline_still_propagates(monkeypatch):
    Fakes(monkeypatch, compiled_error=RuntimeError("CUDA error: an illegal memory access was encountered"))
    ctx = _context()
    with pytest.raises(RuntimeError, match="illegal memory access"):
        _evaluate(ctx)
    assert not next(iter(ctx.tasks.values())).compile_failure, "a fatal error is not remembered as the baseline's"


def test_without_a_compile_baseline_the_ten_x_check_does_not_apply_but_the_roofline_does(monkeypatch):
    # 30x faster than eager; no compile time to compare with, so no TEN_X_COMPILE re-verification.
    Fakes(monkeypatch, compiled_error=InductorError("boom"), candidate_ms=0.1)
    verdict = _evaluate(_context())
    assert verdict.outcome == V.VERDICT_OUTCOME_ACCEPTED, verdict.message
    assert V.SUSPICION_FLAG_TEN_X_COMPILE not in verdict.suspicion
    assert not any(c.name.startswith("correctness.extra-") for c in verdict.checks)

    # Under the roofline bound: still SUSPICIOUS without the compile baseline.
    Fakes(monkeypatch, compiled_error=InductorError("boom"), candidate_ms=1e-9)
    verdict = _evaluate(_context())
    assert verdict.outcome == V.VERDICT_OUTCOME_SUSPICIOUS
    assert V.SUSPICION_FLAG_BEATS_ROOFLINE in verdict.suspicion and verdict.timings.speedup_vs_eager == 0


def test_ten_x_vs_a_working_compile_baseline_is_still_reverified(monkeypatch):
    Fakes(monkeypatch, candidate_ms=0.1)
    verdict = _evaluate(_context())
    assert verdict.outcome == V.VERDICT_OUTCOME_ACCEPTED, verdict.message
    assert V.SUSPICION_FLAG_TEN_X_COMPILE in verdict.suspicion


def test_skipping_baselines_times_only_the_candidate(monkeypatch):
    fakes = Fakes(monkeypatch)
    verdict = _evaluate(_context(), baselines=False)
    assert verdict.outcome == V.VERDICT_OUTCOME_ACCEPTED, verdict.message
    assert fakes.timed == ["candidate"] and fakes.compiles == 0
    t = verdict.timings
    assert t.candidate.median_ms == CANDIDATE_MS
    assert not t.HasField("eager") and not t.HasField("compiled")
    assert t.speedup_vs_eager == 0 and t.speedup_vs_compile == 0
    assert t.roofline_bound_ms > 0 and "candidate only" in verdict.message


def test_skipping_baselines_keeps_the_roofline_suspicion(monkeypatch):
    Fakes(monkeypatch, candidate_ms=1e-9)
    verdict = _evaluate(_context(), baselines=False)
    assert verdict.outcome == V.VERDICT_OUTCOME_SUSPICIOUS
    assert V.SUSPICION_FLAG_BEATS_ROOFLINE in verdict.suspicion
