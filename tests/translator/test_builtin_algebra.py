"""The row-sum-of-GEMM rewrite (``builtin.algebra.sum_through_matmul``): where it applies, where it
must not, and numerics against PyTorch on the CPU emulator."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from kernelwright.gpu_evaluator import harness
from kernelwright.translator.builtin import LoweringSchedule, analyze_program, build_candidate
from kernelwright.translator.builtin.algebra import sum_through_matmul
from kernelwright.translator.builtin.graph import trace_task

from . import cuda_emulator
from .builtin_synthetic import shrink_task, task

DEV = Path(__file__).resolve().parents[1] / "data" / "kernelbench" / "dev"
LINEAR = "        self.fc = nn.Linear(12, 9)"
WEIGHT = "        self.w = nn.Parameter(torch.randn(9, 12))"

REWRITTEN = {
    "div_sum_scale": task("y = torch.matmul(x, self.w.T) / 2\nreturn torch.sum(y, dim=1, keepdim=True) * 1.5",
                          "torch.randn(5, 12)", WEIGHT),
    "linear_bias_sum": task("return self.fc(x).sum(dim=1, keepdim=True)", "torch.randn(5, 12)", LINEAR),
    "neg_shift_sum_nokeep": task("y = -(self.fc(x) * 0.5) + 3.0\nreturn (y - 1.25).sum(dim=-1)", "torch.randn(5, 12)",
                                 LINEAR),
    "linear_mean_nokeep": task("return (self.fc(x) * 3.0).mean(dim=1)", "torch.randn(5, 12)", LINEAR),
    "bias_minus_gemm": task("return (self.fc.bias - x @ self.fc.weight.t()).sum(1, keepdim=True)",
                            "torch.randn(5, 12)", LINEAR),
}
KEPT = {
    "sigmoid_between": task("return torch.sigmoid(self.fc(x)).sum(dim=1, keepdim=True)", "torch.randn(5, 12)", LINEAR),
    "gemm_also_returned": task("y = self.fc(x)\nreturn y.sum(dim=1, keepdim=True), y", "torch.randn(5, 12)", LINEAR),
    "sum_over_rows": task("return self.fc(x).sum(dim=0, keepdim=True)", "torch.randn(5, 12)", LINEAR),
    "scaled_by_tensor": task("return (self.fc(x) * self.fc.bias).sum(dim=1, keepdim=True)", "torch.randn(5, 12)",
                             LINEAR),
}


def _mms(src: str, rewrite: bool) -> list[tuple[int, ...]]:
    g = trace_task(src)
    g = sum_through_matmul(g) if rewrite else g
    return [tuple(d.c + d.b * g.batch for d in n.shape) for n in g.nodes if n.op == "aten.mm.default"]


@pytest.mark.parametrize("name", sorted(REWRITTEN))
def test_a_row_sum_of_a_gemm_becomes_a_one_column_gemm(name: str) -> None:
    before, after = _mms(REWRITTEN[name], False), _mms(REWRITTEN[name], True)
    assert before == [(5, 9)] and after == [(5, 1)]


@pytest.mark.parametrize("name", sorted(KEPT))
def test_what_does_not_commute_with_the_sum_is_left_alone(name: str) -> None:
    g = trace_task(KEPT[name])
    assert sum_through_matmul(g) is g


def _run(src: str) -> tuple[torch.Tensor, torch.Tensor]:
    prog = analyze_program(src)
    assert prog, prog.reason
    cand = build_candidate(prog, LoweringSchedule(reduce_block=64))
    mod = harness.load_task(src)
    cpu = torch.device("cpu")
    inputs = harness.make_inputs(mod, harness.TrialSpec("t", 3, "normal x2"), cpu)
    model = harness.build_model(mod.Model, mod.get_init_inputs(), 0, cpu)
    expected = harness.run(model, harness.clone_inputs(inputs))
    params = {n.replace(".", "_"): t for n, t in model.named_parameters()}
    (got,) = cuda_emulator.run_candidate(cand, inputs, params)
    return expected, got


@pytest.mark.skipif(not cuda_emulator.available(), reason="g++ not available")
@pytest.mark.parametrize("name", sorted(REWRITTEN))
def test_rewritten_candidates_match_pytorch(name: str) -> None:
    expected, got = _run(REWRITTEN[name])
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)


@pytest.mark.skipif(not cuda_emulator.available(), reason="g++ not available")
@pytest.mark.parametrize("name", ["14_Gemm_Divide_Sum_Scaling", "18_Matmul_Sum_Max_AvgPool_LogSumExp_LogSumExp",
                                  "51_Gemm_Subtract_GlobalAvgPool_LogSumExp_GELU_ResidualAdd"])
def test_dev_tasks_lose_their_big_gemm_and_match_shrunk(name: str) -> None:
    src = (DEV / "level2" / f"{name}.py").read_text()
    assert _mms(src, True)[0][1] == 1  # the 8192-column GEMM is gone at full size
    expected, got = _run(shrink_task(src))
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)
