"""Norm statistics in the builtin reductions: sibling fusion, one-pass variance, flat addressing.

* Sibling reductions (a norm's sum and var of the same input over the same dims) are one kernel
  that writes both outputs; the GroupNorm candidate has one reduction kernel reading its input in
  one pass (fails if the fusion or the one-pass variance silently stops applying).
* Numerics on the CPU emulator against PyTorch (atol/rtol 1e-4) for GroupNorm (with and without a
  fused op before it, several group sizes, slabs of a multiple of 4 elements and not), BatchNorm
  1d/2d batch statistics, LayerNorm, InstanceNorm and var/std with correction 0 and 1, under every
  reduction strategy (block / thread per output, block split, column split), at the task batch and
  at batch + 1.
* Inputs with a large mean against their spread (1e5 and more), at ~0.5M elements per output.
* Addressing: contiguous slabs and runs read by flat offset with float4 loads (a misaligned input
  falls back to scalar loads), other layouts keep the general index math; the kernels compile for
  sm_90a.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from kernelwright.gpu_evaluator import harness
from kernelwright.translator.builtin import LoweringSchedule, analyze_program, build_candidate

from . import cuda_emulator
from .builtin_synthetic import task
from .test_builtin_lowering import _compiler_ok

GN = "        self.gn = nn.GroupNorm({g}, {c})"
NORM_TASKS = {
    # Slab of 2 * 35 = 70 elements: not a multiple of 4 (float4 head and tail, odd alignments).
    "groupnorm_3_of_6": task("return self.gn(x)", "torch.randn(2, 6, 7, 5)", GN.format(g=3, c=6)),
    # GELU fused into the statistics and the apply; slabs of 2 * 16 = 32 elements.
    "gelu_groupnorm_4_of_8": task("return self.gn(F.gelu(x))", "torch.randn(2, 8, 4, 4)", GN.format(g=4, c=8)),
    # One channel per group (slab 9), and one group for all channels (slab 60).
    "groupnorm_per_channel": task("return self.gn(x * 2.0 - 1.0)", "torch.randn(3, 5, 3, 3)", GN.format(g=5, c=5)),
    # 48 groups of 12: enough outputs for the column split.
    "groupnorm_many_groups": task("return self.gn(x)", "torch.randn(3, 32, 3, 4)", GN.format(g=16, c=32)),
    "groupnorm_one_group": task("return torch.tanh(self.gn(x))", "torch.randn(3, 4, 5, 3)", GN.format(g=1, c=4)),
    # A per-channel parameter broadcast inside the slab: its operand rebuilds the channel index.
    "bias_groupnorm": task("return self.gn(x + self.b)", "torch.randn(2, 6, 4, 3)",
                           GN.format(g=2, c=6) + "\n        self.b = nn.Parameter(torch.randn(6, 1, 1))"),
    # Reduced dims (0, 2, 3): runs of H * W = 20 (float4) and 25 (scalar) elements.
    "batchnorm2d_train": task("return self.bn(x)", "torch.randn(4, 6, 5, 4)", "        self.bn = nn.BatchNorm2d(6)"),
    "batchnorm2d_train_odd": task("return self.bn(torch.relu(x))", "torch.randn(3, 5, 5, 5)",
                                  "        self.bn = nn.BatchNorm2d(5)"),
    "batchnorm1d_train": task("return self.bn(x)", "torch.randn(37, 40)", "        self.bn = nn.BatchNorm1d(40)"),
    "layernorm": task("return self.ln(x)", "torch.randn(3, 4, 5, 6)", "        self.ln = nn.LayerNorm((5, 6))"),
    "instancenorm": task("return self.n(x)", "torch.randn(3, 4, 5, 6)", "        self.n = nn.InstanceNorm2d(4)"),
    "var_std_corrections": task(
        "return x.var(dim=2, correction=0), x.var(dim=2), x.std(dim=(1, 2)), x.std(dim=1, correction=0), "
        "torch.var_mean(x, dim=-1, correction=1)[0], x.mean(dim=2)",
        "torch.randn(4, 6, 9) * 3 + 5"),
    # A permuted input (general index math, no flat path) and a reduced middle dim.
    "var_of_transpose": task("return x.transpose(1, 2).var(dim=2), x.var(dim=1, correction=0) + x.sum(dim=1)",
                             "torch.randn(3, 7, 6)"),
}
BLOCK = LoweringSchedule(reduce_block=64, reduce_strategy=1, reduce_splits=1)
THREAD = LoweringSchedule(reduce_strategy=2, reduce_splits=1)
SPLIT_BLOCK = LoweringSchedule(reduce_block=64, reduce_strategy=1, reduce_splits=8)
# Column split where a stage has >= 32 outputs (the thread strategy), else the block split.
SPLIT_COLUMN = LoweringSchedule(block_size=64, reduce_strategy=2, reduce_splits=8)
SCHEDULES = {"block": BLOCK, "thread": THREAD, "split_block": SPLIT_BLOCK, "split_column": SPLIT_COLUMN,
             "auto": LoweringSchedule(reduce_block=64)}


def _run(src: str, sched: LoweringSchedule, *, vary: bool = False, distribution: str = "normal x2",
         misalign: bool = False) -> tuple[list[torch.Tensor], list[torch.Tensor], str]:
    """(PyTorch's outputs, the candidate's on the emulator, its source). ``misalign``: the
    candidate reads its first input from an address 4 bytes past a 16-byte boundary."""
    prog = analyze_program(src)
    assert prog, prog.reason
    cand = build_candidate(prog, sched)
    mod = harness.load_task(src)
    cpu = torch.device("cpu")
    inputs = harness.make_inputs(mod, harness.TrialSpec("t", 3, distribution, vary_batch=vary), cpu)
    model = harness.build_model(mod.Model, mod.get_init_inputs(), 0, cpu)
    expected = harness.run(model, harness.clone_inputs(inputs))
    fresh = harness.build_model(mod.Model, mod.get_init_inputs(), 0, cpu)  # running stats untouched
    params = {n.replace(".", "_"): t for n, t in [*fresh.named_parameters(), *fresh.named_buffers()]}
    if misalign:
        x = inputs[0]
        store = torch.empty(x.numel() + 4, dtype=x.dtype)
        shifted = store[1:1 + x.numel()].view(x.shape)
        shifted.copy_(x)
        assert shifted.data_ptr() % 16 != 0
        inputs = [shifted, *inputs[1:]]
    got = cuda_emulator.run_candidate(cand, inputs, params)
    exp = list(expected) if isinstance(expected, (tuple, list)) else [expected]
    return exp, got, cand.cuda_source


def _assert_close(exp: list[torch.Tensor], got: list[torch.Tensor], atol: float = 1e-4, rtol: float = 1e-4) -> None:
    assert len(exp) == len(got)
    for e, g in zip(exp, got):
        assert tuple(e.shape) == tuple(g.shape)
        torch.testing.assert_close(g, e, atol=atol, rtol=rtol)


def _reduce_kernels(src: str) -> dict[str, str]:
    """Kernel name -> body, for the reduction kernels (partial kernels of splits included)."""
    bodies = {}
    for m in re.finditer(r'extern "C" __global__ void (\w+)\(', src):
        name = m.group(1)
        if "_reduce" in name and not name.endswith("_combine"):
            bodies[name] = src[m.end():src.index("\n}\n", m.end())]
    return bodies


# -- numerics ------------------------------------------------------------------------------------
@pytest.mark.skipif(not cuda_emulator.available(), reason="g++ not available")
@pytest.mark.parametrize("name", sorted(NORM_TASKS))
@pytest.mark.parametrize("sched", sorted(SCHEDULES))
def test_norm_statistics_match_pytorch(name: str, sched: str) -> None:
    # Alternate the task batch and batch + 1 over the schedules (both are covered for every task).
    vary = sorted(SCHEDULES).index(sched) % 2 == 1
    exp, got, _ = _run(NORM_TASKS[name], SCHEDULES[sched], vary=vary)
    _assert_close(exp, got)


@pytest.mark.skipif(not cuda_emulator.available(), reason="g++ not available")
@pytest.mark.parametrize("name", ["groupnorm_3_of_6", "gelu_groupnorm_4_of_8", "batchnorm2d_train", "layernorm"])
def test_misaligned_input_falls_back_to_scalar_loads(name: str) -> None:
    for sched in (BLOCK, SPLIT_BLOCK):
        exp, got, src = _run(NORM_TASKS[name], sched, misalign=True)
        assert "float4" in src  # the aligned path exists; this input takes the scalar one
        _assert_close(exp, got)


# Half a million elements per output, mean 2e6 (the input) and 3e4 (a fused affine map) times the
# spread: sums of squares around zero, even in double, or combined in fp32 lose the variance here.
LARGE_MEAN_ROWS = task("y = (x - 20000.0) * 10.0 + 3000.0\nreturn y.var(dim=1), y.mean(dim=1), "
                       "x.var(dim=1, correction=0), x.sum(dim=1)",
                       "torch.randn(2, 1 << 19) * 0.01 + 20000.0")
# GroupNorm's graph keeps the group's sum in fp32 (then divides): its rounding (6e-8 of the mean)
# must stay below the tolerance in units of the spread, so the mean is 300 times the spread here.
# (Its apply kernel runs one emulated thread per element: 64K elements keep this test quick.)
LARGE_MEAN_GROUPNORM = task("return self.gn(x)", "torch.randn(2, 4, 64, 128) + 300.0", GN.format(g=2, c=4))
LARGE_MEAN_COLUMNS = task("return x.var(dim=0), x.mean(dim=0)", "torch.randn(1 << 15, 32) * 0.01 + 1000.0")


@pytest.mark.skipif(not cuda_emulator.available(), reason="g++ not available")
@pytest.mark.parametrize("sched", ["block", "thread", "split_block", "auto"])
def test_large_mean_half_a_million_per_output(sched: str) -> None:
    exp, got, _ = _run(LARGE_MEAN_ROWS, SCHEDULES[sched], distribution="task")
    assert exp[0].min() > 5e-3 and exp[2].min() > 5e-5  # a real spread: 0.1 ** 2 and 0.01 ** 2
    # Relative 1e-4 on every statistic (an absolute 1e-4 would pass any variance of 1e-4).
    _assert_close(exp, got, atol=0.0)


@pytest.mark.skipif(not cuda_emulator.available(), reason="g++ not available")
def test_large_mean_groupnorm_and_columns() -> None:
    exp, got, src = _run(LARGE_MEAN_GROUPNORM, SPLIT_BLOCK, distribution="task")
    assert "(split reduction, block per part)" in src
    _assert_close(exp, got)
    exp, got, src = _run(LARGE_MEAN_GROUPNORM, BLOCK, distribution="task")
    _assert_close(exp, got)
    for sched in (LoweringSchedule(), SPLIT_COLUMN, THREAD):
        exp, got, src = _run(LARGE_MEAN_COLUMNS, sched, distribution="task")
        _assert_close(exp, got)


# -- what is generated ---------------------------------------------------------------------------
def test_groupnorm_statistics_are_one_kernel_one_pass() -> None:
    # Before: a var kernel (mean pass + deviation pass) and a sum kernel, each rebuilding every
    # element's address with div/mod: three reads of the GELU(conv) output and 2 reduction kernels.
    src = task("return self.gn(F.gelu(self.conv(x)))", "torch.randn(4, 8, 34, 34)",
               "        self.conv = nn.ConvTranspose2d(8, 16, 3)\n" + GN.format(g=4, c=16))
    prog = analyze_program(src)
    assert prog
    assert [s.kind for s in prog.stages] == ["library", "reduce", "pointwise"]
    stats = prog.stages[1]
    assert [s.node.op for s in [stats, *stats.siblings]] == ["prims.var.default", "prims.sum.default"]
    cand = build_candidate(prog, LoweringSchedule())
    kernels = _reduce_kernels(cand.cuda_source)
    assert len(kernels) == 1
    (body,) = kernels.values()
    header = next(line for line in cand.cuda_source.splitlines() if line.startswith("//   1:"))
    assert "var + sum (sibling reductions, one kernel)" in header
    assert "one pass, contiguous slab per output, float4 loads" in header
    # Both outputs from the one kernel; one block combine; the input read by one vector loop and
    # one scalar loop (plus the shift); no div/mod address math anywhere in it.
    assert "buf_var[o]" in body and "buf_sum_1[o]" in body
    assert body.count("kw_block_sum2(") == 1
    assert body.count("for (") == 3  # outputs, float4 groups, scalar head/tail
    assert body.count("erff(") == 1 + 4 + 1  # the shift, 4 lanes, the scalar element
    index_math = [line for line in body.splitlines() if re.match(r"\s*const (int|long long) ", line)]
    assert len(index_math) >= 5
    assert [line for line in index_math if " % " in line or " / " in line] == [
        "        const int kw_nvec = (kw_len - kw_head) / 4;"]


def test_batchnorm_runs_and_the_general_fallback() -> None:
    bn = analyze_program(task("return self.bn(x)", "torch.randn(16, 32, 64, 64)", "        self.bn = nn.BatchNorm2d(32)"))
    assert bn
    src = build_candidate(bn, LoweringSchedule(reduce_splits=1)).cuda_source
    (body,) = _reduce_kernels(src).values()
    assert "contiguous runs per output, float4 loads" in src and "float4" in body
    # The reduced index splits into (image, pixel) once per float4 group or scalar element.
    assert body.count(" % ") == 2
    # A permuted input keeps the general index math (and no float4).
    perm = analyze_program(task("return x.transpose(1, 2).var(dim=2)", "torch.randn(3, 7, 6)"))
    assert perm
    src = build_candidate(perm, LoweringSchedule()).cuda_source
    assert "general index math" in src and "float4" not in src


def test_only_sum_mean_var_of_the_same_input_and_dims_are_siblings() -> None:
    prog = analyze_program(task("return x.sum(dim=1), x.mean(dim=1), x.var(dim=1), torch.amax(x, dim=1), "
                                "x.var(dim=2), (x * 2).sum(dim=1)"))
    assert prog
    groups = [[s.node.op.split(".")[1] for s in [st, *st.siblings]] for st in prog.stages if st.kind == "reduce"]
    assert groups == [["sum", "mean", "var"], ["amax"], ["var"], ["sum"]]


@pytest.mark.skipif(not _compiler_ok(), reason="neither NVRTC nor nvcc is usable")
def test_norm_kernels_compile_sm90(tmp_path: Path) -> None:
    from kernelwright.gpu_evaluator.nvrtc_build import compile_cuda

    for name in ("gelu_groupnorm_4_of_8", "bias_groupnorm", "batchnorm2d_train", "var_std_corrections",
                 "var_of_transpose"):
        prog = analyze_program(NORM_TASKS[name])
        assert prog
        for s in SCHEDULES.values():
            cand = build_candidate(prog, s)
            r = compile_cuda(cand.cuda_source, arch="sm_90a", cache_dir=tmp_path)
            assert r.ok, (name, s, r.log[-3000:])
