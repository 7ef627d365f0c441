"""Tensor constants built in ``forward`` (``torch.tensor(v, device=x.device)`` and friends).

The builtin lowering traces on the meta device; ``forward_constants.ForwardConstants`` keeps the
value of data-built constants, and ``graph.trace_task`` turns one-element ones (and one-element
``full``/``ones``/``zeros``) into ``const.scalar`` literals. Checked here: the traced literal and
its value for each way of building one, numerics of ``BuiltinProposer`` candidates on the CPU
emulator against PyTorch (small tasks built like KernelBench level-2 83 and 93, the real 83 and 93
files shrunk, broadcasting ops against the constant, NaN inputs through ``torch.min``), that a
constant of several elements is still rejected with a reason naming its size, and (slow) that the
full-size 83 and 93 files give candidates.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from kernelwright.common.v1 import kernel_pb2
from kernelwright.gpu_evaluator import harness
from kernelwright.translator.builtin import BuiltinProposer, analyze_program
from kernelwright.translator.builtin.graph import trace_task
from kernelwright.translator.proposers import ProposalRequest

from . import cuda_emulator
from .builtin_synthetic import shrink_task, task

DEV2 = Path(__file__).resolve().parents[1] / "data" / "kernelbench" / "dev" / "level2"
TASK_83 = DEV2 / "83_Conv3d_GroupNorm_Min_Clamp_Dropout.py"
TASK_93 = DEV2 / "93_ConvTranspose2d_Add_Min_GELU_Multiply.py"

# Built like level-2 83, small, with a cap (0.3) inside the clamp range so the output is not constant.
LIKE_83 = task(
    "x = self.norm(self.conv(x))\n"
    "x = torch.min(x, torch.tensor(self.cap, device=x.device))\n"
    "x = torch.clamp(x, min=-0.5, max=1.0)\n"
    "return self.dropout(x)",
    "torch.rand(2, 3, 5, 6, 6)",
    "        self.conv = nn.Conv3d(3, 4, 3)\n        self.norm = nn.GroupNorm(2, 4)\n"
    "        self.dropout = nn.Dropout(0.2)\n        self.cap = 0.3")
# Built like level-2 93, small.
LIKE_93 = task(
    "x = self.conv_transpose(x) + 0.5\n"
    "x = torch.min(x, torch.tensor(0.0, device=x.device))\n"
    "return F.gelu(x) * 2.0",
    "torch.rand(2, 4, 5, 5)",
    "        self.conv_transpose = nn.ConvTranspose2d(4, 6, 3, stride=2)")

# (forward body, the constant's value) for each way of building a one-element constant.
CONSTANT_BUILDERS = {
    "tensor_x_device": ("return torch.min(x, torch.tensor(0.25, device=x.device))", 0.25),
    "tensor_cuda_device": ("return torch.max(x, torch.tensor(-0.5, device='cuda'))", -0.5),
    "tensor_device_object": ("return x - torch.tensor(1.5, device=torch.device('cuda', 0))", 1.5),
    "tensor_no_device": ("return torch.min(x, torch.tensor(0.75))", 0.75),
    "tensor_then_to": ("return x * torch.tensor(-2.0).to(x.device)", -2.0),
    "tensor_one_element_list": ("return x + torch.tensor([0.125], device=x.device)", 0.125),
    "tensor_int": ("return x * torch.tensor(3, device=x.device)", 3),
    "as_tensor": ("return x / torch.as_tensor(4.0, device=x.device)", 4.0),
    "asarray": ("return x + torch.asarray(-0.375, device=x.device)", -0.375),
    "new_tensor": ("return x * x.new_tensor(0.625)", 0.625),
    "full_one": ("return torch.maximum(x, torch.full((1,), 0.5, device=x.device))", 0.5),
    "full_0d_cuda": ("return x + torch.full((), -1.25, device='cuda')", -1.25),
    "ones_one": ("return x - torch.ones(1, 1, device=x.device)", 1),
    "zeros_0d": ("return torch.where(x > 0.5, x, torch.zeros((), device=x.device))", 0),
    "scalar_tensor": ("return x * torch.scalar_tensor(0.875, device=x.device)", 0.875),
}

# Broadcasting ops against a constant (some next to a reduction, so the general lowering runs them).
BROADCAST_TASKS = {
    "min_max_where": task(
        "lo = torch.tensor(-0.5, device=x.device)\nhi = torch.tensor(0.75, device=x.device)\n"
        "y = torch.max(torch.min(x, hi), lo)\n"
        "return torch.where(x > torch.tensor(1.0, device=x.device), x * 2.0, y)"),
    "add_sub_mul_div_rsub": task(
        "c = torch.tensor(1.5, device=x.device)\n"
        "return (x + c) * (c - x) / torch.tensor(-3.0, device=x.device) + torch.tensor(2, device=x.device)"),
    "pow_and_clamp_bounds": task(
        "y = torch.pow(x, torch.tensor(2.0, device=x.device))\n"
        "return torch.clamp(y, min=torch.tensor(0.1, device=x.device), max=torch.tensor(3.0, device=x.device))"),
    "reduction_scaled": task(
        "s = x.sum(dim=1) * torch.tensor(0.5, device=x.device)\n"
        "return torch.softmax(torch.min(s, torch.full((1,), 1.0, device=x.device)), dim=-1)"),
    "channel_param_and_constant": task(
        "return torch.maximum(self.conv(x), torch.zeros(1, device=x.device)) * x.new_tensor(0.5) + 0.25",
        "torch.randn(2, 3, 6, 6)", "        self.conv = nn.Conv2d(3, 5, 3)"),
    "like_83": LIKE_83,
    "like_93": LIKE_93,
    "dev_83_shrunk": shrink_task(TASK_83.read_text(), cap=8),
    "dev_93_shrunk": shrink_task(TASK_93.read_text(), cap=8),
}

FILL_OPS = {"aten.full.default", "aten.ones.default", "aten.zeros.default", "aten.scalar_tensor.default"}


def _request(src: str) -> ProposalRequest:
    return ProposalRequest(task_name="t", task_source=src, functional_source="",
                           format=kernel_pb2.CANDIDATE_FORMAT_FAST)


def _propose(src: str) -> list[kernel_pb2.KernelCandidate]:
    result = BuiltinProposer().propose_sync(_request(src))
    assert not result.problems, result.problems
    assert result.candidates
    return list(result.candidates)


def _reference(src: str, inputs: list[torch.Tensor]) -> tuple[list[torch.Tensor], dict[str, torch.Tensor]]:
    """PyTorch's outputs (dropout off, as the evaluator runs stochastic tasks) and the parameters.

    The reference runs on the CPU: a constant the task puts on 'cuda' is put on the CPU here."""
    mod = harness.load_task(src.replace("'cuda'", "'cpu'"))
    cpu = torch.device("cpu")
    model = harness.build_model(mod.Model, mod.get_init_inputs(), 0, cpu)
    harness.disable_dropout(model)
    out = harness.run(model, harness.clone_inputs(inputs))
    params = {n.replace(".", "_"): t for n, t in [*model.named_parameters(), *model.named_buffers()]}
    return (list(out) if isinstance(out, (tuple, list)) else [out]), params


def _inputs(src: str, vary: bool) -> list[torch.Tensor]:
    mod = harness.load_task(src)
    return harness.make_inputs(mod, harness.TrialSpec("t", 11, "normal x2", vary_batch=vary), torch.device("cpu"))


def _assert_matches(got: list[torch.Tensor], exp: list[torch.Tensor]) -> None:
    assert len(got) == len(exp)
    for g, e in zip(got, exp):
        assert tuple(g.shape) == tuple(e.shape)
        torch.testing.assert_close(g, e, atol=1e-4, rtol=1e-4, equal_nan=True)


@pytest.mark.parametrize("name", sorted(CONSTANT_BUILDERS))
def test_one_element_constant_becomes_a_literal_with_its_value(name: str) -> None:
    body, value = CONSTANT_BUILDERS[name]
    graph = trace_task(task(body))
    consts = [n for n in graph.nodes if n.op == "const.scalar"]
    assert [n.args[0] for n in consts] == [value]
    assert type(consts[0].args[0]) is type(value)  # an int constant stays an int
    assert not any(n.op in FILL_OPS or n.op == "get_attr" for n in graph.nodes)
    # The device move / lift of the constant folds into the literal: its user reads it directly.
    assert all(consts[0] in u.tensor_args() and u.op.startswith(("aten.", "prims.")) for u in consts[0].users)
    assert not any("lift_fresh" in n.op or "_to_copy" in n.op for n in graph.nodes)


@pytest.mark.skipif(not cuda_emulator.available(), reason="g++ not available")
@pytest.mark.parametrize("name", sorted(CONSTANT_BUILDERS))
def test_constant_builders_match_pytorch(name: str) -> None:
    src = task(CONSTANT_BUILDERS[name][0], "torch.randn(3, 4, 5)")
    inputs = _inputs(src, vary=False)
    exp, params = _reference(src, inputs)
    cand = _propose(src)[0]
    _assert_matches(cuda_emulator.run_candidate(cand, inputs, params), exp)


@pytest.mark.skipif(not cuda_emulator.available(), reason="g++ not available")
@pytest.mark.parametrize("name", sorted(BROADCAST_TASKS))
@pytest.mark.parametrize("vary", [False, True], ids=["task_batch", "batch_plus_one"])
def test_broadcasting_against_constants_matches_pytorch(name: str, vary: bool) -> None:
    src = BROADCAST_TASKS[name]
    inputs = _inputs(src, vary)
    exp, params = _reference(src, inputs)
    cands = _propose(src)
    # The first and the last of the grid (library and own kernels where there is a conv).
    for cand in {c.id: c for c in (cands[0], cands[-1])}.values():
        _assert_matches(cuda_emulator.run_candidate(cand, inputs, params), exp)


@pytest.mark.skipif(not cuda_emulator.available(), reason="g++ not available")
@pytest.mark.parametrize("fn", ["min", "max"])
def test_min_max_against_a_constant_propagate_nan_like_torch(fn: str) -> None:
    # torch.min(x, c) is aten.minimum: NaN in either operand gives NaN (unlike fminf/fmaxf).
    src = task(f"return torch.{fn}(x, torch.tensor(0.25, device=x.device)) * 3.0", "torch.randn(4, 8)")
    prog = analyze_program(src)
    assert prog and f"aten.{'minimum' if fn == 'min' else 'maximum'}.default" in prog.ops
    x = torch.randn(4, 8)
    x[0, 1] = x[2, 5] = float("nan")
    x[1, 3] = float("inf")
    x[3, 0] = float("-inf")
    exp, params = _reference(src, [x])
    assert exp[0].isnan().sum() == 2
    for cand in _propose(src):
        got = cuda_emulator.run_candidate(cand, [x.clone()], params)
        assert torch.equal(got[0].isnan(), exp[0].isnan())
        _assert_matches(got, exp)


def test_min_against_constant_is_one_fused_binary_op() -> None:
    cand = _propose(LIKE_93)[0]
    lines = [ln for ln in cand.cuda_source.splitlines() if ln.rstrip().endswith("// aten.minimum")]
    # One minimum whose second operand is the literal 0.0f (no load, no extra kernel for the constant).
    assert len(lines) == 1 and "0.0f" in lines[0], lines
    header = [ln for ln in cand.cuda_source.splitlines() if ln.startswith("//   ") and "Fused pointwise" in ln]
    assert header and "minimum" in header[-1] and "lift_fresh" not in cand.cuda_source


@pytest.mark.parametrize(("body", "words"), [
    ("return x + torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0], device=x.device)", "has 5 elements (shape [5])"),
    ("return x * torch.tensor([[0.5, 1.0]] * 3, device=x.device).sum()", "has 6 elements (shape [3, 2])"),
    ("return x * torch.tensor(0.5, dtype=torch.float64, device=x.device)", "has dtype torch.float64"),
])
def test_constant_that_is_not_a_supported_scalar_is_rejected_with_its_reason(body: str, words: str) -> None:
    src = task(body, "torch.randn(3, 4, 5)")
    result = BuiltinProposer().propose_sync(_request(src))
    assert not result.candidates
    assert len(result.problems) == 1
    problem = result.problems[0]
    assert "tensor constant" in problem and "built in forward" in problem and words in problem, problem


@pytest.mark.slow
@pytest.mark.parametrize("path", [TASK_83, TASK_93], ids=lambda p: p.stem.split("_")[0])
def test_full_size_dev_tasks_83_and_93_give_candidates(path: Path) -> None:
    cands = _propose(path.read_text())
    assert len(cands) >= 3
    for c in cands:
        assert any("// aten.minimum" in ln and "0.0f" in ln for ln in c.cuda_source.splitlines())
