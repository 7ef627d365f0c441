"""LaunchPlan validation/resolution and the safe ShapeExpr evaluator (pure Python, no torch)."""

from __future__ import annotations


import pytest

from kernelwright.common.v1 import kernel_pb2
from kernelwright.gpu_evaluator.plan import (
    PlanError,
    ResolvedLaunch,
    ResolvedLibraryCall,
    ShapeInfo,
    canonical_dtype,
    eval_expr,
    expr_names,
    library_output_shape,
    parse_kernel_signatures,
    plan_problems,
    resolve,
    validate_plan,
)

X = ShapeInfo((8, 1000), "float32")
ENV = {"x": X, "in1": 7, "f": 0.5}


@pytest.mark.parametrize(
    "expr,value",
    [
        ("42", 42),
        ("x.shape[0] * x.shape[1]", 8000),
        ("x.shape[-1]", 1000),
        ("x.numel", 8000),
        ("x.ndim", 2),
        ("ceil_div(x.numel, 256)", 32),
        ("ceil_div(1, 256)", 1),
        ("min(x.shape[0], 4, 9)", 4),
        ("max(1, min(ceil_div(x.numel, 1024), 32768))", 8),
        ("-(3) + +2", -1),
        ("(x.shape[1] + 255) // 256 % 3", 1),
        ("-7 // 2", -4),  # Python floor semantics
        ("in1 * 2", 14),
    ],
)
def test_eval_expr_values(expr: str, value: int) -> None:
    assert eval_expr(expr, ENV) == value


@pytest.mark.parametrize(
    "expr,fragment",
    [
        ("__import__('os')", "not allowed"),
        ("__import__('os').system('true')", "not allowed"),
        ("x.dtype", "attribute 'dtype'"),
        ("x.__class__", "attribute '__class__'"),
        ("x.shape.__len__()", "not allowed"),
        ("2 ** 10", "'**'"),
        ("2 ** 2 ** 100", "'**'"),
        ("pow(2, 1000)", "call to 'pow'"),
        ("y.shape[0]", "unknown tensor 'y'"),
        ("zz + 1", "unknown name 'zz'"),
        ("x", "is a tensor"),
        ("f * 2", "float scalar"),
        ("1.5", "integer literals"),
        ("True", "integer literals"),
        ("'abc'", "integer literals"),
        ("x.shape[5]", "out of range"),
        ("x.shape[in1]", "integer literal"),
        ("1 / 2", "Div"),
        ("1 // 0", "division by zero"),
        ("ceil_div(1, 0)", "by zero"),
        ("ceil_div(1)", "takes 2 arguments"),
        ("min()", "at least one"),
        ("max(*[1])", "positional"),
        ("[1, 2]", "List"),
        ("(lambda: 1)()", "not allowed"),
        ("x if 1 else 2", "IfExp"),
        ("1 < 2", "Compare"),
        ("1 << 62", "LShift"),
        ("9" * 30 + " * 2", "out of range"),
        ("2147483647 * 2147483647 * 2147483647", "out of range"),
        ("", "empty"),
        ("1 +", "syntax error"),
        ("1 " + "+ 1 " * 400, "too"),
    ],
)
def test_eval_expr_rejects(expr: str, fragment: str) -> None:
    with pytest.raises(PlanError) as ei:
        eval_expr(expr, ENV)
    assert fragment in str(ei.value)
    if expr:
        assert repr(expr)[:20] in str(ei.value) or "too long" in str(ei.value) or "empty" in str(ei.value)


def test_eval_never_calls_python_eval(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    def boom(*a, **k):  # pragma: no cover - would mean the evaluator used eval
        raise AssertionError("eval used")

    monkeypatch.setattr(builtins, "eval", boom)
    assert eval_expr("ceil_div(x.numel, 128)", ENV) == 63


def test_expr_names() -> None:
    assert expr_names("ceil_div(in0.numel, 256) + min(w.shape[0], in2)") == {"in0", "w", "in2"}


def test_canonical_dtype() -> None:
    assert canonical_dtype("torch.float32") == "float32"
    assert canonical_dtype("half") == "float16"
    assert canonical_dtype("bf16") == "bfloat16"
    with pytest.raises(PlanError):
        canonical_dtype("complex128")


# ---------------------------------------------------------------------------------------------
# Plans
# ---------------------------------------------------------------------------------------------

SRC = r'''
extern "C" __global__ void __launch_bounds__(256) scale(const float* __restrict__ x, float* y, long long n, float s) {}
extern "C" { __global__ void bias(float* y, const float* b, int c, int hw) {} }
__global__ void not_extern(float* y) {}
'''


def make_plan() -> kernel_pb2.LaunchPlan:
    p = kernel_pb2.LaunchPlan()
    a = p.allocations.add(name="tmp", dtype="float32")
    a.shape.add(expr="in0.numel")
    o = p.allocations.add(name="out", dtype="float32", is_output=True)
    o.shape.add(expr="in0.shape[0]")
    o.shape.add(expr="conv_weight.shape[0]")
    ln = p.steps.add().launch
    ln.kernel = "scale"
    ln.grid.add(expr="ceil_div(in0.numel, 256)")
    ln.block.add(expr="256")
    ln.args.add(tensor="in0")
    ln.args.add(tensor="tmp")
    ln.args.add(int_expr=kernel_pb2.ShapeExpr(expr="in0.numel"))
    ln.args.add(tensor="in1")  # a float scalar input
    lc = p.steps.add().library_call
    lc.op = "linear"
    lc.args.add(tensor="in0")
    lc.args.add(tensor="conv_weight")
    lc.out = "lin"
    ln2 = p.steps.add().launch
    ln2.kernel = "bias"
    ln2.grid.add(expr="lin.shape[0]")
    ln2.grid.add(expr="2")
    ln2.block.add(expr="32")
    ln2.block.add(expr="8")
    ln2.dynamic_shared_bytes = 1024
    ln2.args.add(tensor="out")
    ln2.args.add(tensor="conv_bias")
    ln2.args.add(int_expr=kernel_pb2.ShapeExpr(expr="lin.shape[1]"))
    ln2.args.add(int_expr=kernel_pb2.ShapeExpr(expr="1"))
    return p


INPUTS = {"in0": ShapeInfo((4, 16), "float32"), "in1": 0.5}
PARAMS = {"conv_weight": ShapeInfo((32, 16), "float32"), "conv_bias": ShapeInfo((32,), "float32")}


def test_signatures() -> None:
    sigs = parse_kernel_signatures(SRC)
    assert set(sigs) == {"scale", "bias"}
    assert [p.kind for p in sigs["scale"]] == ["pointer", "pointer", "int", "float"]
    assert sigs["scale"][2].ctype == "long long"


def test_valid_plan_resolves() -> None:
    sigs = parse_kernel_signatures(SRC)
    plan = make_plan()
    assert plan_problems(plan, input_names=INPUTS, param_names=PARAMS, kernels=sigs) == []
    r = resolve(plan, INPUTS, PARAMS, signatures=sigs)
    assert [(a.name, a.shape, a.dtype, a.is_output) for a in r.allocations] == [
        ("tmp", (64,), "float32", False), ("out", (4, 32), "float32", True)]
    assert r.outputs == ["out"]
    s0, s1, s2 = r.steps
    assert isinstance(s0, ResolvedLaunch) and s0.grid == (1, 1, 1) and s0.block == (256, 1, 1)
    assert [(a.kind, a.value, a.ctype) for a in s0.args] == [
        ("tensor", "in0", "float"), ("tensor", "tmp", "float"), ("int", 64, "long long"), ("scalar", 0.5, "float")]
    assert isinstance(s1, ResolvedLibraryCall) and s1.out_shape == (4, 32) and not s1.out_is_allocation
    assert isinstance(s2, ResolvedLaunch) and s2.grid == (4, 2, 1) and s2.block == (32, 8, 1)
    assert s2.dynamic_shared_bytes == 1024 and s2.args[2].value == 32
    assert r.library_ops == ["linear"] and r.kernels == ["scale", "bias"]


def _problems(plan, **kw) -> str:
    kw.setdefault("input_names", INPUTS)
    kw.setdefault("param_names", PARAMS)
    kw.setdefault("kernels", parse_kernel_signatures(SRC))
    return " | ".join(plan_problems(plan, **kw))


def test_block_too_large_and_dims() -> None:
    p = make_plan()
    p.steps[2].launch.block[0].expr = "64"
    p.steps[2].launch.block[1].expr = "32"
    assert "2048 threads per block" in _problems(p)
    p = make_plan()
    for _ in range(3):
        p.steps[0].launch.grid.add(expr="1")
    assert "1 to 3 dimensions" in _problems(p)
    p = make_plan()
    p.steps[0].launch.block[0].expr = "0"
    assert "out of range" in _problems(p)
    # only known at resolve time
    p = make_plan()
    p.steps[0].launch.block[0].expr = "in0.numel * 64"
    assert _problems(p) == ""
    with pytest.raises(PlanError, match="out of range"):
        resolve(p, INPUTS, PARAMS)


def test_names_must_be_unique_and_resolvable() -> None:
    p = make_plan()
    p.allocations.add(name="tmp", dtype="float32").shape.add(expr="1")
    assert "collides" in _problems(p)
    p = make_plan()
    p.allocations.add(name="in0", dtype="float32").shape.add(expr="1")
    assert "collides" in _problems(p)
    p = make_plan()
    p.steps[0].launch.args[1].tensor = "ghost"
    assert "unknown tensor 'ghost'" in _problems(p)
    p = make_plan()
    p.allocations[0].shape[0].expr = "ghost.numel"
    assert "unknown name 'ghost'" in _problems(p)
    p = make_plan()
    p.steps[2].launch.grid[0].expr = "lin.shape[0]"
    p.steps[1].library_call.out = "in3"  # an input name
    assert "overwrite an input" in _problems(p)
    p = make_plan()
    p.steps[0].launch.args.add(tensor="in0")
    assert "kernel takes 4 parameters, plan passes 5" in _problems(p)
    p = make_plan()
    p.steps[0].launch.args[0].int_expr.expr = "1"
    assert "integer passed for pointer" in _problems(p)


def test_unknown_kernel_and_library_op_are_tagged() -> None:
    p = make_plan()
    p.steps[0].launch.kernel = "not_extern"
    assert _problems(p).startswith("unknown kernel: ")
    p = make_plan()
    p.steps[1].library_call.op = "softmax"
    assert "library op not allowed: " in _problems(p)
    p = make_plan()
    p.steps[1].library_call.attributes["stride"] = "[1,1]"
    assert "attribute 'stride' not allowed" in _problems(p)


def test_library_attrs_are_json_literals() -> None:
    p = kernel_pb2.LaunchPlan()
    p.allocations.add(name="o", dtype="float32", is_output=True).shape.add(expr="1")
    lc = p.steps.add().library_call
    lc.op = "conv2d"
    lc.args.add(tensor="in0")
    lc.args.add(tensor="w")
    lc.out = "y"
    lc.attributes["stride"] = "[2,2]"
    lc.attributes["padding"] = "__import__('os')"
    assert "not a JSON literal" in " ".join(plan_problems(p, input_names=["in0"], param_names=["w"]))
    lc.attributes["padding"] = "1"
    r = resolve(p, {"in0": ShapeInfo((2, 3, 9, 9))}, {"w": ShapeInfo((8, 3, 3, 3))})
    assert r.steps[0].out_shape == (2, 8, 5, 5) and r.steps[0].attributes == {"stride": [2, 2], "padding": 1}


def test_library_shapes() -> None:
    assert library_output_shape("matmul", [(5, 3, 4), (4, 6)], {}) == (5, 3, 6)
    assert library_output_shape("matmul", [(4,), (4, 6)], {}) == (6,)
    assert library_output_shape("bmm", [(2, 3, 4), (2, 4, 5)], {}) == (2, 3, 5)
    assert library_output_shape("addmm", [(5,), (3, 4), (4, 5)], {}) == (3, 5)
    assert library_output_shape("conv_transpose2d", [(1, 4, 5, 5), (4, 2, 3, 3)], {"stride": 2}) == (1, 2, 11, 11)
    assert library_output_shape("conv1d", [(1, 4, 10), (6, 2, 3)], {"groups": 2, "padding": "same"}) == (1, 6, 10)
    with pytest.raises(PlanError, match="inner dimensions"):
        library_output_shape("matmul", [(3, 4), (5, 6)], {})


def test_resolve_errors() -> None:
    p = make_plan()
    with pytest.raises(PlanError, match="unknown"):
        resolve(p, {"in0": ShapeInfo((4, 16))}, PARAMS)  # in1 missing
    with pytest.raises(PlanError, match="bytes"):
        resolve(p, INPUTS, PARAMS, max_allocation_bytes=100)
    p.allocations[0].shape[0].expr = "0 - in0.numel"
    with pytest.raises(PlanError, match="< 0"):
        resolve(p, INPUTS, PARAMS)
    p = make_plan()
    p.steps[1].library_call.out = "out"  # write into the output allocation: shapes match
    p.steps[2].launch.grid[0].expr = "out.shape[0]"
    p.steps[2].launch.args[2].int_expr.expr = "out.shape[1]"
    r = resolve(p, INPUTS, PARAMS)
    assert r.steps[1].out_is_allocation
    p.allocations[1].shape[1].expr = "3"
    with pytest.raises(PlanError, match="does not match allocation"):
        resolve(p, INPUTS, PARAMS)


def test_resolve_with_signature_type_checks() -> None:
    sigs = parse_kernel_signatures(SRC)
    p = make_plan()
    p.steps[0].launch.args[3].tensor = "in0"  # tensor for a float parameter
    with pytest.raises(PlanError, match="non-pointer"):
        resolve(p, INPUTS, PARAMS, signatures=sigs)


def test_empty_plan_and_outputs() -> None:
    assert "no steps" in " ".join(plan_problems(kernel_pb2.LaunchPlan()))
    p = make_plan()
    p.allocations[1].is_output = False
    with pytest.raises(PlanError, match="is_output"):
        validate_plan(p)
