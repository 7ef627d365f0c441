"""Timing with inputs rewritten in place and audited outputs (timing.py ``refill``/``audit_sets``, the
pipeline's ``timing.outputs_audited``), on the CPU: CUDA events and synchronize are faked, the
candidates are plain Python. A result cached by input pointer — the way any spelling of such a cache
behaves — passes every correctness trial (fresh tensors) but fails the audit; an honest one passes."""

from __future__ import annotations

import random

import pytest
import torch

from kernelwright.common.v1 import verdict_pb2
from kernelwright.gpu_evaluator import pipeline, timing

V = verdict_pb2


class _Event:
    def __init__(self, enable_timing=False):
        pass

    def record(self):
        pass

    def elapsed_time(self, other):
        return 1.0


class _Flusher:
    def flush(self):
        pass


@pytest.fixture(autouse=True)
def _no_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "Event", _Event)
    monkeypatch.setattr(torch.cuda, "synchronize", lambda *a: None)


def honest(x):
    return torch.relu(x) * 2.0


class PointerCache:
    """Computes once per input pointer, then returns that output (e.g. a dict keyed by data_ptr)."""

    def __init__(self, refresh_every: int = 0):
        self.cache, self.calls, self.refresh_every = {}, 0, refresh_every

    def __call__(self, x):
        self.calls += 1
        key = x.data_ptr()
        if key not in self.cache or (self.refresh_every and self.calls % self.refresh_every == 0):
            self.cache[key] = honest(x)
        return self.cache[key]


def _sets(n=3, base=0):
    return [[torch.randn(8, 16, generator=torch.Generator().manual_seed(base + s))] for s in range(n)]


def _audit_fails(fn, seed) -> bool:
    sets, audit = _sets(), _sets(8, base=100)
    result = timing.time_forward(fn, sets, trials=100, warmup=5, flusher=_Flusher(), refill=True, audit_sets=audit,
                                 rng=random.Random(seed))
    assert sorted(j for j, _ in result.kept) == list(range(8)) and len(result.times_ms) == 100
    task = pipeline.TaskState(module=None, model=honest, init_inputs=[], seed=0)
    return pipeline._audit_timed_outputs(task, audit, result.kept, V.Verdict()) is not None


class CacheFromCall(PointerCache):
    """Computes honestly until call ``start``, then keeps the output of that call for its pointer."""

    def __init__(self, start: int):
        super().__init__()
        self.start = start

    def __call__(self, x):
        self.calls += 1
        if self.calls < self.start:
            return honest(x)
        self.cache.setdefault(x.data_ptr(), honest(x))
        return self.cache[x.data_ptr()]


@pytest.mark.parametrize("seed", range(20))
def test_a_pointer_cache_fails_the_audit_and_an_honest_kernel_passes(seed):
    assert _audit_fails(PointerCache(), seed), "a result computed once and reused must be caught every time"
    assert not _audit_fails(honest, seed)


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("start", [1, 6, 30, 55])
def test_a_cache_used_for_enough_trials_to_move_the_median_is_caught(seed, start):
    """Calls 1-5 are warm-up; from call ``start`` on the result is reused (call 55: the last 51 trials)."""
    assert _audit_fails(CacheFromCall(start), seed)


class EveryOtherCall(PointerCache):
    def __call__(self, x):
        self.calls += 1
        if self.calls % 2 or x.data_ptr() not in self.cache:
            self.cache[x.data_ptr()] = honest(x)
        return self.cache[x.data_ptr()]


@pytest.mark.parametrize("seed", range(20))
def test_a_result_reused_on_every_other_call_is_caught(seed):
    """Escapes 8 audits with probability 2**-8; these seeds are fixed, so the test is deterministic."""
    assert _audit_fails(EveryOtherCall(), seed)


@pytest.mark.parametrize("seed", range(10))
def test_a_cache_refreshed_now_and_then_is_still_caught(seed):
    assert _audit_fails(PointerCache(refresh_every=7), seed)


def test_without_refill_the_same_cache_would_pass():
    """Why refill exists: with the input sets rotated as distinct tensors, a pointer cache is right."""
    sets = _sets()
    cache = PointerCache()
    result = timing.time_forward(cache, sets, trials=100, warmup=5, flusher=_Flusher())
    assert len(cache.cache) == 3 and all(torch.equal(cache(s[0]), honest(s[0])) for s in sets)
    assert result.kept == []
    with pytest.raises(ValueError):
        timing.time_forward(cache, sets, trials=1, warmup=0, flusher=_Flusher(), audit_sets=sets)


def test_refill_never_hands_the_callable_the_callers_tensors():
    sets = _sets()
    seen = set()

    def record(x):
        seen.add(x.data_ptr())
        return honest(x)

    timing.time_forward(record, sets, trials=20, warmup=2, flusher=_Flusher(), refill=True)
    assert len(seen) == 1 and not seen & {s[0].data_ptr() for s in sets}
    assert all(torch.equal(s[0], _sets()[i][0]) for i, s in enumerate(sets)), "the input sets stay intact"


def test_the_audit_failure_is_a_wrong_answer_with_a_named_check():
    sets, audit = _sets(), _sets(1, base=100)
    result = timing.time_forward(PointerCache(), sets, trials=10, warmup=1, flusher=_Flusher(), refill=True,
                                 audit_sets=audit, rng=random.Random(1))
    verdict = V.Verdict()
    task = pipeline.TaskState(module=None, model=honest, init_inputs=[], seed=0)
    assert pipeline._audit_timed_outputs(task, audit, result.kept, verdict) == V.VERDICT_OUTCOME_WRONG_ANSWER
    check = verdict.checks[-1]
    assert check.name == "timing.outputs_audited" and not check.passed and "cached" in check.message


@pytest.mark.gpu
def test_on_the_gpu_a_cpp_pointer_cache_is_caught_by_the_audit(tmp_path, monkeypatch):
    from pathlib import Path

    from kernelwright.gpu_evaluator.candidate_files import load_candidate
    from kernelwright.gpu_evaluator.pipeline import EvalOptions, evaluate
    from kernelwright.gpu_evaluator.worker import make_context

    monkeypatch.undo()  # real CUDA events and synchronize
    adversarial = Path(__file__).parent / "adversarial"
    task = (adversarial / "task_scale_add.py").read_text()
    verdict = evaluate(make_context("test"), task, load_candidate(adversarial / "adv_cpp_pointer_cache.py"),
                       EvalOptions(cache_dir=str(tmp_path)))
    assert verdict.outcome == V.VERDICT_OUTCOME_WRONG_ANSWER, verdict.message
    assert any(c.name == "timing.outputs_audited" and not c.passed for c in verdict.checks)


TASK = """
import torch
class Model(torch.nn.Module):
    def forward(self, x):
        return torch.relu(x) * 2.0
def get_inputs():
    return [torch.randn(8, 16)]
def get_init_inputs():
    return []
"""


@pytest.mark.parametrize("lazy", [False, True], ids=["held_audit_sets", "lazy_audit_sets"])
@pytest.mark.parametrize("cheat", [False, True])
def test_the_pipeline_times_with_refill_and_rejects_a_cache(monkeypatch, cheat, lazy):
    """pipeline.evaluate with the real time_forward (fake events): the audit is wired in end to end."""
    from kernelwright.common.v1 import hardware_pb2, kernel_pb2
    from kernelwright.gpu_evaluator import static_checks
    from kernelwright.gpu_evaluator.runners import CandidateRunner

    class Runner(CandidateRunner):
        kernel_names = ["k"]

        def __init__(self):
            self.calls, self.cache = 0, PointerCache()

        def __call__(self, x):
            self.calls += 1  # the cheat waits until the correctness trials are over, then caches
            return self.cache(x) if cheat and self.calls > 20 else honest(x)

    monkeypatch.setattr(static_checks, "static_verdict_checks", lambda *a, **k: [])
    monkeypatch.setattr(pipeline, "build_runner", lambda *a, **k: Runner())
    monkeypatch.setattr(pipeline, "_launch_proof", lambda *a, **k: None)
    monkeypatch.setattr(pipeline, "_audit_is_lazy", lambda *a: lazy)
    ctx = pipeline.WorkerContext(torch.device("cpu"), hardware_pb2.Hardware(gpu_name="Simulated"), _Flusher())
    candidate = kernel_pb2.KernelCandidate(id="c", format=kernel_pb2.CANDIDATE_FORMAT_FAST, cuda_source="//")
    verdict = pipeline.evaluate(ctx, TASK, candidate, pipeline.EvalOptions(baselines=False, input_sets=3))
    audit = [c for c in verdict.checks if c.name == "timing.outputs_audited"]
    assert len(audit) == 1 and audit[0].passed is (not cheat)
    assert verdict.outcome == (V.VERDICT_OUTCOME_WRONG_ANSWER if cheat else V.VERDICT_OUTCOME_ACCEPTED), verdict.message


def _lazy_audit_fails(fn, seed) -> bool:
    """As _audit_fails, with the audit sets made one at a time and each output checked right after its trial."""
    made = []

    def make(j):
        made.append(j)
        return _sets(1, base=100 + j)[0]

    audit = timing.LazySets(8, make)
    misses = []

    def check(j, out):
        if not torch.equal(out, honest(audit[j][0])):
            misses.append(j)

    result = timing.time_forward(fn, _sets(), trials=100, warmup=5, flusher=_Flusher(), refill=True,
                                 audit_sets=audit, rng=random.Random(seed), on_audited=check)
    assert result.kept == [] and made == list(range(8)), "each audit set is made once, in order"
    return bool(misses)


@pytest.mark.parametrize("seed", range(10))
def test_lazy_audit_sets_catch_the_same_caches(seed):
    assert not _lazy_audit_fails(honest, seed)
    for cheat in (PointerCache(), EveryOtherCall(), CacheFromCall(30), PointerCache(refresh_every=7)):
        assert _lazy_audit_fails(cheat, seed), type(cheat).__name__


def test_lazy_sets_keep_only_the_latest_set():
    calls = []
    sets = timing.LazySets(3, lambda j: calls.append(j) or [j])
    assert len(sets) == 3 and sets[0] == [0] and sets[0] == [0] and sets[1] == [1] and sets[0] == [0]
    assert calls == [0, 1, 0]
    with pytest.raises(IndexError):
        sets[3]


def test_audit_sets_are_lazy_only_when_they_would_fill_a_fifth_of_the_gpu(monkeypatch):
    class Props:
        total_memory = 140 * 2**30

    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda *a: Props())
    gpu = torch.device("cuda")
    six_gib = [torch.empty(4096, 393216, device="meta")]  # level-1 elementwise inputs (25_Swish)
    small = [torch.empty(128, 3, 32, 32, device="meta")]
    assert pipeline._audit_is_lazy(six_gib, gpu) and not pipeline._audit_is_lazy(small, gpu)
    assert not pipeline._audit_is_lazy(six_gib, torch.device("cpu"))
