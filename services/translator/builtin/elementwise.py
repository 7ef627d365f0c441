"""Deterministic fused-elementwise CUDA generator (no LLM).

``generate_elementwise(task_source, schedule)`` traces the task's ``Model`` with ``torch.fx`` (the
model and its inputs are built on the meta device, so nothing large is allocated) and, when the
WHOLE forward is a DAG of elementwise ops over same-shaped fp32 tensors and Python scalars, emits
one fused fast-format kernel (grid-stride loop, 64-bit indices, optional float4 vectorization with
an alignment check and a scalar tail) plus its ``LaunchPlan``. Anything else gives ``Unsupported``
whose ``reason`` names the offending op.
"""

from __future__ import annotations

import inspect
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kernelwright.translator.builtin.task_loading import build_on_meta

__all__ = [
    "DEFAULT_SCHEDULES",
    "ElementwiseProgram",
    "Schedule",
    "Unsupported",
    "analyze_task",
    "generate_candidate",
    "generate_elementwise",
]

GRID_CAP = 65535


@dataclass(frozen=True)
class Schedule:
    block_size: int = 256
    vector_width: int = 4  # 1 (scalar) or 4 (float4)
    unroll: int = 1  # vectors (or elements) per thread per grid-stride iteration

    def __post_init__(self) -> None:
        if self.block_size not in (32, 64, 128, 256, 512, 1024):
            raise ValueError(f"block_size must be a power of two in 32..1024, got {self.block_size}")
        if self.vector_width not in (1, 4):
            raise ValueError(f"vector_width must be 1 or 4, got {self.vector_width}")
        if not 1 <= self.unroll <= 8:
            raise ValueError(f"unroll must be in 1..8, got {self.unroll}")

    def as_map(self) -> dict[str, int]:
        return {"block_size": self.block_size, "vector_width": self.vector_width, "unroll": self.unroll,
                "items_per_thread": self.vector_width * self.unroll}


# float4 first: on the H100 the scalar 4-way-unrolled body ran memory-bound activations at 0.78-0.95x
# eager (docs/benchmarks.md, 2026-11-25); 16-byte accesses are what torch's own kernels use.
DEFAULT_SCHEDULES: tuple[Schedule, ...] = tuple(
    Schedule(b, v, u) for (v, u) in ((4, 1), (1, 4)) for b in (256, 128, 512)
)


@dataclass(frozen=True)
class Unsupported:
    """The task is not a pure elementwise chain; ``reason`` names the op (or what else is wrong)."""

    reason: str

    def __bool__(self) -> bool:  # so ``if result:`` reads naturally
        return False


@dataclass
class ElementwiseProgram:
    """The analyzed forward: inputs, straight-line C statements and the output expression."""

    n_inputs: int
    rank: int
    ops: list[str]  # fused op names, in order
    statements: list[str]  # C statements over x0..x{n-1}, defining t0, t1, ...
    result: str  # C expression of the output value
    kernel_name: str
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Scalars and C expressions
# ---------------------------------------------------------------------------------------------


class _Val:
    """A value during analysis: a C expression of type float or bool."""

    __slots__ = ("expr", "kind")

    def __init__(self, expr: str, kind: str = "float") -> None:
        self.expr = expr
        self.kind = kind


def _flit(v: Any, what: str) -> str:
    if isinstance(v, bool):
        return "1.0f" if v else "0.0f"
    if not isinstance(v, (int, float)):
        raise _Unsup(f"{what}: non-scalar constant {type(v).__name__}")
    f = float(v)
    if not math.isfinite(f):
        raise _Unsup(f"{what}: non-finite scalar {f}")
    r = repr(f)
    if "e" not in r and "." not in r:
        r += ".0"
    return f"({r}f)" if r.startswith("-") else f"{r}f"


class _Unsup(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Op table: signature helpers (bound with inspect.signature) -> C expression builders
# ---------------------------------------------------------------------------------------------

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _sig_unary(input, inplace=False): ...  # noqa: E704
def _sig_leaky(input, negative_slope=0.01, inplace=False): ...  # noqa: E704
def _sig_gelu(input, approximate="none"): ...  # noqa: E704
def _sig_hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False): ...  # noqa: E704
def _sig_softplus(input, beta=1.0, threshold=20.0): ...  # noqa: E704
def _sig_elu(input, alpha=1.0, inplace=False): ...  # noqa: E704
def _sig_clamp(input, min=None, max=None): ...  # noqa: E704
def _sig_clamp_min(input, min): ...  # noqa: E704
def _sig_clamp_max(input, max): ...  # noqa: E704
def _sig_binary(input, other, alpha=1): ...  # noqa: E704
def _sig_div(input, other, rounding_mode=None): ...  # noqa: E704
def _sig_pow(input, exponent): ...  # noqa: E704
def _sig_where(condition, input, other): ...  # noqa: E704
def _sig_cmp(input, other): ...  # noqa: E704
def _sig_threshold(input, threshold, value, inplace=False): ...  # noqa: E704


def _c_pow(a: _Val, b: Any) -> str:
    if isinstance(b, _Val):
        return f"powf({a.expr}, {b.expr})"
    e = float(b)
    if e == 1.0:
        return a.expr
    if e == 2.0:
        return f"({a.expr} * {a.expr})"
    if e == 3.0:
        return f"({a.expr} * {a.expr} * {a.expr})"
    if e == 0.5:
        return f"sqrtf({a.expr})"
    if e == -1.0:
        return f"(1.0f / {a.expr})"
    return f"powf({a.expr}, {_flit(e, 'pow exponent')})"


# name -> (signature helper, builder(bound args as dict of _Val/Python) -> C expr, result kind)
# Builders receive already-materialized operands: tensors are _Val whose expr is a temp name.
def _ops() -> dict[str, tuple[Callable, Callable[[dict], str], str]]:
    def x(a: dict) -> str:
        return a["input"].expr

    def g(a: dict, k: str, what: str) -> str:
        return _flit(a[k], what)

    def gelu(a: dict) -> str:
        if a["approximate"] == "none":
            return f"(0.5f * {x(a)} * (1.0f + erff({x(a)} * 0.70710678118654752440f)))"
        if a["approximate"] == "tanh":
            v = x(a)
            return (f"(0.5f * {v} * (1.0f + tanhf(0.79788456080286535588f * "
                    f"({v} + 0.044715f * {v} * {v} * {v}))))")
        raise _Unsup(f"gelu(approximate={a['approximate']!r})")

    def softplus(a: dict) -> str:
        v, beta, th = x(a), g(a, "beta", "softplus beta"), g(a, "threshold", "softplus threshold")
        return f"(({v} * {beta}) > {th} ? {v} : log1pf(expf({v} * {beta})) / {beta})"

    def clamp(a: dict) -> str:
        v = x(a)
        lo, hi = a.get("min"), a.get("max")
        if isinstance(lo, _Val) or isinstance(hi, _Val):
            raise _Unsup("clamp with tensor bounds")
        if lo is not None:
            v = f"fmaxf({v}, {_flit(lo, 'clamp min')})"
        if hi is not None:
            v = f"fminf({v}, {_flit(hi, 'clamp max')})"
        if lo is None and hi is None:
            raise _Unsup("clamp without bounds")
        return v

    def binop(sym: str) -> Callable[[dict], str]:
        def build(a: dict) -> str:
            lhs, rhs = _operand(a["input"]), _operand(a["other"])
            alpha = a.get("alpha", 1)
            if alpha != 1:
                rhs = f"({_flit(alpha, 'alpha')} * {rhs})"
            return f"({lhs} {sym} {rhs})"
        return build

    def div(a: dict) -> str:
        if a.get("rounding_mode") is not None:
            raise _Unsup(f"div(rounding_mode={a['rounding_mode']!r})")
        return f"({_operand(a['input'])} / {_operand(a['other'])})"

    def pow_(a: dict) -> str:
        base, e = a["input"], a["exponent"]
        if not isinstance(base, _Val):
            return f"powf({_flit(base, 'pow base')}, {e.expr})"
        return _c_pow(base, e)

    def cmp(sym: str) -> Callable[[dict], str]:
        return lambda a: f"({_operand(a['input'])} {sym} {_operand(a['other'])})"

    def where(a: dict) -> str:
        c = a["condition"]
        if not isinstance(c, _Val):
            raise _Unsup("where with a non-tensor condition")
        cond = c.expr if c.kind == "bool" else f"({c.expr} != 0.0f)"
        return f"({cond} ? {_operand(a['input'])} : {_operand(a['other'])})"

    def minmax(fn: str) -> Callable[[dict], str]:
        return lambda a: f"{fn}({_operand(a['input'])}, {_operand(a['other'])})"

    def threshold(a: dict) -> str:
        return f"({x(a)} > {g(a, 'threshold', 'threshold')} ? {x(a)} : {g(a, 'value', 'threshold value')})"

    U = _sig_unary
    return {
        "relu": (U, lambda a: f"({x(a)} < 0.0f ? 0.0f : {x(a)})", "float"),
        "relu6": (U, lambda a: f"fminf(fmaxf({x(a)}, 0.0f), 6.0f)", "float"),
        "leaky_relu": (_sig_leaky, lambda a: f"({x(a)} > 0.0f ? {x(a)} : {x(a)} * {g(a, 'negative_slope', 'negative_slope')})", "float"),
        "sigmoid": (U, lambda a: f"(1.0f / (1.0f + expf(-{x(a)})))", "float"),
        "tanh": (U, lambda a: f"tanhf({x(a)})", "float"),
        "gelu": (_sig_gelu, gelu, "float"),
        "silu": (U, lambda a: f"({x(a)} / (1.0f + expf(-{x(a)})))", "float"),
        "hardtanh": (_sig_hardtanh, lambda a: f"fminf(fmaxf({x(a)}, {g(a, 'min_val', 'min_val')}), {g(a, 'max_val', 'max_val')})", "float"),
        "hardsigmoid": (U, lambda a: f"(fminf(fmaxf({x(a)} + 3.0f, 0.0f), 6.0f) / 6.0f)", "float"),
        "hardswish": (U, lambda a: f"({x(a)} * fminf(fmaxf({x(a)} + 3.0f, 0.0f), 6.0f) / 6.0f)", "float"),
        "softplus": (_sig_softplus, softplus, "float"),
        "softsign": (U, lambda a: f"({x(a)} / (1.0f + fabsf({x(a)})))", "float"),
        "elu": (_sig_elu, lambda a: f"({x(a)} > 0.0f ? {x(a)} : {g(a, 'alpha', 'elu alpha')} * expm1f({x(a)}))", "float"),
        "selu": (U, lambda a: f"({SELU_SCALE!r}f * ({x(a)} > 0.0f ? {x(a)} : {SELU_ALPHA!r}f * expm1f({x(a)})))", "float"),
        "mish": (U, lambda a: f"({x(a)} * tanhf({x(a)} > 20.0f ? {x(a)} : log1pf(expf({x(a)}))))", "float"),
        "clamp": (_sig_clamp, clamp, "float"),
        "clamp_min": (_sig_clamp_min, lambda a: clamp({"input": a["input"], "min": a["min"], "max": None}), "float"),
        "clamp_max": (_sig_clamp_max, lambda a: clamp({"input": a["input"], "min": None, "max": a["max"]}), "float"),
        "threshold": (_sig_threshold, threshold, "float"),
        "abs": (U, lambda a: f"fabsf({x(a)})", "float"),
        "neg": (U, lambda a: f"(-{x(a)})", "float"),
        "exp": (U, lambda a: f"expf({x(a)})", "float"),
        "log": (U, lambda a: f"logf({x(a)})", "float"),
        "sqrt": (U, lambda a: f"sqrtf({x(a)})", "float"),
        "rsqrt": (U, lambda a: f"(1.0f / sqrtf({x(a)}))", "float"),
        "square": (U, lambda a: f"({x(a)} * {x(a)})", "float"),
        "reciprocal": (U, lambda a: f"(1.0f / {x(a)})", "float"),
        "identity": (U, lambda a: x(a), "float"),
        "add": (_sig_binary, binop("+"), "float"),
        "sub": (_sig_binary, binop("-"), "float"),
        "mul": (_sig_binary, binop("*"), "float"),
        "div": (_sig_div, div, "float"),
        "pow": (_sig_pow, pow_, "float"),
        "where": (_sig_where, where, "float"),
        "minimum": (_sig_cmp, minmax("fminf"), "float"),
        "maximum": (_sig_cmp, minmax("fmaxf"), "float"),
        "gt": (_sig_cmp, cmp(">"), "bool"),
        "lt": (_sig_cmp, cmp("<"), "bool"),
        "ge": (_sig_cmp, cmp(">="), "bool"),
        "le": (_sig_cmp, cmp("<="), "bool"),
        "eq": (_sig_cmp, cmp("=="), "bool"),
        "ne": (_sig_cmp, cmp("!="), "bool"),
    }


def _operand(v: Any) -> str:
    if isinstance(v, _Val):
        return f"({v.expr} ? 1.0f : 0.0f)" if v.kind == "bool" else v.expr
    return _flit(v, "operand")


_OPS = _ops()


def _target_table() -> tuple[dict[Any, str], dict[str, str], dict[type, Callable[[Any], tuple[str, dict]]]]:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    fn: dict[Any, str] = {}
    for name in ("relu", "sigmoid", "tanh", "abs", "neg", "exp", "log", "sqrt", "rsqrt", "square",
                 "reciprocal", "clamp", "clamp_min", "clamp_max", "add", "sub", "mul", "div", "pow",
                 "where", "minimum", "maximum", "gt", "lt", "ge", "le", "eq", "ne", "selu"):
        fn[getattr(torch, name)] = name
    fn[torch.clip] = "clamp"
    fn[torch.subtract] = "sub"
    fn[torch.multiply] = "mul"
    fn[torch.divide] = "div"
    fn[torch.true_divide] = "div"
    fn[torch.negative] = "neg"
    fn[torch.absolute] = "abs"
    for name in ("relu", "relu6", "leaky_relu", "sigmoid", "tanh", "gelu", "silu", "hardtanh",
                 "hardsigmoid", "hardswish", "softplus", "softsign", "elu", "selu", "mish", "threshold"):
        fn[getattr(F, name)] = name
    fn[torch.special.expit] = "sigmoid"
    fn[operator.add] = "add"
    fn[operator.sub] = "sub"
    fn[operator.mul] = "mul"
    fn[operator.truediv] = "div"
    fn[operator.neg] = "neg"
    fn[operator.pos] = "identity"
    fn[operator.pow] = "pow"
    fn[operator.abs] = "abs"
    fn[operator.gt] = "gt"
    fn[operator.lt] = "lt"
    fn[operator.ge] = "ge"
    fn[operator.le] = "le"
    fn[operator.eq] = "eq"
    fn[operator.ne] = "ne"

    meth = {n: n for n in _OPS if n not in ("identity",)}
    meth.update({"clip": "clamp", "subtract": "sub", "multiply": "mul", "divide": "div",
                 "true_divide": "div", "contiguous": "identity", "clone": "identity",
                 "sigmoid_": "sigmoid", "relu_": "relu", "tanh_": "tanh", "clamp_": "clamp",
                 "mul_": "mul", "add_": "add", "sub_": "sub", "div_": "div"})

    mods: dict[type, Callable[[Any], tuple[str, dict]]] = {
        nn.ReLU: lambda m: ("relu", {}),
        nn.ReLU6: lambda m: ("relu6", {}),
        nn.LeakyReLU: lambda m: ("leaky_relu", {"negative_slope": m.negative_slope}),
        nn.Sigmoid: lambda m: ("sigmoid", {}),
        nn.Tanh: lambda m: ("tanh", {}),
        nn.GELU: lambda m: ("gelu", {"approximate": m.approximate}),
        nn.SiLU: lambda m: ("silu", {}),
        nn.Hardtanh: lambda m: ("hardtanh", {"min_val": m.min_val, "max_val": m.max_val}),
        nn.Hardsigmoid: lambda m: ("hardsigmoid", {}),
        nn.Hardswish: lambda m: ("hardswish", {}),
        nn.Softplus: lambda m: ("softplus", {"beta": m.beta, "threshold": m.threshold}),
        nn.Softsign: lambda m: ("softsign", {}),
        nn.ELU: lambda m: ("elu", {"alpha": m.alpha}),
        nn.SELU: lambda m: ("selu", {}),
        nn.Mish: lambda m: ("mish", {}),
        nn.Identity: lambda m: ("identity", {}),
        nn.Threshold: lambda m: ("threshold", {"threshold": m.threshold, "value": m.value}),
    }
    return fn, meth, mods


def _target_name(t: Any) -> str:
    return getattr(t, "__name__", None) or str(t)


# ---------------------------------------------------------------------------------------------
# Analysis
# ---------------------------------------------------------------------------------------------


def _load_task(task_source: str) -> tuple[Any, list[Any]]:
    ns: dict[str, Any] = {"__name__": "kernelwright_builtin_task"}
    exec(compile(task_source, "<task>", "exec"), ns)  # the task's own module code (trusted input)
    if "Model" not in ns:
        raise _Unsup("task defines no Model")
    return build_on_meta(ns)


def analyze_task(task_source: str) -> ElementwiseProgram | Unsupported:
    """Trace the task and lower its forward to fused C statements, or say why not."""
    try:
        return _analyze(task_source)
    except _Unsup as exc:
        return Unsupported(str(exc))


def _analyze(task_source: str) -> ElementwiseProgram:
    import torch
    import torch.fx

    try:
        model, inputs = _load_task(task_source)
    except _Unsup:
        raise
    except Exception as exc:  # noqa: BLE001 - the reason is reported, never raised
        raise _Unsup(f"could not build the task on the meta device: {type(exc).__name__}: {exc}") from None
    if not inputs:
        raise _Unsup("task has no inputs")
    shape = None
    for i, t in enumerate(inputs):
        if not isinstance(t, torch.Tensor):
            raise _Unsup(f"input {i} is a {type(t).__name__}, not a tensor (scalar inputs not supported)")
        if t.dtype != torch.float32:
            raise _Unsup(f"input {i} has dtype {t.dtype} (only float32)")
        if shape is None:
            shape = tuple(t.shape)
        elif tuple(t.shape) != shape:
            raise _Unsup(f"broadcasting: input {i} has shape {tuple(t.shape)} != input 0 shape {shape}")
    try:
        gm = torch.fx.symbolic_trace(model)
    except Exception as exc:  # noqa: BLE001
        raise _Unsup(f"torch.fx could not trace the forward: {type(exc).__name__}: {exc}") from None

    fn_table, meth_table, mod_table = _target_table()
    env: dict[str, Any] = {}
    statements: list[str] = []
    ops: list[str] = []
    n_in = 0
    out_val: Any = None
    modules = dict(gm.named_modules())

    def arg(a: Any) -> Any:
        if isinstance(a, torch.fx.Node):
            return env[a.name]
        if isinstance(a, (list, tuple, dict)):
            raise _Unsup(f"container argument {type(a).__name__}")
        return a

    for node in gm.graph.nodes:
        if node.op == "placeholder":
            if n_in >= len(inputs):
                raise _Unsup(f"forward takes more arguments than get_inputs() provides ({node.name})")
            env[node.name] = _Val(f"x{n_in}")
            n_in += 1
            continue
        if node.op == "output":
            out_val = arg(node.args[0]) if not isinstance(node.args[0], (list, tuple)) else None
            if not isinstance(out_val, _Val):
                raise _Unsup("output is not a single tensor")
            continue
        if node.op == "get_attr":
            raise _Unsup(f"parameter/buffer {node.target!r} (only scalar attributes are fused)")
        kwargs: dict[str, Any]
        if node.op == "call_function":
            opname = fn_table.get(node.target)
            if opname is None:
                raise _Unsup(f"op {_target_name(node.target)} is not elementwise-supported")
            args, kwargs = tuple(node.args), dict(node.kwargs)
        elif node.op == "call_method":
            opname = meth_table.get(node.target)
            if opname is None:
                raise _Unsup(f"op Tensor.{node.target} is not elementwise-supported")
            args, kwargs = tuple(node.args), dict(node.kwargs)
        elif node.op == "call_module":
            mod = modules[node.target]
            conv = mod_table.get(type(mod))
            if conv is None:
                raise _Unsup(f"op {type(mod).__name__} (module {node.target!r}) is not elementwise-supported")
            opname, extra = conv(mod)
            args, kwargs = tuple(node.args)[:1], {**extra}
        else:
            raise _Unsup(f"fx node kind {node.op}")
        sig, build, kind = _OPS[opname]
        try:
            bound = inspect.signature(sig).bind(*[arg(a) for a in args], **{k: arg(v) for k, v in kwargs.items()})
        except TypeError as exc:
            raise _Unsup(f"op {opname}: unsupported arguments ({exc})") from None
        bound.apply_defaults()
        a = dict(bound.arguments)
        first = next(iter(a.values()))
        if not isinstance(first, _Val) and not any(isinstance(v, _Val) for v in a.values()):
            raise _Unsup(f"op {opname} on Python scalars only")
        if "input" in a and not isinstance(a["input"], _Val) and opname not in ("add", "sub", "mul", "div", "pow", "where", "gt", "lt", "ge", "le", "eq", "ne", "minimum", "maximum"):
            raise _Unsup(f"op {opname} on a non-tensor")
        if opname in ("where",) and not isinstance(a["input"], _Val) and not isinstance(a["other"], _Val) and not isinstance(a["condition"], _Val):
            raise _Unsup("where over scalars only")
        expr = build(a)
        if opname == "identity":
            env[node.name] = a["input"]
            continue
        tmp = f"t{len(statements)}"
        ctype = "bool" if kind == "bool" else "float"
        statements.append(f"const {ctype} {tmp} = {expr};  // {opname}")
        env[node.name] = _Val(tmp, kind)
        ops.append(opname)
    if n_in != len(inputs):
        raise _Unsup(f"forward takes {n_in} inputs but get_inputs() provides {len(inputs)}")
    assert out_val is not None
    result = _operand(out_val)
    uniq = list(dict.fromkeys(ops)) or ["copy"]
    kname = "kw_fused_" + "_".join(uniq[:4]) + ("_etc" if len(uniq) > 4 else "") + "_kernel"
    kname = re.sub(r"[^A-Za-z0-9_]", "_", kname)
    return ElementwiseProgram(n_in, len(shape or ()), ops, statements, result, kname)


# ---------------------------------------------------------------------------------------------
# Code generation
# ---------------------------------------------------------------------------------------------


def _cuda_source(prog: ElementwiseProgram, s: Schedule) -> str:
    n = prog.n_inputs
    xs = [f"x{i}" for i in range(n)]
    ins = [f"in{i}" for i in range(n)]
    lines: list[str] = []
    lines.append("// kernelwright builtin elementwise generator (deterministic, no LLM).")
    lines.append(f"// Fused ops, in order: {', '.join(prog.ops) if prog.ops else '(copy)'}")
    lines.append(f"// Schedule: block_size={s.block_size} vector_width={s.vector_width} unroll={s.unroll}")
    lines.append("// NVRTC translation unit: no includes, extern \"C\" kernel, 64-bit indices, grid-stride loop.")
    lines.append(f"#define KW_UNROLL {s.unroll}")
    lines.append("")
    lines.append(f"__device__ __forceinline__ float kw_fused_op({', '.join('float ' + x for x in xs)}) {{")
    for st in prog.statements:
        lines.append(f"    {st}")
    lines.append(f"    return {prog.result};")
    lines.append("}")
    lines.append("")
    params = [f"const float* __restrict__ {i}" for i in ins] + ["float* __restrict__ out", "long long n"]
    lines.append(f"extern \"C\" __global__ void {prog.kernel_name}({', '.join(params)}) {{")
    lines.append("    const long long tid = (long long)blockIdx.x * blockDim.x + threadIdx.x;")
    lines.append("    const long long nthreads = (long long)gridDim.x * blockDim.x;")
    lines.append("    long long start = 0;")
    if s.vector_width == 4:
        ptrs = " | ".join(f"(unsigned long long){p}" for p in ins + ["out"])
        lines.append(f"    if ((({ptrs}) & 15ull) == 0ull) {{")
        lines.append("        // Aligned: float4 body over n/4 vectors.")
        lines.append("        const long long n4 = n >> 2;")
        for i in range(n):
            lines.append(f"        const float4* __restrict__ in{i}v = reinterpret_cast<const float4*>(in{i});")
        lines.append("        float4* __restrict__ outv = reinterpret_cast<float4*>(out);")
        lines.append("        for (long long base = tid; base < n4; base += nthreads * KW_UNROLL) {")
        lines.append("#pragma unroll")
        lines.append("            for (int u = 0; u < KW_UNROLL; ++u) {")
        lines.append("                const long long i = base + (long long)u * nthreads;")
        lines.append("                if (i < n4) {")
        for i in range(n):
            lines.append(f"                    const float4 a{i} = in{i}v[i];")
        lines.append("                    float4 r;")
        for c in "xyzw":
            lines.append(f"                    r.{c} = kw_fused_op({', '.join(f'a{i}.{c}' for i in range(n))});")
        lines.append("                    outv[i] = r;")
        lines.append("                }")
        lines.append("            }")
        lines.append("        }")
        lines.append("        start = n4 << 2;")
        lines.append("    }")
        lines.append("    // Scalar path: the tail (n % 4), or everything when a pointer is misaligned.")
        lines.append("    for (long long i = start + tid; i < n; i += nthreads) {")
        lines.append(f"        out[i] = kw_fused_op({', '.join(f'{p}[i]' for p in ins)});")
        lines.append("    }")
    else:
        lines.append("    for (long long base = start + tid; base < n; base += nthreads * KW_UNROLL) {")
        lines.append("#pragma unroll")
        lines.append("        for (int u = 0; u < KW_UNROLL; ++u) {")
        lines.append("            const long long i = base + (long long)u * nthreads;")
        lines.append(f"            if (i < n) out[i] = kw_fused_op({', '.join(f'{p}[i]' for p in ins)});")
        lines.append("        }")
        lines.append("    }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _plan(prog: ElementwiseProgram, s: Schedule) -> Any:
    from kernelwright.common.v1 import kernel_pb2 as kp

    plan = kp.LaunchPlan()
    alloc = plan.allocations.add(name="out", dtype="float32", is_output=True)
    for d in range(prog.rank):
        alloc.shape.add(expr=f"in0.shape[{d}]")
    step = plan.steps.add()
    ln = step.launch
    ln.kernel = prog.kernel_name
    per_block = s.block_size * s.vector_width * s.unroll
    ln.grid.add(expr=f"max(1, min(ceil_div(in0.numel, {per_block}), {GRID_CAP}))")
    ln.block.add(expr=str(s.block_size))
    for i in range(prog.n_inputs):
        ln.args.add(tensor=f"in{i}")
    ln.args.add(tensor="out")
    ln.args.add().int_expr.expr = "in0.numel"
    return plan


def generate_candidate(prog: ElementwiseProgram, schedule: Schedule) -> Any:
    """A fast-format ``KernelCandidate`` (id, proposer "builtin", schedule map) for ``prog``."""
    from kernelwright.common.v1 import kernel_pb2 as kp
    from kernelwright.gpu_evaluator.pool import candidate_id

    cand = kp.KernelCandidate(format=kp.CANDIDATE_FORMAT_FAST, cuda_source=_cuda_source(prog, schedule),
                              proposer="builtin")
    cand.plan.CopyFrom(_plan(prog, schedule))
    for k, v in schedule.as_map().items():
        cand.schedule[k] = v
    cand.id = candidate_id(cand)
    return cand


def generate_elementwise(task_source: str, schedule: Schedule | None = None) -> Any:
    """One candidate for ``schedule`` (default ``Schedule()``), or ``Unsupported``."""
    prog = analyze_task(task_source)
    if isinstance(prog, Unsupported):
        return prog
    return generate_candidate(prog, schedule or Schedule())
