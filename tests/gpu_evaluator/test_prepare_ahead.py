"""Preparing queued candidates ahead (static checks + build into the worker's cache), on the CPU.

The worker side runs with a CPU WorkerContext (worker.serve_jobs), so the pool, the hand-over and
the worker's reuse of prepared findings are the real code; only the GPU is missing (a fast-format
candidate that passes its static checks ends at loading the CUBIN, identically with or without
preparation).
"""

from __future__ import annotations

import asyncio
import textwrap
import threading
import time
from pathlib import Path

import pytest
import torch

from kernelwright.common.v1 import hardware_pb2, kernel_pb2, task_pb2, verdict_pb2
from kernelwright.gpu_evaluator import pipeline, pool as pool_mod, prepare
from kernelwright.gpu_evaluator.gpus import fake_gpus, visible_gpus
from kernelwright.gpu_evaluator.nvrtc_build import compile_cuda, nvcc_path, nvrtc_available
from kernelwright.gpu_evaluator.pool import WorkerPool, candidate_id
from kernelwright.gpu_evaluator.simulated_worker import simulated_worker_main
from kernelwright.gpu_evaluator.static_checks import static_verdict_checks
from kernelwright.translator.builtin.proposer import BuiltinProposer
from kernelwright.translator.proposers.base import ProposalRequest

V = verdict_pb2
TASK = textwrap.dedent("""
    import torch
    import torch.nn as nn
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(12, 7)
        def forward(self, x):
            return torch.relu(self.fc(x)) * 2.0
    def get_inputs():
        return [torch.randn(5, 12)]
    def get_init_inputs():
        return []
""")
PROGRAM = task_pb2.FunctionalProgram(inputs=[task_pb2.TensorSpec(shape=[5, 12], dtype="float32")],
                                     parameter_names=["fc.weight", "fc.bias"])
KB_FALLBACK = textwrap.dedent("""
    import torch
    from torch.utils.cpp_extension import load_inline
    src = 'extern "C" __global__ void k(float* x) { x[0] = 1.0f; }'
    class ModelNew(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(12, 7)
        def forward(self, x):
            try:
                return load_inline("m", cpp_sources="", cuda_sources=src).k(x)
            except Exception:
                return torch.relu(self.fc(x)) * 2.0
""")
needs_compiler = pytest.mark.skipif(not (nvrtc_available() or nvcc_path()), reason="no NVRTC or nvcc here")


def _builtin_candidate(program: task_pb2.FunctionalProgram | None = PROGRAM) -> kernel_pb2.KernelCandidate:
    """The builtin generator's first candidate for TASK (a linear call plus a relu*2 kernel)."""
    request = ProposalRequest("t", TASK, "", format=kernel_pb2.CANDIDATE_FORMAT_FAST)
    candidate = BuiltinProposer().propose_sync(request).candidates[0]
    if program is not None:
        candidate.program.CopyFrom(program)
    candidate.id = candidate_id(candidate)
    return candidate


def _unknown_kernel_candidate() -> kernel_pb2.KernelCandidate:
    """Statically rejected: the plan launches a kernel the source does not define."""
    candidate = _builtin_candidate()
    for step in candidate.plan.steps:
        if step.WhichOneof("step") == "launch":
            step.launch.kernel = "kw_not_defined"
    candidate.id = candidate_id(candidate)
    return candidate


def _unknown_param_candidate() -> kernel_pb2.KernelCandidate:
    """Statically rejected only with the task's names: the plan reads a parameter the model lacks."""
    candidate = _builtin_candidate()
    for step in candidate.plan.steps:
        if step.WhichOneof("step") == "library_call":
            for arg in step.library_call.args:
                if arg.tensor == "fc_weight":
                    arg.tensor = "fc_missing"
    candidate.program.parameter_names.append("fc.missing")  # the program (wrongly) claims it exists
    candidate.id = candidate_id(candidate)
    return candidate


def _kb_candidate() -> kernel_pb2.KernelCandidate:
    c = kernel_pb2.KernelCandidate(format=kernel_pb2.CANDIDATE_FORMAT_KERNELBENCH, kernelbench_source=KB_FALLBACK)
    c.id = candidate_id(c)
    return c


def _cpu_task() -> pipeline.TaskState:
    return pipeline.WorkerContext(torch.device("cpu"), None, None).task(TASK)


def _without_phases(verdict: V.Verdict) -> bytes:
    copy = V.Verdict()
    copy.CopyFrom(verdict)
    copy.ClearField("phase_seconds")
    return copy.SerializeToString(deterministic=True)


def _prepare(candidate, tmp_path: Path, capabilities=("9.0",), **options) -> prepare.Preparation:
    return prepare.prepare_candidate(TASK, candidate, {"cache_dir": str(tmp_path), **options}, list(capabilities))


# ---------------------------------------------------------------------------------------------
# Static hand-over
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [_builtin_candidate, _unknown_kernel_candidate, _kb_candidate],
                         ids=["accepted", "rejected_unknown_kernel", "kernelbench_rejected"])
def test_prepared_findings_are_the_workers_own(make, tmp_path):
    candidate = make()
    task = _cpu_task()
    prepared = _prepare(candidate, tmp_path, arch="sm_90a")
    assert prepared.static is not None
    own = pipeline.static_findings(task, TASK, candidate)
    reused = prepare.reuse_prepared_findings(prepared.static, candidate, [f"in{i}" for i in range(task.n_inputs)],
                                             ["fc_weight", "fc_bias"])
    assert reused is not None, "the names match: the worker must reuse the prepared findings"
    assert reused == own
    assert prepared.static_failed == any(not f.passed for f in own)
    assert prepared.static_failed == (make is not _builtin_candidate)


def test_findings_computed_with_other_names_are_not_reused(tmp_path):
    candidate = _unknown_param_candidate()
    prepared = _prepare(candidate, tmp_path, arch="sm_90a")
    # With the program's (wrong) names the plan looks valid; the task has no fc_missing.
    assert prepared.static is not None and not prepared.static_failed
    task = _cpu_task()
    assert prepare.reuse_prepared_findings(prepared.static, candidate, ["in0"], ["fc_weight", "fc_bias"]) is None
    own = pipeline.static_findings(task, TASK, candidate, prepared.static)
    assert any(not f.passed and "fc_missing" in f.message for f in own)
    ctx = pipeline.WorkerContext(torch.device("cpu"), hardware_pb2.Hardware(gpu_name="cpu"), None)
    opts = pipeline.EvalOptions(arch="sm_90a", cache_dir=str(tmp_path))
    with_prep = pipeline.evaluate(ctx, TASK, candidate, opts, prepared_static=prepared.static)
    without = pipeline.evaluate(ctx, TASK, candidate, opts)
    assert with_prep.outcome == V.VERDICT_OUTCOME_REJECTED_STATIC
    assert _without_phases(with_prep) == _without_phases(without)


def test_fast_candidate_without_a_program_hands_over_nothing(tmp_path):
    prepared = _prepare(_builtin_candidate(program=None), tmp_path, arch="sm_90a")
    assert prepared.static is None  # the worker's names are unknown: it runs the checks itself


@pytest.mark.parametrize("make", [_unknown_kernel_candidate, _kb_candidate], ids=["fast", "kernelbench"])
def test_static_rejection_is_the_same_verdict_with_and_without_preparation(make, tmp_path):
    candidate = make()
    ctx = pipeline.WorkerContext(torch.device("cpu"), hardware_pb2.Hardware(gpu_name="cpu"), None)
    opts = pipeline.EvalOptions(arch="sm_90a", cache_dir=str(tmp_path))
    prepared = _prepare(candidate, tmp_path, arch="sm_90a")
    assert prepared.static_failed and prepared.built_arch == ""  # rejected: nothing built
    with_prep = pipeline.evaluate(ctx, TASK, candidate, opts, prepared_static=prepared.static)
    without = pipeline.evaluate(ctx, TASK, candidate, opts)
    assert with_prep.outcome == V.VERDICT_OUTCOME_REJECTED_STATIC
    assert with_prep.message == without.message and with_prep.message.startswith("static.")
    assert _without_phases(with_prep) == _without_phases(without)
    assert "build" not in with_prep.phase_seconds


# ---------------------------------------------------------------------------------------------
# Build into the worker's cache, only for a certain arch
# ---------------------------------------------------------------------------------------------


@needs_compiler
def test_preparation_fills_the_workers_build_cache(tmp_path):
    candidate = _builtin_candidate()
    prepared = _prepare(candidate, tmp_path, capabilities=("9.0", "9.0"))
    assert prepared.built_arch == "sm_90a", prepared.notes
    # The worker's call (FastRunner) with the arch it would pick: a cache hit.
    hit = compile_cuda(candidate.cuda_source, arch="sm_90a", cache_dir=tmp_path / "nvrtc")
    assert hit.ok and hit.cached


@pytest.mark.parametrize("capabilities", [("9.0", "8.0"), ("",), ()], ids=["mixed", "unreported", "no_workers"])
def test_no_build_when_the_arch_is_not_certain(capabilities, tmp_path):
    prepared = _prepare(_builtin_candidate(), tmp_path, capabilities=capabilities)
    assert prepared.built_arch == ""
    assert prepared.static is not None  # the static part is still prepared
    assert not (tmp_path / "nvrtc").exists()


@needs_compiler
def test_configured_arch_wins_over_the_workers(tmp_path):
    prepared = _prepare(_builtin_candidate(), tmp_path, capabilities=("9.0", "8.0"), arch="sm_80")
    assert prepared.built_arch == "sm_80"


@pytest.mark.parametrize("major,minor", [(8, 0), (8, 6), (9, 0), (10, 0), (12, 0)])
def test_arch_from_capability_is_the_workers_default_arch(major, minor, monkeypatch):
    from kernelwright.gpu_evaluator import fast_runner

    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (major, minor))
    assert prepare.arch_for_capability(f"{major}.{minor}") == fast_runner.default_arch(torch.device("cuda:0"))


def test_relative_cache_dir_is_not_built_into(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    prepared = prepare.prepare_candidate(TASK, _builtin_candidate(), {"cache_dir": "rel"}, ["9.0"])
    assert prepared.built_arch == "" and not (tmp_path / "rel").exists()


# ---------------------------------------------------------------------------------------------
# The pool: end to end with a CPU worker, fallbacks, order, bounds
# ---------------------------------------------------------------------------------------------


class _SlowConn:
    """The worker's pipe, answering each job only after a pause: the "GPU" stays busy a while."""

    def __init__(self, conn, pause_s: float) -> None:
        self._conn, self._pause_s = conn, pause_s

    def recv(self):
        return self._conn.recv()

    def send(self, message):
        if message[0] == "result":
            time.sleep(self._pause_s)
        self._conn.send(message)

    def close(self):
        self._conn.close()


def cpu_worker_main(conn, pool, options, gpu_product="", env=None):
    """The real worker loop with a CPU context (spawn target: must be a module-level function)."""
    import os

    from kernelwright.gpu_evaluator import worker

    os.environ.update(env or {})
    hardware = hardware_pb2.Hardware(gpu_name="CPU stand-in", compute_capability="9.0", pool=pool)
    ctx = pipeline.WorkerContext(torch.device("cpu"), hardware, None)
    worker.serve_jobs(_SlowConn(conn, 0.6), ctx, options)


async def _pool(worker=simulated_worker_main, prepare_ahead=2, options=None, n_gpus=1, prep_wait_s=120.0):
    gpus = visible_gpus("all", env={}, probe=fake_gpus(",".join(["NVIDIA H100 80GB HBM3;80"] * n_gpus)))
    pool = WorkerPool(gpus, pool_name="test", options=options or {}, queue_capacity=16, startup_timeout_s=120,
                      worker_target=worker, prepare_ahead=prepare_ahead, prep_wait_s=prep_wait_s)
    await pool.start()
    return pool


async def _evaluate_in_order(pool, candidates, options=None):
    """Submit in order (each enqueued before the next); verdicts and the order they completed in."""
    done: list[int] = []
    tasks = []
    for i, c in enumerate(candidates):
        task = asyncio.create_task(pool.evaluate(TASK, c, dict(options or {}), 60))
        task.add_done_callback(lambda _t, i=i: done.append(i))
        tasks.append(task)
        await asyncio.sleep(0)  # let evaluate() enqueue before the next submission
    return await asyncio.gather(*tasks), done


def _simulated(marker: str) -> kernel_pb2.KernelCandidate:
    c = kernel_pb2.KernelCandidate(format=kernel_pb2.CANDIDATE_FORMAT_FAST,
                                   cuda_source=f'extern "C" __global__ void k() {{}} // {marker}')
    c.id = candidate_id(c)
    return c


@needs_compiler
async def test_end_to_end_verdicts_are_the_same_with_and_without_preparation(tmp_path):
    # A leading job keeps the worker busy while the others are prepared.
    candidates = [_kb_candidate(), _builtin_candidate(), _unknown_kernel_candidate(), _unknown_param_candidate()]
    verdicts = {}
    for ahead in (2, 0):
        cache = tmp_path / f"cache-{ahead}"
        pool = await _pool(cpu_worker_main, prepare_ahead=ahead, options={"cache_dir": str(cache)})
        try:
            verdicts[ahead], order = await _evaluate_in_order(pool, candidates)
            assert order == [0, 1, 2, 3]
            prepared_in_time = pool._preparer.used
        finally:
            await pool.stop()
        if ahead:
            # Every job that waited behind the first (the first too when its preparation won the race).
            assert prepared_in_time >= 3
            assert all("prepare" in v.phase_seconds for v in verdicts[ahead][1:])
            assert (cache / "nvrtc").is_dir()  # the accepted candidate was built ahead, for sm_90a
        else:
            assert prepared_in_time == 0 and not any("prepare" in v.phase_seconds for v in verdicts[ahead])
    outcomes = [v.outcome for v in verdicts[0]]
    assert outcomes[2:] == [V.VERDICT_OUTCOME_REJECTED_STATIC] * 2
    assert outcomes[1] != V.VERDICT_OUTCOME_REJECTED_STATIC  # passed its checks; no GPU to load the CUBIN
    assert "fc_missing" in verdicts[2][3].message  # the worker's names, not the program's, decided
    for with_prep, without in zip(verdicts[2], verdicts[0]):
        assert _without_phases(with_prep) == _without_phases(without)


async def test_a_failing_preparation_falls_back_to_the_worker(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("preparation exploded")

    monkeypatch.setattr(pool_mod, "prepare_candidate", broken)
    pool = await _pool()
    try:
        verdicts, order = await _evaluate_in_order(pool, [_simulated(f"SLOW:0.3 job{i}") for i in range(4)])
        assert [v.outcome for v in verdicts] == [V.VERDICT_OUTCOME_ACCEPTED] * 4
        assert order == [0, 1, 2, 3]
        assert pool._preparer.failed >= 1 and pool._preparer.used == 0
        assert not any("prepare" in v.phase_seconds for v in verdicts)
    finally:
        await pool.stop()


async def test_an_executor_that_cannot_start_work_falls_back(monkeypatch):
    def refuse(self, fn):
        raise RuntimeError("cannot schedule new futures after shutdown")

    monkeypatch.setattr(prepare.Preparer, "_submit", refuse)
    pool = await _pool()
    try:
        verdicts, _ = await _evaluate_in_order(pool, [_simulated(f"SLOW:0.1 job{i}") for i in range(3)])
        assert [v.outcome for v in verdicts] == [V.VERDICT_OUTCOME_ACCEPTED] * 3
    finally:
        await pool.stop()


async def test_a_stuck_preparation_holds_its_job_back_only_for_the_bound(monkeypatch):
    release = threading.Event()

    def stuck(*args, **kwargs):
        release.wait(30)
        raise RuntimeError("released")

    monkeypatch.setattr(pool_mod, "prepare_candidate", stuck)
    pool = await _pool(prep_wait_s=1.0)
    try:
        start = time.monotonic()
        verdicts, order = await _evaluate_in_order(pool, [_simulated(f"SLOW:0.1 job{i}") for i in range(5)])
        elapsed = time.monotonic() - start
        assert 1.0 <= elapsed < 10, "held for prep_wait_s, then given to the worker without its preparation"
        assert order == [0, 1, 2, 3, 4]
        assert [v.outcome for v in verdicts] == [V.VERDICT_OUTCOME_ACCEPTED] * 5
        # Two preparations stuck: no third one started, and the jobs went to the worker without them.
        assert pool._preparer.running() == 2 and pool._preparer.late == 2
    finally:
        release.set()
        await pool.stop()


async def test_queue_order_is_unchanged_and_only_the_next_jobs_are_prepared(monkeypatch):
    started: list[str] = []
    real = prepare.prepare_candidate

    def recording(task_source, candidate, options, capabilities):
        started.append(candidate.cuda_source.split("// ")[1])
        time.sleep(0.05)
        return real(task_source, candidate, options, capabilities)

    monkeypatch.setattr(pool_mod, "prepare_candidate", recording)
    pool = await _pool(n_gpus=1)
    try:
        candidates = [_simulated(f"SLOW:0.3 job{i}") for i in range(6)]
        verdicts, order = await _evaluate_in_order(pool, candidates)
        assert order == list(range(6))
        assert [v.candidate_id for v in verdicts] == [c.id for c in candidates]
        # Preparations start in queue order, never more than two ahead of the worker.
        assert started == sorted(started, key=lambda s: int(s.split("job")[1]))
        assert pool._preparer.running() == 0
    finally:
        await pool.stop()


async def test_a_prepared_job_goes_before_an_older_one_still_preparing(monkeypatch):
    """The worker does not redo a build that is running in the background: it takes the next job
    whose preparation is done, and the older one once its own is."""
    real = prepare.prepare_candidate

    def slow_for_job1(task_source, candidate, options, capabilities):
        if "job1" in candidate.cuda_source:
            time.sleep(1.5)
        return real(task_source, candidate, options, capabilities)

    monkeypatch.setattr(pool_mod, "prepare_candidate", slow_for_job1)
    pool = await _pool()
    try:
        candidates = [_simulated(f"SLOW:0.3 job{i}") for i in range(4)]
        verdicts, order = await _evaluate_in_order(pool, candidates)
        assert order == [0, 2, 3, 1]
        assert [v.outcome for v in verdicts] == [V.VERDICT_OUTCOME_ACCEPTED] * 4
        assert pool._preparer.used == 4 and pool._preparer.late == 0, "every job ran with its own preparation"
        assert all("prepare" in v.phase_seconds for v in verdicts)
    finally:
        await pool.stop()


async def test_prepare_ahead_zero_does_nothing(monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(pool_mod, "prepare_candidate", lambda *a, **k: calls.append("called"))
    pool = await _pool(prepare_ahead=0)
    try:
        verdicts, order = await _evaluate_in_order(pool, [_simulated(f"SLOW:0.1 job{i}") for i in range(3)])
        assert order == [0, 1, 2]
        assert calls == [] and pool._preparer._executor is None
        assert not any(t.name.startswith("kw-prepare") for t in threading.enumerate())
        assert not any("prepare" in v.phase_seconds for v in verdicts)
    finally:
        await pool.stop()


async def test_the_setting_is_the_pools_default(monkeypatch):
    monkeypatch.setenv("KW_GPU_EVALUATOR_PREPARE_AHEAD", "3")
    pool = WorkerPool([], pool_name="t", options={}, queue_capacity=4, startup_timeout_s=1)
    assert pool._preparer.ahead == 3
    monkeypatch.delenv("KW_GPU_EVALUATOR_PREPARE_AHEAD")
    assert WorkerPool([], pool_name="t", options={}, queue_capacity=4, startup_timeout_s=1)._preparer.ahead == 4


def test_kernelbench_checks_ignore_names_as_the_reuse_rule_assumes():
    candidate = _kb_candidate()
    assert not prepare.names_matter(candidate)
    a = static_verdict_checks(candidate, task_source=TASK, input_names=["in0"], param_names=["fc_weight"])
    b = static_verdict_checks(candidate, task_source=TASK, input_names=["x", "y"], param_names=[])
    assert a == b and any(not f.passed for f in a)
