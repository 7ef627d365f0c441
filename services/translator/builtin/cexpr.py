"""C expressions for pointwise ATen ops, and the index maps of view ops.

``pointwise_expr(op, node, arg)`` gives the C expression of one element of a pointwise node, where
``arg(i)`` is the C text of argument ``i`` (a tensor value already loaded into a variable, or a
literal). View ops never compute: ``view_index`` maps the consumer's logical multi-index to the
index of the viewed tensor (reshape uses the row-major logical order, so it is layout-free).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from kernelwright.translator.builtin.graph import BatchScalar, GNode, LoweringError

__all__ = ["CTYPES", "POINTWISE", "CONSTANTS", "VIEWS", "base_op", "flit", "pointwise_expr"]

CTYPES = {"float32": "float", "int64": "long long", "int32": "int", "bool": "bool"}

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def base_op(op: str) -> str:
    """``aten.add.Tensor`` -> ``aten.add``; ``getitem`` stays."""
    parts = op.split(".")
    return ".".join(parts[:2]) if len(parts) >= 2 else op


def flit(v: Any) -> str:
    """A C float literal (NVRTC has no <cmath>: infinities via bit patterns)."""
    if isinstance(v, bool):
        return "1.0f" if v else "0.0f"
    if not isinstance(v, (int, float)):
        raise LoweringError(f"non-scalar constant {type(v).__name__}")
    f = float(v)
    if math.isnan(f):
        return "__int_as_float(0x7fc00000)"
    if math.isinf(f):
        return "__int_as_float(0x7f800000)" if f > 0 else "__int_as_float(0xff800000)"
    r = repr(f)
    if "e" not in r and "." not in r:
        r += ".0"
    return f"({r}f)" if r.startswith("-") else f"{r}f"


_UNARY: dict[str, Callable[[str], str]] = {
    "abs": lambda x: f"fabsf({x})",
    "neg": lambda x: f"(-{x})",
    "exp": lambda x: f"expf({x})",
    "exp2": lambda x: f"exp2f({x})",
    "expm1": lambda x: f"expm1f({x})",
    "log": lambda x: f"logf({x})",
    "log1p": lambda x: f"log1pf({x})",
    "log2": lambda x: f"log2f({x})",
    "log10": lambda x: f"log10f({x})",
    "sqrt": lambda x: f"sqrtf({x})",
    "rsqrt": lambda x: f"rsqrtf({x})",
    "sin": lambda x: f"sinf({x})",
    "cos": lambda x: f"cosf({x})",
    "tan": lambda x: f"tanf({x})",
    "asin": lambda x: f"asinf({x})",
    "acos": lambda x: f"acosf({x})",
    "atan": lambda x: f"atanf({x})",
    "sinh": lambda x: f"sinhf({x})",
    "cosh": lambda x: f"coshf({x})",
    "tanh": lambda x: f"tanhf({x})",
    "asinh": lambda x: f"asinhf({x})",
    "acosh": lambda x: f"acoshf({x})",
    "atanh": lambda x: f"atanhf({x})",
    "erf": lambda x: f"erff({x})",
    "erfc": lambda x: f"erfcf({x})",
    "sigmoid": lambda x: f"(1.0f / (1.0f + expf(-{x})))",
    "relu": lambda x: f"({x} > 0.0f ? {x} : 0.0f)",
    "reciprocal": lambda x: f"(1.0f / {x})",
    "sign": lambda x: f"(float)(({x} > 0.0f) - ({x} < 0.0f))",
    "floor": lambda x: f"floorf({x})",
    "ceil": lambda x: f"ceilf({x})",
    "round": lambda x: f"rintf({x})",
    "trunc": lambda x: f"truncf({x})",
    "logical_not": lambda x: f"(!{x})",
    "bitwise_not": lambda x: f"(!{x})",
    "isnan": lambda x: f"({x} != {x})",
    "square": lambda x: f"({x} * {x})",
}

_CMP = {"eq": "==", "ne": "!=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}
_LOGIC = {"logical_and": "&&", "logical_or": "||", "logical_xor": "!=", "bitwise_and": "&&",
          "bitwise_or": "||", "bitwise_xor": "!="}
_IDENTITY = {"clone", "alias", "lift_fresh_copy", "detach", "contiguous", "_to_copy", "convert_element_type",
             "to", "_conj", "positive"}

POINTWISE = ({f"aten.{n}" for n in _UNARY} | {f"aten.{n}" for n in _CMP} | {f"aten.{n}" for n in _LOGIC}
             | {f"aten.{n}" for n in _IDENTITY} | {f"prims.{n}" for n in _UNARY}
             | {f"prims.{n}" for n in ("convert_element_type", "div", "mul", "add", "sub", "maximum", "minimum",
                                       "where", "pow")}
             | {f"aten.{n}" for n in ("add", "sub", "mul", "div", "true_divide", "pow", "maximum", "minimum", "fmax",
                                      "fmin", "atan2", "remainder", "fmod", "where", "clamp", "clamp_min",
                                      "clamp_max", "rsub", "copy")})
CONSTANTS = {"aten.scalar_tensor", "aten.full", "aten.full_like", "aten.zeros", "aten.ones", "aten.zeros_like",
             "aten.ones_like", "aten.arange", "aten.new_full", "aten.new_zeros", "aten.new_ones", "prims.iota", "const.scalar"}
VIEWS = {"aten.view", "aten._unsafe_view", "aten.reshape", "prims.reshape", "aten.view_copy", "aten.permute",
         "aten.expand", "aten.unsqueeze", "aten.squeeze", "prims.broadcast_in_dim", "aten.select", "aten.slice",
         "aten.flip", "aten.cat", "aten.constant_pad_nd", "prims.squeeze", "aten.alias_copy", "aten.t",
         "aten.transpose", "aten.unfold"}


def pointwise_expr(node: GNode, arg: Callable[[int], str], kwarg: Callable[[str], str | None]) -> str:
    """C expression of one element of ``node``; ``arg(i)``/``kwarg(k)`` give operand texts."""
    op = base_op(node.op)
    name = op.split(".", 1)[1]
    if name in _IDENTITY or name == "copy":
        return arg(1) if name == "copy" else arg(0)
    if name in _UNARY:
        return _UNARY[name](arg(0))
    if name in _CMP:
        return f"({arg(0)} {_CMP[name]} {arg(1)})"
    if name in _LOGIC:
        return f"((bool){arg(0)} {_LOGIC[name]} (bool){arg(1)})"
    if name in ("add", "sub", "rsub"):
        a, b = arg(0), arg(1)
        alpha = kwarg("alpha")
        if alpha is not None and alpha != "1.0f":
            b = f"({alpha} * {b})"
        if name == "rsub":
            return f"({b} - {a})"
        return f"({a} {'+' if name == 'add' else '-'} {b})"
    if name == "mul":
        return f"({arg(0)} * {arg(1)})"
    if name in ("div", "true_divide"):
        mode = node.kwargs.get("rounding_mode")
        q = f"({arg(0)} / {arg(1)})"
        if mode is None:
            return q
        if mode == "trunc":
            return f"truncf{q}"
        if mode == "floor":
            return f"floorf{q}"
        raise LoweringError(f"div rounding_mode={mode!r}")
    if name == "pow":
        base, e = node.args[0], node.args[1]
        if not isinstance(e, (GNode, BatchScalar)) and isinstance(e, (int, float)):
            x = arg(0)
            f = float(e)
            if f == 2.0:
                return f"({x} * {x})"
            if f == 3.0:
                return f"({x} * {x} * {x})"
            if f == 1.0:
                return x
            if f == 0.5:
                return f"sqrtf({x})"
            if f == -1.0:
                return f"(1.0f / {x})"
            if f == -0.5:
                return f"rsqrtf({x})"
        del base
        return f"powf({arg(0)}, {arg(1)})"
    if name in ("maximum", "fmax"):
        a, b = arg(0), arg(1)
        return f"fmaxf({a}, {b})" if name == "fmax" else f"(({a} != {a} || {a} > {b}) ? {a} : {b})"
    if name in ("minimum", "fmin"):
        a, b = arg(0), arg(1)
        return f"fminf({a}, {b})" if name == "fmin" else f"(({a} != {a} || {a} < {b}) ? {a} : {b})"
    if name == "atan2":
        return f"atan2f({arg(0)}, {arg(1)})"
    if name == "fmod":
        return f"fmodf({arg(0)}, {arg(1)})"
    if name == "remainder":
        a, b = arg(0), arg(1)
        return f"({a} - floorf({a} / {b}) * {b})"
    if name == "where":
        return f"({arg(0)} ? {arg(1)} : {arg(2)})"
    if name in ("clamp", "clamp_min", "clamp_max"):
        x = arg(0)
        if name == "clamp":
            lo, hi = arg(1), arg(2)
            lo = kwarg("min") if lo is None else lo
            hi = kwarg("max") if hi is None else hi
        elif name == "clamp_min":
            lo, hi = arg(1), None
        else:
            lo, hi = None, arg(1)
        if lo is not None:
            x = f"fmaxf({x}, {lo})"
        if hi is not None:
            x = f"fminf({x}, {hi})"
        return x
    raise LoweringError(f"op {node.op} has no pointwise lowering")
