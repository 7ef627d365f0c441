"""LaunchPlan parsing, validation and resolution for the fast candidate format.

A fast-format candidate ships CUDA device code plus a declarative ``LaunchPlan``; the evaluator
interprets the plan itself so no candidate Python ever runs. This module is the pure part of that
interpreter: it never imports torch (cheap, testable on any machine).

Names a plan may use
--------------------
* ``in0``, ``in1``, ... - the forward's inputs, in order (a tensor, or a Python int/float scalar);
* parameter/buffer names of the reference module with '.' replaced by '_' (``conv_weight``);
* the plan's allocations (allocated in order before any step runs; an allocation's shape may
  refer to inputs, parameters and earlier allocations);
* the ``out`` of an earlier ``LibraryCall``.

ShapeExpr grammar (evaluated by a whitelisting AST walker, never by ``eval``)
-----------------------------------------------------------------------------
integers, ``+ - * // %``, unary ``-``/``+``, parentheses, ``ceil_div(a, b)``, ``min(a, b, ...)``,
``max(a, b, ...)``, ``<tensor>.shape[i]`` (negative ``i`` allowed), ``<tensor>.numel``,
``<tensor>.ndim`` and a bare ``inN`` when that input is a scalar. There is no ``**``; ``//`` and
``%`` follow Python (floor) semantics; every intermediate value must stay within +-2**62.
Float scalars are not allowed inside integer expressions: pass them to a kernel as a
``LaunchArg.tensor`` naming the scalar input (it resolves to a ``scalar`` argument).
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Union

__all__ = [
    "ALLOWED_LIBRARY_OPS",
    "DTYPE_SIZES",
    "KernelParam",
    "PlanError",
    "ResolvedAllocation",
    "ResolvedArg",
    "ResolvedLaunch",
    "ResolvedLibraryCall",
    "ResolvedPlan",
    "ShapeInfo",
    "canonical_dtype",
    "eval_expr",
    "expr_names",
    "parse_expr",
    "parse_kernel_signatures",
    "plan_problems",
    "resolve",
    "validate_plan",
]


class PlanError(ValueError):
    """A plan (or one of its expressions) is invalid; the message names the offending part."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ShapeInfo:
    """Shape and dtype of a tensor, e.g. ``ShapeInfo((16, 64), "float32")``."""

    shape: tuple[int, ...]
    dtype: str = "float32"

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def ndim(self) -> int:
        return len(self.shape)


Scalar = Union[int, float, bool]
Binding = Union[ShapeInfo, int, float, bool]

# ---------------------------------------------------------------------------------------------
# Limits
# ---------------------------------------------------------------------------------------------

MAX_EXPR_CHARS = 1000
MAX_EXPR_NODES = 300
MAX_ABS_VALUE = 2**62
MAX_BLOCK_THREADS = 1024
MAX_BLOCK_DIMS = (1024, 1024, 64)
MAX_GRID_DIMS = (2**31 - 1, 65535, 65535)
# H100/H200 opt-in maximum (227 KiB). Above 48 KiB the worker must set the function attribute.
MAX_DYNAMIC_SHARED_BYTES = 232448
MAX_ALLOCATION_BYTES = 32 * 2**30
MAX_STEPS = 4096
MAX_ALLOCATIONS = 1024
MAX_ARGS = 256

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_INPUT_RE = re.compile(r"^in(0|[1-9][0-9]*)$")

# ---------------------------------------------------------------------------------------------
# dtypes
# ---------------------------------------------------------------------------------------------

DTYPE_SIZES: dict[str, int] = {
    "float32": 4,
    "float16": 2,
    "bfloat16": 2,
    "float64": 8,
    "int8": 1,
    "uint8": 1,
    "int16": 2,
    "int32": 4,
    "int64": 8,
    "bool": 1,
}
_DTYPE_ALIASES = {
    "float": "float32",
    "fp32": "float32",
    "f32": "float32",
    "half": "float16",
    "fp16": "float16",
    "f16": "float16",
    "bf16": "bfloat16",
    "double": "float64",
    "fp64": "float64",
    "f64": "float64",
    "int": "int32",
    "long": "int64",
    "short": "int16",
    "char": "int8",
    "byte": "uint8",
}


def canonical_dtype(dtype: str) -> str:
    """``"torch.float32"``/``"float"``/``"fp32"`` -> ``"float32"``; raises PlanError if unknown."""
    d = (dtype or "").strip().lower()
    if d.startswith("torch."):
        d = d[len("torch.") :]
    d = _DTYPE_ALIASES.get(d, d)
    if d not in DTYPE_SIZES:
        raise PlanError(f"unknown dtype {dtype!r} (known: {', '.join(sorted(DTYPE_SIZES))})")
    return d


# ---------------------------------------------------------------------------------------------
# ShapeExpr: parse + safe evaluation
# ---------------------------------------------------------------------------------------------

_FUNCS = {"ceil_div": 2, "min": -1, "max": -1}  # -1: variadic (>= 1 argument)
_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod)
_TENSOR_ATTRS = ("numel", "ndim")


def _check_node(node: ast.AST, expr: str) -> None:
    """Raise PlanError unless ``node`` (recursively) is within the ShapeExpr grammar."""

    def bad(why: str) -> PlanError:
        return PlanError(f"shape expression {expr!r}: {why}")

    if isinstance(node, ast.Expression):
        _check_node(node.body, expr)
    elif isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int):
            raise bad(f"only integer literals are allowed, got {node.value!r}")
    elif isinstance(node, ast.BinOp):
        if not isinstance(node.op, _BINOPS):
            raise bad(f"operator {type(node.op).__name__} is not allowed (only + - * // %)")
        _check_node(node.left, expr)
        _check_node(node.right, expr)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, (ast.USub, ast.UAdd)):
            raise bad(f"unary operator {type(node.op).__name__} is not allowed")
        _check_node(node.operand, expr)
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCS:
            name = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
            raise bad(f"call to {name!r} is not allowed (only ceil_div, min, max)")
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise bad(f"{node.func.id}() takes positional arguments only")
        arity = _FUNCS[node.func.id]
        if arity >= 0 and len(node.args) != arity:
            raise bad(f"{node.func.id}() takes {arity} arguments, got {len(node.args)}")
        if arity < 0 and not node.args:
            raise bad(f"{node.func.id}() needs at least one argument")
        for a in node.args:
            _check_node(a, expr)
    elif isinstance(node, ast.Name):
        if not _NAME_RE.match(node.id) or node.id.startswith("__"):
            raise bad(f"name {node.id!r} is not allowed")
    elif isinstance(node, ast.Attribute):
        if not isinstance(node.value, ast.Name):
            raise bad(f"attribute access {ast.unparse(node)!r} is not allowed")
        if node.attr not in _TENSOR_ATTRS:
            raise bad(f"attribute {node.attr!r} is not allowed (only .shape[i], .numel, .ndim)")
        _check_node(node.value, expr)
    elif isinstance(node, ast.Subscript):
        v = node.value
        if not (isinstance(v, ast.Attribute) and v.attr == "shape" and isinstance(v.value, ast.Name)):
            raise bad(f"subscript {ast.unparse(node)!r} is not allowed (only <tensor>.shape[i])")
        _check_node(v.value, expr)
        _shape_index(node.slice, expr)
    else:
        raise bad(f"{type(node).__name__} is not allowed")


def _shape_index(sl: ast.AST, expr: str) -> int:
    if isinstance(sl, ast.Constant) and type(sl.value) is int:
        return sl.value
    if (
        isinstance(sl, ast.UnaryOp)
        and isinstance(sl.op, ast.USub)
        and isinstance(sl.operand, ast.Constant)
        and type(sl.operand.value) is int
    ):
        return -sl.operand.value
    raise PlanError(f"shape expression {expr!r}: .shape index must be an integer literal")


_PARSE_CACHE: dict[str, ast.Expression] = {}


def parse_expr(expr: str) -> ast.Expression:
    """Parse and whitelist-check a ShapeExpr string; raises PlanError with the expression."""
    if not isinstance(expr, str):
        raise PlanError(f"shape expression must be a string, got {type(expr).__name__}")
    cached = _PARSE_CACHE.get(expr)
    if cached is not None:
        return cached
    text = expr.strip()
    if not text:
        raise PlanError("empty shape expression")
    if len(text) > MAX_EXPR_CHARS:
        raise PlanError(f"shape expression too long ({len(text)} chars > {MAX_EXPR_CHARS})")
    if "**" in text:
        raise PlanError(f"shape expression {expr!r}: '**' is not allowed")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as e:
        raise PlanError(f"shape expression {expr!r}: syntax error: {e.msg}") from None
    n = sum(1 for _ in ast.walk(tree))
    if n > MAX_EXPR_NODES:
        raise PlanError(f"shape expression {expr!r}: too complex ({n} nodes > {MAX_EXPR_NODES})")
    _check_node(tree, expr)
    if len(_PARSE_CACHE) < 10000:
        _PARSE_CACHE[expr] = tree
    return tree


def expr_names(expr: str) -> set[str]:
    """Names (tensors or scalar inputs) an expression refers to."""
    tree = parse_expr(expr)
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id not in _FUNCS}


def _bound(v: int, expr: str) -> int:
    if abs(v) > MAX_ABS_VALUE:
        raise PlanError(f"shape expression {expr!r}: value out of range (|v| > 2**62)")
    return v


def eval_expr(expr: str, env: Mapping[str, Binding]) -> int:
    """Evaluate a ShapeExpr over ``env`` (name -> ShapeInfo or int scalar) to an int."""
    tree = parse_expr(expr)

    def tensor(name: str) -> ShapeInfo:
        if name not in env:
            raise PlanError(f"shape expression {expr!r}: unknown tensor {name!r}")
        b = env[name]
        if not isinstance(b, ShapeInfo):
            raise PlanError(f"shape expression {expr!r}: {name!r} is a scalar, not a tensor")
        return b

    def ev(node: ast.AST) -> int:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant):
            return _bound(int(node.value), expr)
        if isinstance(node, ast.UnaryOp):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp):
            a, b = ev(node.left), ev(node.right)
            if isinstance(node.op, ast.Add):
                r = a + b
            elif isinstance(node.op, ast.Sub):
                r = a - b
            elif isinstance(node.op, ast.Mult):
                if a and b and abs(a) > MAX_ABS_VALUE // abs(b):
                    raise PlanError(f"shape expression {expr!r}: value out of range (|v| > 2**62)")
                r = a * b
            else:
                if b == 0:
                    raise PlanError(f"shape expression {expr!r}: division by zero")
                r = a // b if isinstance(node.op, ast.FloorDiv) else a % b
            return _bound(r, expr)
        if isinstance(node, ast.Call):
            args = [ev(a) for a in node.args]
            fn = node.func.id  # type: ignore[attr-defined]
            if fn == "ceil_div":
                if args[1] == 0:
                    raise PlanError(f"shape expression {expr!r}: ceil_div by zero")
                return -((-args[0]) // args[1])
            return min(args) if fn == "min" else max(args)
        if isinstance(node, ast.Name):
            if node.id not in env:
                raise PlanError(f"shape expression {expr!r}: unknown name {node.id!r}")
            b = env[node.id]
            if isinstance(b, ShapeInfo):
                raise PlanError(
                    f"shape expression {expr!r}: {node.id!r} is a tensor; use .shape[i], .numel or .ndim"
                )
            if isinstance(b, bool) or isinstance(b, int):
                return _bound(int(b), expr)
            raise PlanError(
                f"shape expression {expr!r}: {node.id!r} is a float scalar; integer expressions "
                "cannot use it (pass it as a tensor-named kernel argument instead)"
            )
        if isinstance(node, ast.Attribute):
            t = tensor(node.value.id)  # type: ignore[attr-defined]
            return _bound(t.numel if node.attr == "numel" else t.ndim, expr)
        if isinstance(node, ast.Subscript):
            t = tensor(node.value.value.id)  # type: ignore[attr-defined]
            i = _shape_index(node.slice, expr)
            if not -t.ndim <= i < t.ndim:
                raise PlanError(
                    f"shape expression {expr!r}: index {i} out of range for "
                    f"{node.value.value.id} with {t.ndim} dims"  # type: ignore[attr-defined]
                )
            return t.shape[i]
        raise PlanError(f"shape expression {expr!r}: {type(node).__name__} is not allowed")

    return ev(tree)


# ---------------------------------------------------------------------------------------------
# Kernel signatures (text-level; used to type scalar arguments and to check arity)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KernelParam:
    """One parameter of an ``extern "C" __global__`` kernel, e.g. ``const float* __restrict__ x``."""

    text: str
    ctype: str  # base C type without qualifiers, e.g. "float", "int", "int64_t", "__half"
    is_pointer: bool

    @property
    def kind(self) -> str:
        """``"pointer"``, ``"int"``, ``"float"`` or ``"other"``."""
        if self.is_pointer:
            return "pointer"
        if self.ctype in _INT_CTYPES:
            return "int"
        if self.ctype in ("float", "double"):
            return "float"
        return "other"


_INT_CTYPES = {
    "int", "unsigned", "unsigned int", "long", "long long", "unsigned long", "unsigned long long",
    "int32_t", "uint32_t", "int64_t", "uint64_t", "size_t", "short", "unsigned short", "char",
    "signed char", "unsigned char", "int8_t", "uint8_t", "int16_t", "uint16_t", "bool",
    "long int", "long long int", "unsigned long long int", "ptrdiff_t", "ssize_t",
}


def _strip_comments(src: str) -> str:
    """Remove // and /* */ comments and string/char literal contents, keeping line structure."""
    out = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
        elif src.startswith("/*", i):
            j = src.find("*/", i + 2)
            seg = src[i : n if j < 0 else j + 2]
            out.append("\n" * seg.count("\n"))
            i = n if j < 0 else j + 2
        elif c in "\"'":
            j = i + 1
            while j < n and src[j] != c and src[j] != "\n":
                j += 2 if src[j] == "\\" else 1
            lit = src[i + 1 : j]
            out.append(c + ("C" if lit == "C" else "") + c)  # keep extern "C"
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


_EXTERN_C_BLOCK_RE = re.compile(r'extern\s*"C"\s*\{')
_GLOBAL_RE = re.compile(r"\b__global__\b")


def _extern_c_spans(code: str) -> list[tuple[int, int]]:
    spans = []
    for m in _EXTERN_C_BLOCK_RE.finditer(code):
        depth, j = 1, m.end()
        while j < len(code) and depth:
            depth += {"{": 1, "}": -1}.get(code[j], 0)
            j += 1
        spans.append((m.end(), j))
    return spans


def _split_top(s: str) -> list[str]:
    parts, depth, cur = [], 0, []
    for ch in s:
        if ch in "(<[{":
            depth += 1
        elif ch in ")>]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        parts.append("".join(cur))
    return [p.strip() for p in parts]


_QUALIFIERS = {"const", "volatile", "__restrict__", "__restrict", "restrict", "struct", "signed"}


def _parse_param(p: str) -> KernelParam:
    text = re.sub(r"\s+", " ", p).strip()
    text_nodef = text.split("=")[0].strip()
    is_pointer = "*" in text_nodef or "[" in text_nodef
    toks = [t for t in re.split(r"[\s*&\[\]]+", text_nodef) if t and t not in _QUALIFIERS]
    toks = [t for t in toks if not t.isdigit()]
    # The last token is the parameter name when there are at least two tokens.
    base = toks[:-1] if len(toks) >= 2 else toks
    ctype = " ".join(base) if base else "?"
    ctype = ctype.replace("std::", "")
    return KernelParam(text=text, ctype=ctype, is_pointer=is_pointer)


def parse_kernel_signatures(cuda_source: str) -> dict[str, list[KernelParam]]:
    """``extern "C" __global__`` kernels (name -> parameters) found in CUDA source text.

    Kernels count as extern "C" when declared as ``extern "C" __global__ ...`` or inside an
    ``extern "C" { ... }`` block. Template kernels are skipped (they are never extern "C").
    """
    code = _strip_comments(cuda_source)
    spans = _extern_c_spans(code)
    result: dict[str, list[KernelParam]] = {}
    for m in _GLOBAL_RE.finditer(code):
        # Statement start: after the previous ';', '}' or '{' (or a preprocessor line).
        start = max(code.rfind(";", 0, m.start()), code.rfind("}", 0, m.start()),
                    code.rfind("{", 0, m.start()), code.rfind("\n#", 0, m.start()))
        prefix = code[start + 1 : m.start()]
        if start >= 0 and code[start] == "\n":
            prefix = prefix.split("\n", 1)[1] if "\n" in prefix else ""
        in_block = any(a <= m.start() < b for a, b in spans)
        is_extern_c = bool(re.search(r'extern\s*"C"', prefix)) or in_block
        if not is_extern_c or "template" in prefix:
            continue
        paren = code.find("(", m.end())
        if paren < 0:
            continue
        head = code[m.end() : paren]
        # __launch_bounds__(...) sits between __global__ and the name.
        head = re.sub(r"__launch_bounds__\s*$", "", head.strip())
        if "__launch_bounds__" in code[m.end() : paren]:
            lb_end = _match_paren(code, paren)
            paren = code.find("(", lb_end + 1)
            head = code[lb_end + 1 : paren]
        names = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", head)
        if not names:
            continue
        name = names[-1]
        end = _match_paren(code, paren)
        params_text = code[paren + 1 : end]
        params = [] if params_text.strip() in ("", "void") else [
            _parse_param(p) for p in _split_top(params_text)
        ]
        result[name] = params
    return result


def _match_paren(code: str, open_idx: int) -> int:
    depth = 0
    for j in range(open_idx, len(code)):
        if code[j] == "(":
            depth += 1
        elif code[j] == ")":
            depth -= 1
            if depth == 0:
                return j
    return len(code)


# ---------------------------------------------------------------------------------------------
# Library calls
# ---------------------------------------------------------------------------------------------

_CONV_ATTRS = {"stride", "padding", "dilation", "groups"}
ALLOWED_LIBRARY_OPS: dict[str, set[str]] = {
    "matmul": set(),
    "bmm": set(),
    "mm": set(),
    "addmm": {"beta", "alpha"},
    "linear": set(),
    "conv1d": _CONV_ATTRS,
    "conv2d": _CONV_ATTRS,
    "conv3d": _CONV_ATTRS,
    "conv_transpose1d": _CONV_ATTRS | {"output_padding"},
    "conv_transpose2d": _CONV_ATTRS | {"output_padding"},
    "conv_transpose3d": _CONV_ATTRS | {"output_padding"},
}
# (min, max) tensor arguments per op.
_LIB_ARITY = {
    "matmul": (2, 2), "bmm": (2, 2), "mm": (2, 2), "addmm": (3, 3), "linear": (2, 3),
    "conv1d": (2, 3), "conv2d": (2, 3), "conv3d": (2, 3),
    "conv_transpose1d": (2, 3), "conv_transpose2d": (2, 3), "conv_transpose3d": (2, 3),
}


def _parse_attrs(op: str, attrs: Mapping[str, str]) -> dict[str, Any]:
    allowed = ALLOWED_LIBRARY_OPS[op]
    out: dict[str, Any] = {}
    for k, v in attrs.items():
        if k not in allowed:
            raise PlanError(
                f"library call {op}: attribute {k!r} not allowed (allowed: {sorted(allowed) or 'none'})"
            )
        if len(v) > 200:
            raise PlanError(f"library call {op}: attribute {k!r} value too long")
        try:
            val = json.loads(v)
        except (json.JSONDecodeError, TypeError):
            raise PlanError(f"library call {op}: attribute {k}={v!r} is not a JSON literal") from None
        ok = (
            isinstance(val, (int, float)) and not isinstance(val, bool)
            or (isinstance(val, list) and all(type(x) is int for x in val) and len(val) <= 3)
            or (k == "padding" and val in ("same", "valid"))
        )
        if not ok:
            raise PlanError(f"library call {op}: attribute {k}={v!r} has an unsupported value")
        out[k] = val
    return out


def _tuple_attr(attrs: Mapping[str, Any], key: str, n: int, default: int) -> tuple[int, ...]:
    v = attrs.get(key, default)
    if isinstance(v, int):
        return (v,) * n
    if isinstance(v, list):
        if len(v) == 1:
            return (v[0],) * n
        if len(v) == n:
            return tuple(v)
    raise PlanError(f"attribute {key}={v!r} must be an int or a list of {n} ints")


def _broadcast(a: tuple[int, ...], b: tuple[int, ...], what: str) -> tuple[int, ...]:
    out = []
    for i in range(max(len(a), len(b))):
        x = a[-1 - i] if i < len(a) else 1
        y = b[-1 - i] if i < len(b) else 1
        if x != y and 1 not in (x, y):
            raise PlanError(f"{what}: shapes {a} and {b} do not broadcast")
        out.append(max(x, y) if 1 in (x, y) else x)
    return tuple(reversed(out))


def library_output_shape(op: str, shapes: list[tuple[int, ...]], attrs: Mapping[str, Any]) -> tuple[int, ...]:
    """Result shape of an allowlisted library op (torch semantics); PlanError on mismatch."""
    what = f"library call {op}"

    def need(cond: bool, why: str) -> None:
        if not cond:
            raise PlanError(f"{what}: {why} (argument shapes {shapes})")

    if op == "mm":
        a, b = shapes
        need(len(a) == 2 and len(b) == 2 and a[1] == b[0], "needs [n,k] x [k,m]")
        return (a[0], b[1])
    if op == "bmm":
        a, b = shapes
        need(len(a) == 3 and len(b) == 3 and a[0] == b[0] and a[2] == b[1], "needs [b,n,k] x [b,k,m]")
        return (a[0], a[1], b[2])
    if op == "addmm":
        c, a, b = shapes
        need(len(a) == 2 and len(b) == 2 and a[1] == b[0], "needs input, [n,k], [k,m]")
        _broadcast(c, (a[0], b[1]), what)
        return (a[0], b[1])
    if op == "matmul":
        a, b = shapes
        need(len(a) >= 1 and len(b) >= 1, "0-d operands")
        if len(a) == 1 and len(b) == 1:
            need(a[0] == b[0], "vector lengths differ")
            return ()
        a2 = (1,) + a if len(a) == 1 else a
        b2 = b + (1,) if len(b) == 1 else b
        need(a2[-1] == b2[-2], "inner dimensions differ")
        batch = _broadcast(a2[:-2], b2[:-2], what)
        out = batch + (a2[-2], b2[-1])
        if len(a) == 1:
            out = out[:-2] + out[-1:]
        if len(b) == 1:
            out = out[:-1]
        return out
    if op == "linear":
        x, w = shapes[0], shapes[1]
        need(len(w) == 2 and len(x) >= 1 and x[-1] == w[1], "needs x[..., in] and weight[out, in]")
        if len(shapes) == 3:
            need(len(shapes[2]) <= 1 and (not shapes[2] or shapes[2][0] in (w[0], 1)), "bias shape")
        return x[:-1] + (w[0],)
    if op.startswith("conv"):
        nd = int(op[-2])
        x, w = shapes[0], shapes[1]
        need(len(w) == nd + 2, f"weight must have {nd + 2} dims")
        need(len(x) in (nd + 1, nd + 2), f"input must have {nd + 1} or {nd + 2} dims")
        batched = len(x) == nd + 2
        c_in, spatial = x[-nd - 1], x[-nd:]
        groups = attrs.get("groups", 1)
        need(isinstance(groups, int) and groups >= 1, "groups must be a positive int")
        stride = _tuple_attr(attrs, "stride", nd, 1)
        dil = _tuple_attr(attrs, "dilation", nd, 1)
        k = w[2:]
        if op.startswith("conv_transpose"):
            need(w[0] == c_in, "weight[0] must equal input channels")
            pad = _tuple_attr(attrs, "padding", nd, 0)
            opad = _tuple_attr(attrs, "output_padding", nd, 0)
            c_out = w[1] * groups
            out_sp = tuple(
                (spatial[i] - 1) * stride[i] - 2 * pad[i] + dil[i] * (k[i] - 1) + opad[i] + 1
                for i in range(nd)
            )
        else:
            need(c_in == w[1] * groups and w[0] % groups == 0, "channels / groups mismatch")
            c_out = w[0]
            p = attrs.get("padding", 0)
            if p == "same":
                out_sp = tuple(spatial)
            else:
                pad = (0,) * nd if p == "valid" else _tuple_attr(attrs, "padding", nd, 0)
                out_sp = tuple(
                    (spatial[i] + 2 * pad[i] - dil[i] * (k[i] - 1) - 1) // stride[i] + 1
                    for i in range(nd)
                )
        need(all(s > 0 for s in out_sp), "output would be empty")
        if len(shapes) == 3:
            need(shapes[2] == (c_out,), f"bias must be [{c_out}]")
        return ((x[0],) if batched else ()) + (c_out,) + out_sp
    raise PlanError(f"library op {op!r} is not allowed")


# ---------------------------------------------------------------------------------------------
# Static validation (no shapes needed)
# ---------------------------------------------------------------------------------------------


def _arg_desc(arg: Any) -> tuple[str, Any]:
    which = arg.WhichOneof("value")
    if which == "tensor":
        return "tensor", arg.tensor
    if which == "int_expr":
        return "int", arg.int_expr.expr
    if which == "float_value":
        return "float", arg.float_value
    return "unset", None


def plan_problems(
    plan: Any,
    *,
    input_names: Iterable[str] | None = None,
    param_names: Iterable[str] | None = None,
    kernels: Mapping[str, list[KernelParam]] | Iterable[str] | None = None,
) -> list[str]:
    """Every structural problem of a LaunchPlan, as readable lines (empty when valid).

    ``input_names``: the forward inputs (``in0``..) when known, else any ``inN`` is accepted.
    ``param_names``: the reference's parameter/buffer names ('.' -> '_') when known, else any
    otherwise-unknown name is reported. ``kernels``: names (or name -> params from
    :func:`parse_kernel_signatures`) of the candidate's extern "C" kernels; when params are given,
    argument count and kinds are checked too. Kernel names unknown to ``kernels`` are reported with
    the prefix ``"unknown kernel"`` so callers can route them to a dedicated check.
    """
    problems: list[str] = []
    inputs = set(input_names) if input_names is not None else None
    params = set(param_names or ())
    sigs: Mapping[str, list[KernelParam]] | None
    known_kernels: set[str] | None
    if kernels is None:
        sigs, known_kernels = None, None
    elif isinstance(kernels, Mapping):
        sigs, known_kernels = kernels, set(kernels)
    else:
        sigs, known_kernels = None, set(kernels)

    defined: set[str] = set(params) | (inputs or set())

    def is_known(name: str) -> bool:
        if name in defined:
            return True
        return inputs is None and bool(_INPUT_RE.match(name))

    def check_expr(expr: str, where: str) -> None:
        try:
            names = expr_names(expr)
        except PlanError as e:
            problems.append(f"{where}: {e.message}")
            return
        for nm in sorted(names):
            if not is_known(nm):
                problems.append(f"{where}: shape expression {expr!r} refers to unknown name {nm!r}")

    def check_dims(exprs: Any, where: str, limit: tuple[int, ...], block: bool) -> None:
        if not 1 <= len(exprs) <= 3:
            problems.append(f"{where}: needs 1 to 3 dimensions, got {len(exprs)}")
            return
        consts = []
        for i, e in enumerate(exprs):
            check_expr(e.expr, f"{where}[{i}]")
            try:
                consts.append(eval_expr(e.expr, {}))
            except PlanError:
                consts.append(None)
        for i, c in enumerate(consts):
            if c is not None and not 1 <= c <= limit[i]:
                problems.append(f"{where}[{i}] = {c} is out of range 1..{limit[i]}")
        if block and all(c is not None for c in consts) and math.prod(consts) > MAX_BLOCK_THREADS:
            problems.append(f"{where}: {math.prod(consts)} threads per block > {MAX_BLOCK_THREADS}")

    if len(plan.allocations) > MAX_ALLOCATIONS:
        problems.append(f"too many allocations ({len(plan.allocations)} > {MAX_ALLOCATIONS})")
    if len(plan.steps) > MAX_STEPS:
        problems.append(f"too many steps ({len(plan.steps)} > {MAX_STEPS})")
    if not plan.steps:
        problems.append("plan has no steps")

    n_outputs = 0
    for i, a in enumerate(plan.allocations):
        where = f"allocation[{i}] {a.name!r}"
        if not _NAME_RE.match(a.name or ""):
            problems.append(f"{where}: invalid name")
        elif _INPUT_RE.match(a.name) or a.name in defined:
            problems.append(f"{where}: name collides with an input, parameter or earlier allocation")
        try:
            canonical_dtype(a.dtype)
        except PlanError as e:
            problems.append(f"{where}: {e.message}")
        if len(a.shape) > 8:
            problems.append(f"{where}: too many dimensions ({len(a.shape)} > 8)")
        for j, s in enumerate(a.shape):
            check_expr(s.expr, f"{where}.shape[{j}]")
        n_outputs += bool(a.is_output)
        if a.name:
            defined.add(a.name)
    if plan.allocations and n_outputs == 0:
        problems.append("no allocation has is_output=true (the forward would return nothing)")
    if not plan.allocations:
        problems.append("plan has no allocations (outputs are allocations with is_output=true)")

    for i, st in enumerate(plan.steps):
        which = st.WhichOneof("step")
        if which == "launch":
            ln = st.launch
            where = f"step[{i}] launch {ln.kernel!r}"
            if known_kernels is not None and ln.kernel not in known_kernels:
                problems.append(
                    f"unknown kernel: {where}: no extern \"C\" __global__ function named "
                    f"{ln.kernel!r} in cuda_source"
                )
            check_dims(ln.grid, f"{where} grid", MAX_GRID_DIMS, block=False)
            check_dims(ln.block, f"{where} block", MAX_BLOCK_DIMS, block=True)
            if not 0 <= ln.dynamic_shared_bytes <= MAX_DYNAMIC_SHARED_BYTES:
                problems.append(
                    f"{where}: dynamic_shared_bytes={ln.dynamic_shared_bytes} out of range "
                    f"0..{MAX_DYNAMIC_SHARED_BYTES}"
                )
            if len(ln.args) > MAX_ARGS:
                problems.append(f"{where}: too many arguments")
            sig = sigs.get(ln.kernel) if sigs is not None else None
            if sig is not None and len(sig) != len(ln.args):
                problems.append(
                    f"{where}: kernel takes {len(sig)} parameters, plan passes {len(ln.args)}"
                )
            for j, arg in enumerate(ln.args):
                kind, val = _arg_desc(arg)
                aw = f"{where} arg[{j}]"
                if kind == "unset":
                    problems.append(f"{aw}: empty LaunchArg")
                elif kind == "tensor" and not is_known(val):
                    problems.append(f"{aw}: unknown tensor {val!r}")
                elif kind == "int":
                    check_expr(val, aw)
                elif kind == "float" and not math.isfinite(val):
                    problems.append(f"{aw}: float value {val} is not finite")
                if sig is not None and j < len(sig):
                    pk = sig[j].kind
                    if kind == "int" and pk == "pointer":
                        problems.append(f"{aw}: integer passed for pointer parameter {sig[j].text!r}")
                    elif kind == "float" and pk in ("pointer", "int"):
                        problems.append(f"{aw}: float passed for parameter {sig[j].text!r}")
        elif which == "library_call":
            lc = st.library_call
            where = f"step[{i}] library_call {lc.op!r}"
            if lc.op not in ALLOWED_LIBRARY_OPS:
                problems.append(
                    f"library op not allowed: {where}: allowed ops are {', '.join(sorted(ALLOWED_LIBRARY_OPS))}"
                )
            else:
                lo, hi = _LIB_ARITY[lc.op]
                if not lo <= len(lc.args) <= hi:
                    problems.append(f"{where}: takes {lo}..{hi} tensor arguments, got {len(lc.args)}")
                try:
                    _parse_attrs(lc.op, lc.attributes)
                except PlanError as e:
                    problems.append(f"{where}: {e.message}")
            for j, arg in enumerate(lc.args):
                kind, val = _arg_desc(arg)
                if kind != "tensor":
                    problems.append(f"{where} arg[{j}]: library call arguments must be tensors")
                elif not is_known(val):
                    problems.append(f"{where} arg[{j}]: unknown tensor {val!r}")
            if not _NAME_RE.match(lc.out or ""):
                problems.append(f"{where}: invalid out name {lc.out!r}")
            elif _INPUT_RE.match(lc.out) or lc.out in params:
                problems.append(f"{where}: out {lc.out!r} would overwrite an input or parameter")
            else:
                defined.add(lc.out)
        else:
            problems.append(f"step[{i}]: empty LaunchStep")
    return problems


def validate_plan(plan: Any, **kwargs: Any) -> None:
    """Raise PlanError listing every problem of ``plan`` (see :func:`plan_problems`)."""
    problems = plan_problems(plan, **kwargs)
    if problems:
        raise PlanError("; ".join(problems[:10]) + (f" (+{len(problems) - 10} more)" if len(problems) > 10 else ""))


# ---------------------------------------------------------------------------------------------
# Resolution against concrete shapes
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResolvedAllocation:
    name: str
    shape: tuple[int, ...]
    dtype: str
    is_output: bool
    nbytes: int


@dataclass(frozen=True)
class ResolvedArg:
    """``kind``: "tensor" (value = name), "int" (value = int), "float" (value = float) or
    "scalar" (a tensor-named scalar forward input; value = its Python int/float).
    ``ctype``: the kernel parameter's C type when signatures were given, else ""."""

    kind: str
    value: Any
    ctype: str = ""


@dataclass(frozen=True)
class ResolvedLaunch:
    kernel: str
    grid: tuple[int, int, int]
    block: tuple[int, int, int]
    dynamic_shared_bytes: int
    args: tuple[ResolvedArg, ...]


@dataclass(frozen=True)
class ResolvedLibraryCall:
    op: str
    args: tuple[str, ...]  # tensor names
    out: str
    attributes: dict[str, Any]  # parsed JSON literals
    out_shape: tuple[int, ...]
    out_dtype: str
    # True when ``out`` names an existing allocation that receives the result (copy into it).
    out_is_allocation: bool = False


@dataclass
class ResolvedPlan:
    allocations: list[ResolvedAllocation]
    steps: list[ResolvedLaunch | ResolvedLibraryCall]
    outputs: list[str]  # allocation names with is_output, in order
    tensors: dict[str, ShapeInfo] = field(default_factory=dict)  # every tensor known at the end
    scalars: dict[str, Scalar] = field(default_factory=dict)

    @property
    def library_ops(self) -> list[str]:
        return [s.op for s in self.steps if isinstance(s, ResolvedLibraryCall)]

    @property
    def kernels(self) -> list[str]:
        return [s.kernel for s in self.steps if isinstance(s, ResolvedLaunch)]


def _dims3(exprs: Any, env: Mapping[str, Binding], where: str, limit: tuple[int, ...]) -> tuple[int, int, int]:
    if not 1 <= len(exprs) <= 3:
        raise PlanError(f"{where}: needs 1 to 3 dimensions, got {len(exprs)}")
    vals = []
    for i, e in enumerate(exprs):
        v = eval_expr(e.expr, env)
        if not 1 <= v <= limit[i]:
            raise PlanError(f"{where}[{i}] = {e.expr!r} evaluates to {v}, out of range 1..{limit[i]}")
        vals.append(v)
    while len(vals) < 3:
        vals.append(1)
    return vals[0], vals[1], vals[2]


def resolve(
    plan: Any,
    inputs: Mapping[str, ShapeInfo | Scalar],
    params: Mapping[str, ShapeInfo],
    *,
    signatures: Mapping[str, list[KernelParam]] | None = None,
    max_allocation_bytes: int = MAX_ALLOCATION_BYTES,
) -> ResolvedPlan:
    """Concrete allocation shapes/dtypes and launch configs/args, in plan order.

    ``inputs``: ``{"in0": ShapeInfo(...), "in1": 3, ...}`` (scalars are Python int/float);
    ``params``: parameter/buffer name ('.' -> '_') -> ShapeInfo. Raises PlanError.
    """
    for nm in inputs:
        if not _INPUT_RE.match(nm):
            raise PlanError(f"input name {nm!r} must look like in0, in1, ...")
    validate_plan(
        plan,
        input_names=list(inputs),
        param_names=list(params),
        kernels=signatures if signatures is not None else None,
    )
    env: dict[str, Binding] = {}
    tensors: dict[str, ShapeInfo] = {}
    scalars: dict[str, Scalar] = {}
    for k, v in list(inputs.items()) + list(params.items()):
        if isinstance(v, ShapeInfo):
            si = ShapeInfo(tuple(int(d) for d in v.shape), canonical_dtype(v.dtype))
            env[k] = tensors[k] = si
        elif isinstance(v, (int, float, bool)):
            env[k] = scalars[k] = v
        else:
            raise PlanError(f"binding {k!r} must be a ShapeInfo or an int/float scalar, got {type(v).__name__}")

    allocs: list[ResolvedAllocation] = []
    for a in plan.allocations:
        shape = []
        for j, s in enumerate(a.shape):
            v = eval_expr(s.expr, env)
            if v < 0:
                raise PlanError(f"allocation {a.name!r}.shape[{j}] = {s.expr!r} evaluates to {v} < 0")
            shape.append(v)
        dtype = canonical_dtype(a.dtype)
        numel = math.prod(shape)
        nbytes = numel * DTYPE_SIZES[dtype]
        if nbytes > max_allocation_bytes:
            raise PlanError(
                f"allocation {a.name!r} shape {tuple(shape)} {dtype} needs {nbytes} bytes "
                f"> limit {max_allocation_bytes}"
            )
        si = ShapeInfo(tuple(shape), dtype)
        env[a.name] = tensors[a.name] = si
        allocs.append(ResolvedAllocation(a.name, si.shape, dtype, bool(a.is_output), nbytes))

    steps: list[ResolvedLaunch | ResolvedLibraryCall] = []
    for i, st in enumerate(plan.steps):
        if st.WhichOneof("step") == "launch":
            ln = st.launch
            where = f"step[{i}] launch {ln.kernel!r}"
            grid = _dims3(ln.grid, env, f"{where} grid", MAX_GRID_DIMS)
            block = _dims3(ln.block, env, f"{where} block", MAX_BLOCK_DIMS)
            if math.prod(block) > MAX_BLOCK_THREADS:
                raise PlanError(f"{where} block {block}: {math.prod(block)} threads > {MAX_BLOCK_THREADS}")
            sig = signatures.get(ln.kernel) if signatures is not None else None
            args = []
            for j, arg in enumerate(ln.args):
                kind, val = _arg_desc(arg)
                ctype = sig[j].ctype if sig is not None and j < len(sig) else ""
                if kind == "tensor":
                    if val in scalars:
                        if sig is not None and j < len(sig) and sig[j].is_pointer:
                            raise PlanError(f"{where} arg[{j}]: scalar input {val!r} passed for pointer parameter")
                        args.append(ResolvedArg("scalar", scalars[val], ctype))
                    else:
                        if sig is not None and j < len(sig) and not sig[j].is_pointer:
                            raise PlanError(
                                f"{where} arg[{j}]: tensor {val!r} passed for non-pointer parameter {sig[j].text!r}"
                            )
                        args.append(ResolvedArg("tensor", val, ctype))
                elif kind == "int":
                    args.append(ResolvedArg("int", eval_expr(val, env), ctype))
                else:
                    args.append(ResolvedArg("float", float(val), ctype))
            steps.append(ResolvedLaunch(ln.kernel, grid, block, int(ln.dynamic_shared_bytes), tuple(args)))
        else:
            lc = st.library_call
            attrs = _parse_attrs(lc.op, lc.attributes)
            names = [a.tensor for a in lc.args]
            for nm in names:
                if nm not in tensors:
                    raise PlanError(f"step[{i}] library_call {lc.op!r}: {nm!r} is not a tensor")
            shapes = [tensors[nm].shape for nm in names]
            dtypes = {tensors[nm].dtype for nm in names}
            if len(dtypes) != 1:
                raise PlanError(f"step[{i}] library_call {lc.op!r}: mixed dtypes {sorted(dtypes)}")
            out_shape = library_output_shape(lc.op, shapes, attrs)
            out_dtype = dtypes.pop()
            into = lc.out in {a.name for a in allocs}
            if into:
                have = tensors[lc.out]
                if have.shape != out_shape or have.dtype != out_dtype:
                    raise PlanError(
                        f"step[{i}] library_call {lc.op!r}: result {out_shape} {out_dtype} does not "
                        f"match allocation {lc.out!r} {have.shape} {have.dtype}"
                    )
            elif lc.out in tensors:
                raise PlanError(f"step[{i}] library_call {lc.op!r}: out {lc.out!r} is already defined")
            env[lc.out] = tensors[lc.out] = ShapeInfo(out_shape, out_dtype)
            steps.append(ResolvedLibraryCall(lc.op, tuple(names), lc.out, attrs, out_shape, out_dtype, into))
    outputs = [a.name for a in allocs if a.is_output]
    return ResolvedPlan(allocs, steps, outputs, tensors, scalars)
