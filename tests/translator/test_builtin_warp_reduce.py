"""Warp-per-output reductions in the builtin generator (stage_reduce, ``reduce_strategy`` 3 / auto).

* The choice: auto (0) reduces with a warp per output when the innermost dim is reduced over at
  most ``WARP_MAX_EXTENT`` elements, a block per output above, a thread per output when the
  innermost dim is kept; knob 1 still forces the block, 2 the thread, 3 forces the warp.
* Numerics on the CPU emulator against PyTorch (atol/rtol 1e-4): GroupNorm after a Linear with 16,
  32 and 48-element groups (the one-pass sibling statistics), sum / mean / max / min / prod /
  argmax / argmin / var over a small last dim with many rows, a number of outputs that is not a
  multiple of the warps per block, an extent of 1, NaN and tied inputs for max / argmax (identical
  to the block path and to torch).
* Structure: a GEMM + GroupNorm candidate (like level-2 62) gets the warp path by default (fails if
  the auto choice silently stops picking it); the real 62 / 75 / 88 candidates compile for sm_90a.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from kernelwright.gpu_evaluator import harness
from kernelwright.translator.builtin import LoweringSchedule, analyze_program, build_candidate
from kernelwright.translator.builtin import stage_reduce
from kernelwright.translator.builtin.lowering import Stage

from . import cuda_emulator
from .builtin_synthetic import task
from .test_builtin_lowering import _compiler_ok

AUTO = LoweringSchedule()
AUTO_SMALL_BLOCKS = LoweringSchedule(reduce_block=64)  # 2 warps (outputs) per block
BLOCK = LoweringSchedule(reduce_block=64, reduce_strategy=1)
WARP = LoweringSchedule(reduce_block=128, reduce_strategy=3)
WARP_HEADER = "warp per output"
BLOCK_HEADER = "block per output"


def linear_groupnorm(group: int, groups: int = 6, rows: int = 7, extra: str = "") -> str:
    """A Linear then a GroupNorm of ``groups`` groups of ``group`` channels (62/75/88-like)."""
    c = group * groups
    return task(f"y = self.gn(self.fc(x))\nreturn {extra or 'y'}", f"torch.randn({rows}, 20)",
                f"        self.fc = nn.Linear(20, {c})\n        self.gn = nn.GroupNorm({groups}, {c})")


def _run(src: str, sched: LoweringSchedule, inputs: list[torch.Tensor] | None = None
         ) -> tuple[list[torch.Tensor], list[torch.Tensor], str]:
    """(PyTorch's outputs, the candidate's on the emulator, its source); ``inputs``: the task's own
    ``get_inputs`` when None."""
    prog = analyze_program(src)
    assert prog, prog.reason
    cand = build_candidate(prog, sched)
    mod = harness.load_task(src)
    cpu = torch.device("cpu")
    if inputs is None:
        inputs = harness.make_inputs(mod, harness.TrialSpec("t", 3, "normal x2", vary_batch=False), cpu)
    model = harness.build_model(mod.Model, mod.get_init_inputs(), 0, cpu)
    expected = harness.run(model, harness.clone_inputs(inputs))
    fresh = harness.build_model(mod.Model, mod.get_init_inputs(), 0, cpu)
    params = {n.replace(".", "_"): t for n, t in [*fresh.named_parameters(), *fresh.named_buffers()]}
    got = cuda_emulator.run_candidate(cand, inputs, params)
    exp = list(expected) if isinstance(expected, (tuple, list)) else [expected]
    return exp, got, cand.cuda_source


def _assert_close(exp: list[torch.Tensor], got: list[torch.Tensor]) -> None:
    assert len(exp) == len(got)
    for e, g in zip(exp, got):
        assert tuple(e.shape) == tuple(g.shape)
        if e.dtype == torch.int64:
            assert torch.equal(g, e), (g, e)
        else:
            torch.testing.assert_close(g, e, atol=1e-4, rtol=1e-4, equal_nan=True)


def _reduce_headers(src: str) -> list[str]:
    """The stage lines of the candidate's header that describe reductions."""
    return [line for line in src.splitlines() if line.startswith("//   ") and " over dims " in line]


def _reduce_kernels(src: str) -> dict[str, str]:
    bodies = {}
    for m in re.finditer(r'extern "C" __global__ void (\w+)\(', src):
        if "_reduce" in m.group(1):
            bodies[m.group(1)] = src[m.end():src.index("\n}\n", m.end())]
    return bodies


# -- the choice ----------------------------------------------------------------------------------
def _strategy_of(src: str, sched: LoweringSchedule) -> str:
    prog = analyze_program(src)
    assert prog
    (st,) = [s for s in prog.stages if s.kind == "reduce"]
    assert isinstance(st, Stage)
    red = stage_reduce.Reduction.of(st.node)
    extent = 1
    for d in red.red_shape:
        extent *= d.c
    return stage_reduce._strategy(sched, red, extent)


def test_auto_picks_the_warp_up_to_the_threshold_and_knobs_keep_their_meaning() -> None:
    limit = stage_reduce.WARP_MAX_EXTENT
    small = task("return x.sum(dim=-1)", f"torch.randn(64, {limit})")
    large = task("return x.sum(dim=-1)", f"torch.randn(64, {limit + 1})")
    columns = task("return x.sum(dim=0)", "torch.randn(16, 64)")
    assert _strategy_of(small, AUTO) == "warp"
    assert _strategy_of(large, AUTO) == "block"
    assert _strategy_of(columns, AUTO) == "thread"
    for src in (small, large, columns):
        assert _strategy_of(src, LoweringSchedule(reduce_strategy=1)) == "block"
        assert _strategy_of(src, LoweringSchedule(reduce_strategy=2)) == "thread"
        assert _strategy_of(src, LoweringSchedule(reduce_strategy=3)) == "warp"
    # The candidate's header names the path; the block path keeps its shared-memory step.
    prog = analyze_program(small)
    assert prog
    auto_src = build_candidate(prog, AUTO).cuda_source
    (header,) = _reduce_headers(auto_src)
    assert "warp per output, 8 outputs per block, shuffles only" in header
    (body,) = _reduce_kernels(auto_src).values()
    assert "__shared__" not in body and "__syncthreads" not in body and "kw_warp_reduce<KwSumD>(acc)" in body
    (block_body,) = _reduce_kernels(build_candidate(prog, BLOCK).cuda_source).values()
    assert "kw_block_reduce<KwSum>" in block_body


def test_gemm_groupnorm_candidate_uses_the_warp_path() -> None:
    # 62_Matmul_GroupNorm_LeakyReLU_Sum-like: 512 groups of 16 after the GEMM, thousands of outputs.
    src = task("y = self.gn(self.fc(x))\nreturn F.leaky_relu(y, 0.01) * 2.0", "torch.randn(128, 64)",
               "        self.fc = nn.Linear(64, 8192)\n        self.gn = nn.GroupNorm(512, 8192)")
    prog = analyze_program(src)
    assert prog
    cand = build_candidate(prog, AUTO)
    (header,) = _reduce_headers(cand.cuda_source)
    assert "var + sum (sibling reductions, one kernel)" in header and WARP_HEADER in header
    (body,) = _reduce_kernels(cand.cuda_source).values()
    assert "kw_block_sum2" not in body and "__syncthreads" not in body and "__shared__" not in body
    assert body.count("kw_warp_reduce<KwSumD>(") == 2  # the shifted sum and the sum of squares
    launch = next(st.launch for st in cand.plan.steps if st.WhichOneof("step") == "launch"
                  and "_reduce" in st.launch.kernel)
    assert "ceil_div(" in str(launch.grid) and "8)" in str(launch.grid)  # 8 outputs per 256-thread block


# -- numerics ------------------------------------------------------------------------------------
@pytest.mark.skipif(not cuda_emulator.available(), reason="g++ not available")
@pytest.mark.parametrize("group", [16, 32, 48])
def test_linear_groupnorm_matches_pytorch(group: int) -> None:
    src = linear_groupnorm(group, extra="torch.sigmoid(y) * y")
    for sched in (AUTO, AUTO_SMALL_BLOCKS):
        exp, got, out = _run(src, sched)
        assert WARP_HEADER in _reduce_headers(out)[0]
        _assert_close(exp, got)


@pytest.mark.skipif(not cuda_emulator.available(), reason="g++ not available")
def test_large_mean_keeps_the_shift() -> None:
    # Mean 1e5 times the spread: the warp's double sums around the shift keep the variance.
    big = task("return x.var(dim=-1), x.mean(dim=-1)", "torch.randn(37, 48)")
    exp, got, out = _run(big, AUTO, [torch.randn(37, 48) * 0.01 + 1000.0])
    assert WARP_HEADER in _reduce_headers(out)[0]
    assert exp[0].min() > 5e-5
    torch.testing.assert_close(got[0], exp[0], atol=0.0, rtol=1e-4)
    torch.testing.assert_close(got[1], exp[1], atol=0.0, rtol=1e-6)


ROW_REDUCTIONS = ("torch.sum(x, dim=-1), torch.mean(x, dim=-1), torch.amax(x, dim=-1), torch.amin(x, dim=-1), "
                  "torch.argmax(x, dim=-1), torch.argmin(x, dim=-1), x.var(dim=-1), torch.prod(x * 0.2 + 1.0, dim=-1)")


@pytest.mark.skipif(not cuda_emulator.available(), reason="g++ not available")
@pytest.mark.parametrize("extent", [1, 5, 33, 200, 256])
def test_row_reductions_small_last_dim(extent: int) -> None:
    # 299 rows: not a multiple of the 8 (auto) or 4 (forced, 128 threads) warps per block: the
    # last block has warps without an output.
    src = task(f"return {ROW_REDUCTIONS}", f"torch.randn(299, {extent})")
    for sched in (AUTO, WARP):
        exp, got, out = _run(src, sched)
        headers = _reduce_headers(out)
        assert headers and all(WARP_HEADER in h for h in headers), headers
        if extent == 1:  # var of one element with correction 1: NaN in both
            assert torch.isnan(exp[6]).all()
        _assert_close(exp, got)


@pytest.mark.skipif(not cuda_emulator.available(), reason="g++ not available")
def test_forced_warp_on_a_long_and_strided_extent() -> None:
    # Knob 3 on an extent far above the threshold (float4 groups + scalar tail, 32 lanes each with
    # many elements) and on reduced dims that are not one slab (runs).
    src = task("return x.sum(dim=-1), x.var(dim=-1), torch.argmax(x, dim=-1), x.mean(dim=(1, 3))",
               "torch.randn(3, 5, 7, 1001)")
    exp, got, out = _run(src, WARP)
    assert all(WARP_HEADER in h for h in _reduce_headers(out))
    _assert_close(exp, got)


def _nan_and_ties(rows: int, extent: int) -> torch.Tensor:
    """Small integers (many ties), NaNs in some rows (one, several, all), -inf rows."""
    g = torch.Generator().manual_seed(7)
    x = torch.randint(-3, 4, (rows, extent), generator=g).float()
    x[1, extent // 2] = float("nan")
    x[2, 3] = x[2, extent - 1] = float("nan")
    x[3, :] = float("nan")
    x[4, :] = float("-inf")
    x[5, :] = 2.0  # all tied: index 0
    x[6, 0] = float("nan")
    x[7, extent - 1] = float("nan")
    return x


@pytest.mark.skipif(not cuda_emulator.available(), reason="g++ not available")
@pytest.mark.parametrize("extent", [7, 40, 64])
def test_nan_and_ties_match_torch_and_the_block_path(extent: int) -> None:
    src = task("return torch.amax(x, dim=-1), torch.argmax(x, dim=-1), torch.amin(x, dim=-1), "
               "torch.argmin(x, dim=-1), torch.max(x, dim=1)[1]", f"torch.randn(45, {extent})")
    x = _nan_and_ties(45, extent)
    exp, warp, out = _run(src, AUTO, [x])
    assert all(WARP_HEADER in h for h in _reduce_headers(out))
    assert torch.isnan(exp[0][[1, 2, 3, 6, 7]]).all() and exp[1][2].item() == 3 and exp[1][5].item() == 0
    _assert_close(exp, warp)
    _, block, out = _run(src, BLOCK, [x])
    assert all(BLOCK_HEADER in h for h in _reduce_headers(out))
    for w, b in zip(warp, block):
        assert torch.equal(w.isnan(), b.isnan()) and torch.equal(w.nan_to_num(), b.nan_to_num())


# -- the real tasks compile ------------------------------------------------------------------------
REAL_TASKS = ["62_Matmul_GroupNorm_LeakyReLU_Sum", "75_Gemm_GroupNorm_Min_BiasAdd",
              "88_Gemm_GroupNorm_Swish_Multiply_Swish"]
LEVEL2 = Path(__file__).resolve().parents[1] / "data" / "kernelbench" / "dev" / "level2"  # MIT: see its LICENSE


@pytest.mark.skipif(not _compiler_ok(), reason="neither NVRTC nor nvcc is usable")
@pytest.mark.parametrize("name", REAL_TASKS)
def test_real_gemm_groupnorm_candidates_use_the_warp_path_and_compile_sm90(name: str, tmp_path: Path) -> None:
    from kernelwright.common.v1 import kernel_pb2
    from kernelwright.gpu_evaluator.nvrtc_build import compile_cuda
    from kernelwright.translator.builtin import BuiltinProposer
    from kernelwright.translator.proposers import ProposalRequest

    path = LEVEL2 / f"{name}.py"
    if not path.exists():
        pytest.fail(f"{path} is missing from tests/data")
    req = ProposalRequest(task_name=name, task_source=path.read_text(), functional_source="",
                          format=kernel_pb2.CANDIDATE_FORMAT_FAST)
    first = BuiltinProposer().propose_sync(req).candidates[0]
    # The GroupNorm statistics (16-32 elements per group); 75's min over 8192 channels stays a block.
    stats = [h for h in _reduce_headers(first.cuda_source) if "var + sum (sibling reductions" in h]
    assert len(stats) == 1 and WARP_HEADER in stats[0], stats
    r = compile_cuda(first.cuda_source, arch="sm_90a", cache_dir=tmp_path)
    assert r.ok, r.log[-3000:]


@pytest.mark.skipif(not _compiler_ok(), reason="neither NVRTC nor nvcc is usable")
def test_every_warp_combine_compiles_sm90(tmp_path: Path) -> None:
    # The real tasks cover the moments; these cover sum / max / min / prod / arg and the runs layout.
    from kernelwright.gpu_evaluator.nvrtc_build import compile_cuda

    for src in (task(f"return {ROW_REDUCTIONS}", "torch.randn(299, 33)"),
                task("return x.mean(dim=(1, 3)), torch.argmin(x, dim=-1)", "torch.randn(3, 5, 7, 12)")):
        prog = analyze_program(src)
        assert prog
        cand = build_candidate(prog, WARP)
        assert all(WARP_HEADER in h for h in _reduce_headers(cand.cuda_source))
        r = compile_cuda(cand.cuda_source, arch="sm_90a", cache_dir=tmp_path)
        assert r.ok, r.log[-3000:]
