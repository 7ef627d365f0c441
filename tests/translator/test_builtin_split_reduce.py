"""Split reductions (few outputs over a large extent): partial kernel + combine kernel.

Numerics on the CPU emulator (split against unsplit and against PyTorch, at the task batch and
at batch + 1), the shape of what is generated (two kernels, the scratch in the plan, the grid),
when the auto setting splits, and that the split kernels compile with NVRTC for sm_90a.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from kernelwright.gpu_evaluator import plan as plan_mod
from kernelwright.translator.builtin import LoweringSchedule, analyze_program, build_candidate
from kernelwright.translator.builtin.stage_reduce import FEW_OUTPUTS, split_count

from . import cuda_emulator
from .builtin_synthetic import task
from .test_builtin_lowering import _check_outputs, _compiler_ok, _run

# Few outputs (channels, groups, one global value) over extents that do not divide evenly into
# the parts; with 32 parts some parts of the smaller ones are empty.
SPLIT_TASKS = {
    "batchnorm_train": task("return self.bn(x)", "torch.randn(5, 4, 9, 7)", "        self.bn = nn.BatchNorm2d(4)"),
    "groupnorm": task("return self.gn(x)", "torch.randn(2, 6, 7, 5)", "        self.gn = nn.GroupNorm(3, 6)"),
    "global_mean_sum": task("return x.mean() + x.sum() * 0.01, x.sum(dim=(0, 2))", "torch.randn(6, 3, 29)"),
    "max_min_var": task("return torch.amax(x, dim=(0, 2)), torch.amin(x.transpose(0, 1), dim=(1, 2)), "
                        "x.var(dim=(0, 2), correction=0)",
                        "torch.randn(7, 3, 23)"),
    "argmax_argmin_prod": task("return torch.argmax(x, dim=0), torch.argmin(x.flatten()), "
                               "torch.prod(1 + 0.01 * x, dim=0)", "torch.randn(67, 3)"),
}
SPLIT_8 = LoweringSchedule(reduce_block=64, reduce_splits=8)
SPLIT_32 = LoweringSchedule(reduce_block=64, reduce_splits=32)
UNSPLIT = LoweringSchedule(reduce_block=64, reduce_splits=1)


def _kernels(cand) -> list[str]:
    return [s.launch.kernel for s in cand.plan.steps if s.WhichOneof("step") == "launch"]


@pytest.mark.skipif(not cuda_emulator.available(), reason="g++ not available")
@pytest.mark.parametrize("name", sorted(SPLIT_TASKS))
@pytest.mark.parametrize("vary", [False, True], ids=["task_batch", "batch_plus_one"])
def test_split_matches_unsplit_and_pytorch(name: str, vary: bool) -> None:
    src = SPLIT_TASKS[name]
    prog = analyze_program(src)
    assert prog, prog.reason
    split_kernels = [k for k in _kernels(build_candidate(prog, SPLIT_8)) if k.endswith("_combine")]
    assert split_kernels  # the schedule really splits this task's reductions
    exp, unsplit = _run(src, UNSPLIT, vary)
    _check_outputs(exp, unsplit)
    for sched in (SPLIT_8, SPLIT_32):
        _, got = _run(src, sched, vary)
        _check_outputs(exp, got)
        for u, g in zip(unsplit, got):
            if u.dtype == torch.int64:
                assert torch.equal(u, g)
            else:
                torch.testing.assert_close(g, u, atol=2e-5, rtol=2e-5)


def test_split_stage_has_two_kernels_and_the_scratch_in_the_plan() -> None:
    prog = analyze_program(SPLIT_TASKS["max_min_var"])
    assert prog
    cand = build_candidate(prog, SPLIT_8)
    kernels = _kernels(cand)
    # Three reduce stages, each a partial kernel followed by its combine kernel.
    assert len(kernels) == 6
    assert all(kernels[i + 1] == f"{kernels[i]}_combine" for i in range(0, 6, 2))
    src = cand.cuda_source
    assert all(f" {k}(" in src for k in kernels)
    assert "atomic" not in src
    allocs = {a.name: (a.dtype, [d.expr for d in a.shape]) for a in cand.plan.allocations}
    parts = {n: v for n, v in allocs.items() if "_part" in n}
    # amax and amin: one value per part; var: the part's sum and its squared deviations (double).
    assert sorted(v[0] for v in parts.values()) == ["float32"] * 2 + ["float64"] * 2
    assert all(v[1] == ["3 * 8"] for v in parts.values())
    launches = [s.launch for s in cand.plan.steps if s.WhichOneof("step") == "launch"]
    assert [ln.grid[0].expr for ln in launches[:2]] == ["max(1, min(3 * 8, 1048576))", "max(1, min(3, 65535))"]
    assert [ln.block[0].expr for ln in launches[:2]] == ["64", "32"]
    # The partial kernel writes the scratch the combine kernel reads.
    written = {a.tensor for a in launches[0].args if a.tensor} & {a.tensor for a in launches[1].args if a.tensor}
    assert written and all("_part" in t for t in written)
    plan_mod.validate_plan(cand.plan, kernels=plan_mod.parse_kernel_signatures(src), param_names=[],
                           input_names=["in0"])
    # Off: one kernel per stage, no scratch.
    off = build_candidate(prog, UNSPLIT)
    assert len(_kernels(off)) == 3 and not any("_part" in a.name for a in off.plan.allocations)


def test_argmax_split_keeps_int64_indices_in_the_scratch() -> None:
    prog = analyze_program(SPLIT_TASKS["argmax_argmin_prod"])
    assert prog
    cand = build_candidate(prog, SPLIT_8)
    dtypes = sorted(a.dtype for a in cand.plan.allocations if "_part" in a.name)
    assert dtypes == ["float32"] * 3 + ["int64"] * 2


def test_auto_splits_only_few_outputs_over_a_large_extent() -> None:
    auto, off = LoweringSchedule(), LoweringSchedule(reduce_splits=1)
    assert split_count(auto, 32, 16 * 4096) == 16  # BatchNorm, 32 channels: 512 blocks
    assert split_count(auto, 1, 1 << 24) == 256  # a global sum
    assert split_count(auto, 4, 1 << 16) == 16  # parts of at least 4096 elements
    assert split_count(auto, 32, (1 << 16) - 1) == 1  # extent below the threshold
    assert split_count(auto, FEW_OUTPUTS, 1 << 24) == 1  # enough outputs to fill the GPU
    assert split_count(off, 1, 1 << 24) == 1
    assert split_count(LoweringSchedule(reduce_splits=32), 4, 64) == 32  # explicit: any extent >= 2 parts
    assert split_count(LoweringSchedule(reduce_splits=32), 4, 63) == 1
    assert split_count(LoweringSchedule(reduce_splits=8), FEW_OUTPUTS, 1 << 24) == 1

    # A BatchNorm at a realistic size is split by default (lowering only: nothing runs here).
    bn = task("return self.bn(x)", "torch.randn(16, 32, 64, 64)", "        self.bn = nn.BatchNorm2d(32)")
    prog = analyze_program(bn)
    assert prog
    cand = build_candidate(prog, auto)
    kernels = _kernels(cand)
    assert sum(k.endswith("_combine") for k in kernels) == 1  # the mean and the variance: one sibling pair
    parts = [a for a in cand.plan.allocations if "_part" in a.name]
    assert parts and all([d.expr for d in a.shape] == ["32 * 16"] for a in parts)
    # A reduction with many outputs keeps one kernel.
    rows = analyze_program(task("return torch.softmax(x, dim=1)", "torch.randn(4096, 4096)"))
    assert rows and not any(k.endswith("_combine") for k in _kernels(build_candidate(rows, auto)))


def test_reduce_splits_is_a_schedule_knob() -> None:
    from kernelwright.translator.builtin.schedule import neighbours

    s = LoweringSchedule()
    assert s.as_map()["reduce_splits"] == 0
    assert LoweringSchedule.from_map({**s.as_map(), "reduce_splits": 32}).reduce_splits == 32
    with pytest.raises(ValueError):
        LoweringSchedule(reduce_splits=3)
    assert {n.reduce_splits for n in neighbours(s, has_library=False)} >= {1}


@pytest.mark.skipif(not _compiler_ok(), reason="neither NVRTC nor nvcc is usable")
def test_split_kernels_compile_sm90(tmp_path: Path) -> None:
    from kernelwright.gpu_evaluator.nvrtc_build import compile_cuda

    for name, src in sorted(SPLIT_TASKS.items()):
        prog = analyze_program(src)
        assert prog
        for s in (SPLIT_8, LoweringSchedule(reduce_splits=128, reduce_block=256)):
            cand = build_candidate(prog, s)
            r = compile_cuda(cand.cuda_source, arch="sm_90a", cache_dir=tmp_path)
            assert r.ok, (name, s, r.log[-3000:])
            assert all(any(k in c for c in r.kernels) for k in _kernels(cand))
