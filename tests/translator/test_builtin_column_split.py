"""Column splits (thread-per-output reductions with too few outputs): partial kernel + combine kernel.

Numerics on the CPU emulator (split against unsplit and against PyTorch, at the task batch and at
batch + 1), the shape of what is generated (two kernels per stage, the [part][output] scratch in
the plan, the grids), when the auto setting splits, and that the kernels compile with NVRTC for
sm_90a.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from kernelwright.gpu_evaluator import plan as plan_mod
from kernelwright.translator.builtin import LoweringSchedule, analyze_program, build_candidate
from kernelwright.translator.builtin.stage_reduce import COLUMN_FILL_THREADS, COLUMN_MIN_OUTPUTS, column_split_count

from . import cuda_emulator
from .builtin_synthetic import task
from .test_builtin_lowering import _check_outputs, _compiler_ok, _run

# Reduced dims that are not innermost, at least 32 outputs. The batch dim is the reduced one (the
# extent follows the batch) or a kept one (the output count does). Extents 70 and 71 (batch + 1)
# divide neither into 8 parts (chunk 9) nor into 32 (chunk 3: the last 8 parts are empty).
COLUMN_TASKS = {
    "batchnorm1d_train": task("return self.bn(x)", "torch.randn(70, 40)", "        self.bn = nn.BatchNorm1d(40)"),
    "sum_mean_amax_argmin_dim0": task(
        "return x.sum(dim=0), x.mean(dim=0), torch.amax(x, dim=0), torch.argmin(x, dim=0), "
        "torch.argmax(torch.clamp(x, max=0.5), dim=0)",  # ties across parts: the smallest index wins
        "torch.randn(70, 48)"),
    "var_dim0": task("return x.var(dim=0), x.var(dim=0, correction=0)", "torch.randn(70, 33) * 3 + 5"),
    "middle_dim": task(
        "return x.sum(dim=1), x.mean(dim=1), torch.amax(x, dim=1), torch.amin(x, dim=1), "
        "torch.argmin(x, dim=1), torch.argmax(x, dim=1), torch.prod(1 + 0.01 * x, dim=1), x.var(dim=1)",
        "torch.randn(4, 70, 40)"),
}
SPLIT_8 = LoweringSchedule(reduce_splits=8)
SPLIT_32 = LoweringSchedule(block_size=64, reduce_splits=32)
UNSPLIT = LoweringSchedule(reduce_splits=1)
COLUMN_PARTIAL = "(column split, thread per (output, part))"


def _kernels(cand) -> list[str]:
    return [s.launch.kernel for s in cand.plan.steps if s.WhichOneof("step") == "launch"]


def _column_split_stages(cand) -> int:
    """Stages the source's header lists as column-split partial kernels."""
    return sum(COLUMN_PARTIAL in line for line in cand.cuda_source.splitlines() if line.startswith("//   "))


def _reduce_stages(prog) -> int:
    return sum(st.kind == "reduce" for st in prog.stages)


@pytest.mark.skipif(not cuda_emulator.available(), reason="g++ not available")
@pytest.mark.parametrize("name", sorted(COLUMN_TASKS))
@pytest.mark.parametrize("vary", [False, True], ids=["task_batch", "batch_plus_one"])
def test_column_split_matches_unsplit_and_pytorch(name: str, vary: bool) -> None:
    src = COLUMN_TASKS[name]
    prog = analyze_program(src)
    assert prog, prog.reason
    for sched in (SPLIT_8, SPLIT_32, LoweringSchedule()):
        # The schedule column-splits every reduce stage of the task (auto: 4 parts of 70).
        assert _column_split_stages(build_candidate(prog, sched)) == _reduce_stages(prog) > 0
    assert COLUMN_PARTIAL not in build_candidate(prog, UNSPLIT).cuda_source
    exp, unsplit = _run(src, UNSPLIT, vary)
    _check_outputs(exp, unsplit)
    for sched in (SPLIT_8, SPLIT_32, LoweringSchedule()):
        _, got = _run(src, sched, vary)
        _check_outputs(exp, got)
        for u, g in zip(unsplit, got):
            if u.dtype == torch.int64:
                assert torch.equal(u, g)
            else:
                torch.testing.assert_close(g, u, atol=2e-5, rtol=2e-5)


def test_column_split_plan_has_two_kernels_and_part_major_scratch() -> None:
    prog = analyze_program(COLUMN_TASKS["batchnorm1d_train"])
    assert prog
    cand = build_candidate(prog, SPLIT_8)
    kernels = _kernels(cand)
    # var and mean statistics (sibling reductions, one kernel): a partial kernel, its combine kernel, the apply.
    assert len(kernels) == 3
    assert kernels[1] == f"{kernels[0]}_combine"
    src = cand.cuda_source
    assert "atomic" not in src and "__shared__" not in src and "__shfl" not in src
    allocs = {a.name: (a.dtype, [d.expr for d in a.shape]) for a in cand.plan.allocations}
    parts = {n: v for n, v in allocs.items() if "_part" in n}
    # var (and the mean with it): the part's sum and its squared deviations, in double.
    assert sorted(parts.values()) == [("float64", ["8 * 40"])] * 2
    launches = [s.launch for s in cand.plan.steps if s.WhichOneof("step") == "launch"]
    assert [ln.grid[0].expr for ln in launches[:2]] == ["max(1, min(ceil_div(8 * 40, 256), 262144))",
                                                        "max(1, min(ceil_div(40, 256), 262144))"]
    assert [ln.block[0].expr for ln in launches[:2]] == ["256", "256"]
    # The extent follows the batch: the kernels take it as a size argument, not a literal.
    assert any(a.int_expr.expr == "in0.shape[0]" for a in launches[0].args if not a.tensor)
    written = {a.tensor for a in launches[0].args if a.tensor} & {a.tensor for a in launches[1].args if a.tensor}
    assert written and all("_part" in t for t in written)
    plan_mod.validate_plan(cand.plan, kernels=plan_mod.parse_kernel_signatures(src),
                           param_names=["bn_weight", "bn_bias", "bn_running_mean", "bn_running_var",
                                        "bn_num_batches_tracked"],
                           input_names=["in0"])


def test_column_split_scratch_follows_a_batch_dependent_output_count() -> None:
    prog = analyze_program(COLUMN_TASKS["middle_dim"])
    assert prog
    cand = build_candidate(prog, SPLIT_8)
    parts = [a for a in cand.plan.allocations if "_part" in a.name]
    assert parts and all([d.expr for d in a.shape] == ["8 * in0.shape[0] * 40"] for a in parts)
    dtypes = sorted(a.dtype for a in parts)
    # 6 stages (sum, mean and var are siblings: one, with double partials: sum and M2); the two
    # arg kinds have a second partial (the int64 index).
    assert dtypes == ["float32"] * 5 + ["float64"] * 2 + ["int64"] * 2
    launches = [s.launch for s in cand.plan.steps if s.WhichOneof("step") == "launch"]
    assert launches[0].grid[0].expr == "max(1, min(ceil_div(8 * in0.shape[0] * 40, 256), 262144))"


def test_auto_column_split_counts() -> None:
    auto, off = LoweringSchedule(), LoweringSchedule(reduce_splits=1)
    assert COLUMN_FILL_THREADS == 4 * 132 * 256
    assert column_split_count(auto, 8192, 1024) == 32  # BatchNorm1d over [1024, 8192]: 262144 threads
    assert column_split_count(auto, 4096, 16384) == 64
    assert column_split_count(auto, 40, 70) == 4  # parts of >= 16 elements, a power of two
    assert column_split_count(auto, 40, 63) == 1  # extent below 64
    assert column_split_count(auto, 32, 1 << 20) == 256  # at most 256 parts
    assert column_split_count(auto, COLUMN_MIN_OUTPUTS - 1, 1 << 20) == 1  # too few outputs for a warp
    assert column_split_count(auto, COLUMN_FILL_THREADS, 1 << 20) == 1  # enough threads unsplit
    assert column_split_count(auto, COLUMN_FILL_THREADS - 1, 1 << 20) == 2
    assert column_split_count(off, 8192, 1024) == 1
    assert column_split_count(LoweringSchedule(reduce_splits=32), 40, 64) == 32  # explicit: >= 2 per part
    assert column_split_count(LoweringSchedule(reduce_splits=32), 40, 63) == 1
    assert column_split_count(LoweringSchedule(reduce_splits=128), COLUMN_FILL_THREADS, 1 << 20) == 1


def test_which_reductions_get_the_column_split() -> None:
    # BatchNorm1d at a realistic size is column-split by default (lowering only: nothing runs here).
    bn = task("return self.bn(x)", "torch.randn(1024, 8192)", "        self.bn = nn.BatchNorm1d(8192)")
    prog = analyze_program(bn)
    assert prog
    cand = build_candidate(prog, LoweringSchedule())
    assert _column_split_stages(cand) == 1  # the mean and the variance: one sibling stage
    parts = [a for a in cand.plan.allocations if "_part" in a.name]
    assert parts and all([d.expr for d in a.shape] == ["32 * 8192"] for a in parts)
    # Block per output forced: no column split (the block split needs few outputs).
    forced = build_candidate(prog, LoweringSchedule(reduce_strategy=1)).cuda_source
    assert COLUMN_PARTIAL not in forced and "_combine" not in forced
    # Innermost dim reduced (block per output): not column-split.
    rows = analyze_program(task("return x.sum(dim=1)", "torch.randn(8192, 1024)"))
    assert rows and "_combine" not in build_candidate(rows, LoweringSchedule()).cuda_source
    # Fewer outputs than a warp: the block split as before.
    few = analyze_program(task("return torch.argmax(x, dim=0)", "torch.randn(67, 3)"))
    assert few
    src = build_candidate(few, LoweringSchedule(reduce_splits=8)).cuda_source
    assert COLUMN_PARTIAL not in src and "(split reduction, block per part)" in src
    # Enough outputs to fill the GPU unsplit: one kernel.
    wide = analyze_program(task("return x.sum(dim=0)", "torch.randn(64, 1 << 18)"))
    assert wide and "_combine" not in build_candidate(wide, LoweringSchedule()).cuda_source


@pytest.mark.skipif(not _compiler_ok(), reason="neither NVRTC nor nvcc is usable")
def test_column_split_kernels_compile_sm90(tmp_path: Path) -> None:
    from kernelwright.gpu_evaluator.nvrtc_build import compile_cuda

    for name, src in sorted(COLUMN_TASKS.items()):
        prog = analyze_program(src)
        assert prog
        for s in (SPLIT_8, SPLIT_32, LoweringSchedule()):
            cand = build_candidate(prog, s)
            assert COLUMN_PARTIAL in cand.cuda_source
            r = compile_cuda(cand.cuda_source, arch="sm_90a", cache_dir=tmp_path)
            assert r.ok, (name, s, r.log[-3000:])
            assert all(any(k in c for c in r.kernels) for k in _kernels(cand))
