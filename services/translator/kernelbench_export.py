"""Export a fast-format candidate (NVRTC CUDA + LaunchPlan) as a KernelBench ``ModelNew`` file.

KernelBench's evaluator (and our own KernelBench-format path) wants one Python file defining
``class ModelNew(nn.Module)`` with the task ``Model``'s constructor signature. The exported file is
self-contained:

* the task's reference source, verbatim, so ``Model`` exists in the file's own namespace (our
  evaluator executes a candidate in a fresh module; KernelBench shares a namespace, either works);
* ``ModelNew.__init__`` builds ``Model(...)`` with the same arguments and adopts its submodules,
  parameters and buffers under the same names, so under the same seed ``ModelNew(*init)`` has the
  reference's ``state_dict`` exactly (it consumes the RNG exactly as ``Model`` does);
* one ``load_inline`` extension whose CUDA source is the candidate's kernels followed by a
  generated C++ host function that executes the LaunchPlan the way the evaluator's fast runner
  does: allocations with ``at::empty`` (shapes from the ShapeExprs, translated to C++ with Python's
  floor semantics and the same +-2**62 range checks), launches with ``<<<grid, block, shmem,
  current stream>>>``, library calls through ATen;
* ``ModelNew.forward`` only passes inputs and parameters to that function (no torch compute in
  Python, so the file passes the KernelBench-format static checks).

Plans with library calls export too, but their ATen calls (``at::matmul``, ``at::conv2d``...)
are compute in C++ host code and fail ``static.torch_compute_op`` of a KernelBench-format
candidate, as they would under KernelBench's own "is this really CUDA" rules.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from kernelwright.common.v1 import kernel_pb2
from kernelwright.gpu_evaluator import plan as plan_mod

__all__ = ["CPP_PRELUDE", "ExportError", "shape_expr_to_cpp", "to_kernelbench", "export_names"]


class ExportError(ValueError):
    """The candidate cannot be exported (invalid plan, unsupported construct, bad task source)."""


# ---------------------------------------------------------------------------------------------
# ShapeExpr -> C++
# ---------------------------------------------------------------------------------------------

# Integer helpers with Python semantics. KW_FAIL is TORCH_CHECK(false, ...) in the exported
# extension and a plain throw elsewhere (the g++ test program). Every result is bounded by
# +-2**62 exactly like plan.eval_expr, so an expression that the evaluator rejects fails here too.
CPP_PRELUDE = r"""
#include <cstdint>
#include <stdexcept>
#include <string>
#ifndef KW_FAIL
#define KW_FAIL(msg) throw std::runtime_error(msg)
#endif
static constexpr int64_t kw_limit = int64_t(1) << 62;
inline int64_t kw_bound(int64_t v) {
    if (v > kw_limit || v < -kw_limit) KW_FAIL("shape expression value out of range (|v| > 2**62)");
    return v;
}
inline int64_t kw_add(int64_t a, int64_t b) { return kw_bound(a + b); }
inline int64_t kw_sub(int64_t a, int64_t b) { return kw_bound(a - b); }
inline int64_t kw_mul(int64_t a, int64_t b) {
    int64_t r;
    if (__builtin_mul_overflow(a, b, &r)) KW_FAIL("shape expression value out of range (|v| > 2**62)");
    return kw_bound(r);
}
inline int64_t kw_floordiv(int64_t a, int64_t b) {
    if (b == 0) KW_FAIL("shape expression: division by zero");
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
    return kw_bound(q);
}
inline int64_t kw_mod(int64_t a, int64_t b) {
    if (b == 0) KW_FAIL("shape expression: division by zero");
    int64_t r = a % b;
    if (r != 0 && ((r < 0) != (b < 0))) r += b;
    return r;
}
inline int64_t kw_ceil_div(int64_t a, int64_t b) {
    if (b == 0) KW_FAIL("shape expression: ceil_div by zero");
    return kw_bound(-kw_floordiv(-a, b));
}
inline int64_t kw_min(int64_t a, int64_t b) { return a < b ? a : b; }
inline int64_t kw_max(int64_t a, int64_t b) { return a > b ? a : b; }
inline int64_t kw_dim_index(int64_t i, int64_t ndim) {
    if (i < -ndim || i >= ndim) KW_FAIL("shape expression: .shape index out of range");
    return i;
}
"""

_BINOP_FUNCS = {ast.Add: "kw_add", ast.Sub: "kw_sub", ast.Mult: "kw_mul", ast.FloorDiv: "kw_floordiv",
                ast.Mod: "kw_mod"}

# A name's meaning inside a C++ expression: ("tensor", cpp_var) or ("int", cpp_var).
NameResolver = Callable[[str], tuple[str, str]]


def shape_expr_to_cpp(expr: str, resolve: NameResolver) -> str:
    """Translate a validated ShapeExpr into a C++ ``int64_t`` expression.

    ``resolve(name)`` gives ("tensor", var) for a tensor (an ``at::Tensor``-like object with
    ``size(i)``, ``numel()`` and ``dim()``) or ("int", var) for an integer scalar.
    Raises :class:`ExportError` for what the plan grammar rejects.
    """
    try:
        tree = plan_mod.parse_expr(expr)
    except plan_mod.PlanError as e:
        raise ExportError(e.message) from None

    def tensor(name: str) -> str:
        kind, var = resolve(name)
        if kind != "tensor":
            raise ExportError(f"shape expression {expr!r}: {name!r} is a scalar, not a tensor")
        return var

    def tr(node: ast.AST) -> str:
        if isinstance(node, ast.Expression):
            return tr(node.body)
        if isinstance(node, ast.Constant):
            if abs(node.value) > plan_mod.MAX_ABS_VALUE:
                raise ExportError(f"shape expression {expr!r}: literal {node.value} out of range (> 2**62)")
            return f"int64_t({node.value}LL)"
        if isinstance(node, ast.UnaryOp):
            inner = tr(node.operand)
            return f"kw_sub(int64_t(0), {inner})" if isinstance(node.op, ast.USub) else inner
        if isinstance(node, ast.BinOp):
            return f"{_BINOP_FUNCS[type(node.op)]}({tr(node.left)}, {tr(node.right)})"
        if isinstance(node, ast.Call):
            fn = node.func.id  # type: ignore[attr-defined]
            args = [tr(a) for a in node.args]
            if fn == "ceil_div":
                return f"kw_ceil_div({args[0]}, {args[1]})"
            out = args[-1]
            for a in reversed(args[:-1]):  # min(a, b, c) -> kw_min(a, kw_min(b, c))
                out = f"kw_{fn}({a}, {out})"
            return out
        if isinstance(node, ast.Name):
            kind, var = resolve(node.id)
            if kind != "int":
                raise ExportError(f"shape expression {expr!r}: {node.id!r} is a tensor; use .shape[i], .numel "
                                  "or .ndim")
            return f"kw_bound(int64_t({var}))"
        if isinstance(node, ast.Attribute):
            var = tensor(node.value.id)  # type: ignore[attr-defined]
            return f"int64_t({var}.numel())" if node.attr == "numel" else f"int64_t({var}.dim())"
        if isinstance(node, ast.Subscript):
            var = tensor(node.value.value.id)  # type: ignore[attr-defined]
            i = plan_mod._shape_index(node.slice, expr)
            return f"int64_t({var}.size(kw_dim_index({i}, {var}.dim())))"
        raise ExportError(f"shape expression {expr!r}: {type(node).__name__} is not supported")

    return tr(tree)


# ---------------------------------------------------------------------------------------------
# What the plan refers to
# ---------------------------------------------------------------------------------------------

_INPUT_RE = re.compile(r"^in(0|[1-9][0-9]*)$")
_CPP_DTYPES = {
    "float32": "at::kFloat", "float16": "at::kHalf", "bfloat16": "at::kBFloat16", "float64": "at::kDouble",
    "int8": "at::kChar", "uint8": "at::kByte", "int16": "at::kShort", "int32": "at::kInt", "int64": "at::kLong",
    "bool": "at::kBool",
}
_FLOAT_CTYPES = {"float", "double"}


@dataclass
class _Names:
    """Every name the plan uses, with the C++ variable and kind it gets in the host function."""

    inputs: dict[int, str] = field(default_factory=dict)  # index -> "tensor" | "int" | "float"
    params: list[str] = field(default_factory=list)  # mangled parameter/buffer names, first-use order
    allocations: set[str] = field(default_factory=set)
    library_outs: set[str] = field(default_factory=set)  # defined by a step (may be used later)

    def mark_input(self, name: str, kind: str, where: str) -> None:
        i = int(name[2:])
        have = self.inputs.get(i)
        if have is None or have == kind:
            self.inputs[i] = kind
        elif "tensor" in (have, kind):
            raise ExportError(f"{where}: input {name} is used both as a tensor and as a scalar")
        else:
            # Used in an integer expression somewhere, so it must be an int (the evaluator rejects a
            # float there); float kernel parameters then get it converted, as the launcher does.
            self.inputs[i] = "int"

    def use_tensor(self, name: str, where: str) -> None:
        if _INPUT_RE.match(name):
            self.mark_input(name, "tensor", where)
        elif name not in self.allocations and name not in self.library_outs and name not in self.params:
            self.params.append(name)


def tensor_var(name: str) -> str:
    return f"kw_t_{name}"


def scalar_var(name: str) -> str:
    return f"kw_s_{name}"


def _collect_names(plan: kernel_pb2.LaunchPlan, sigs: dict[str, list[plan_mod.KernelParam]]) -> _Names:
    names = _Names()

    def scan_expr(expr: str, where: str) -> None:
        tree = plan_mod.parse_expr(expr)
        tensor_names = {n.value.id for n in ast.walk(tree) if isinstance(n, ast.Attribute)} | {
            n.value.value.id for n in ast.walk(tree) if isinstance(n, ast.Subscript)}
        for n in ast.walk(tree):
            if isinstance(n, ast.Name) and n.id not in ("ceil_div", "min", "max"):
                if n.id in tensor_names:
                    names.use_tensor(n.id, where)
                elif _INPUT_RE.match(n.id):
                    names.mark_input(n.id, "int", where)
                else:
                    raise ExportError(f"{where}: {n.id!r} is used as an integer but is not a scalar input")

    for a in plan.allocations:
        for s in a.shape:
            scan_expr(s.expr, f"allocation {a.name!r}")
        names.allocations.add(a.name)
    for i, st in enumerate(plan.steps):
        if st.WhichOneof("step") == "launch":
            ln = st.launch
            where = f"step[{i}] launch {ln.kernel!r}"
            for e in (*ln.grid, *ln.block):
                scan_expr(e.expr, where)
            sig = sigs.get(ln.kernel, [])
            for j, arg in enumerate(ln.args):
                which = arg.WhichOneof("value")
                if which == "int_expr":
                    scan_expr(arg.int_expr.expr, f"{where} arg[{j}]")
                elif which == "tensor":
                    p = sig[j] if j < len(sig) else None
                    if p is not None and not p.is_pointer and _INPUT_RE.match(arg.tensor):
                        kind = "float" if p.ctype in _FLOAT_CTYPES else "int"
                        names.mark_input(arg.tensor, kind, f"{where} arg[{j}]")
                    elif p is not None and not p.is_pointer:
                        raise ExportError(f"{where} arg[{j}]: tensor {arg.tensor!r} passed for non-pointer "
                                          f"parameter {p.text!r}")
                    else:
                        names.use_tensor(arg.tensor, f"{where} arg[{j}]")
        else:
            lc = st.library_call
            for arg in lc.args:
                names.use_tensor(arg.tensor, f"step[{i}] library_call {lc.op!r}")
            if lc.out not in names.allocations:
                names.library_outs.add(lc.out)
    return names


def _free_names(plan: kernel_pb2.LaunchPlan) -> set[str]:
    """Names the plan uses that no input, allocation or library call defines (its parameters)."""
    used: set[str] = set()

    def scan(expr: str) -> None:
        try:
            used.update(plan_mod.expr_names(expr))
        except plan_mod.PlanError:
            pass  # reported by validate_plan

    defined = {a.name for a in plan.allocations}
    for a in plan.allocations:
        for s in a.shape:
            scan(s.expr)
    for st in plan.steps:
        if st.WhichOneof("step") == "launch":
            for e in (*st.launch.grid, *st.launch.block):
                scan(e.expr)
            for arg in st.launch.args:
                if arg.WhichOneof("value") == "tensor":
                    used.add(arg.tensor)
                elif arg.WhichOneof("value") == "int_expr":
                    scan(arg.int_expr.expr)
        elif st.WhichOneof("step") == "library_call":
            used.update(arg.tensor for arg in st.library_call.args if arg.WhichOneof("value") == "tensor")
            defined.add(st.library_call.out)
    return {n for n in used - defined if not _INPUT_RE.match(n)}


# ---------------------------------------------------------------------------------------------
# C++ host function
# ---------------------------------------------------------------------------------------------

_HOST_HELPERS = r"""
// Device pointer of a tensor, converting to whatever pointer type the kernel parameter has.
struct kw_ptr {
    void* p;
    explicit kw_ptr(const at::Tensor& t) : p(t.data_ptr()) {}
    template <typename T> operator T*() const { return static_cast<T*>(p); }
};
inline unsigned kw_launch_dim(int64_t v, int64_t hi, const char* where) {
    if (v < 1 || v > hi) KW_FAIL(std::string(where) + " = " + std::to_string(v) + " is out of range 1.."
                                 + std::to_string(hi));
    return static_cast<unsigned>(v);
}
inline int64_t kw_alloc_dim(int64_t v, const char* where) {
    if (v < 0) KW_FAIL(std::string(where) + " evaluates to " + std::to_string(v) + " < 0");
    return v;
}
inline void kw_copy_into(at::Tensor& dst, const at::Tensor& src, const char* where) {
    if (dst.sizes() != src.sizes() || dst.scalar_type() != src.scalar_type())
        KW_FAIL(std::string(where) + ": result does not match the allocation it is written into");
    dst.copy_(src);
}
"""

_LIB_CONV_DEFAULTS = {"stride": 1, "padding": 0, "dilation": 1, "output_padding": 0}


def _int_list(op: str, key: str, value: object, n: int) -> str:
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, list) and
                                                                  all(type(v) is int for v in value))):
        raise ExportError(f"library call {op}: attribute {key}={value!r} must be an int or a list of ints")
    vals = [value] * n if isinstance(value, int) else list(value)
    if len(vals) == 1:
        vals *= n
    if len(vals) != n:
        raise ExportError(f"library call {op}: attribute {key}={value!r} needs {n} values")
    return "std::vector<int64_t>{" + ", ".join(str(v) for v in vals) + "}"


def _library_call_cpp(op: str, args: list[str], attrs: dict[str, object]) -> str:
    """ATen call computing one library step (args are C++ tensor variables)."""
    if op in ("matmul", "mm", "bmm"):
        return f"at::{op}({args[0]}, {args[1]})"
    if op == "addmm":
        beta, alpha = attrs.get("beta", 1), attrs.get("alpha", 1)
        return f"at::addmm({args[0]}, {args[1]}, {args[2]}, {float(beta)!r}, {float(alpha)!r})"
    bias = args[2] if len(args) > 2 else "std::optional<at::Tensor>()"
    if op == "linear":
        return f"at::linear({args[0]}, {args[1]}, {bias})"
    nd = int(op[-2])
    groups = attrs.get("groups", 1)
    if type(groups) is not int:
        raise ExportError(f"library call {op}: groups={groups!r} must be an int")
    lists = {k: _int_list(op, k, attrs.get(k, d), nd) for k, d in _LIB_CONV_DEFAULTS.items()
             if not (k == "padding" and isinstance(attrs.get(k), str))}
    if op.startswith("conv_transpose"):
        if isinstance(attrs.get("padding"), str):
            raise ExportError(f"library call {op}: padding={attrs['padding']!r} is not supported by transposed "
                              "convolutions")
        return (f"at::{op}({args[0]}, {args[1]}, {bias}, {lists['stride']}, {lists['padding']}, "
                f"{lists['output_padding']}, {groups}, {lists['dilation']})")
    padding = f'"{attrs["padding"]}"' if isinstance(attrs.get("padding"), str) else lists["padding"]
    return f"at::{op}({args[0]}, {args[1]}, {bias}, {lists['stride']}, {padding}, {lists['dilation']}, {groups})"


@dataclass(frozen=True)
class ExportNames:
    """Identifiers of one export: unique per candidate so two exports coexist in one process."""

    tag: str
    extension: str
    function: str


def export_names(candidate: kernel_pb2.KernelCandidate) -> ExportNames:
    tag = re.sub(r"[^0-9A-Za-z_]", "_", candidate.id)[:32].strip("_")
    if not tag:
        digest = hashlib.sha256(candidate.cuda_source.encode())
        digest.update(candidate.plan.SerializeToString(deterministic=True))
        tag = digest.hexdigest()[:16]
    return ExportNames(tag, f"kw_export_{tag}", f"kw_forward_{tag}")


@dataclass
class HostCode:
    """The generated host function and how Python calls it."""

    declaration: str  # C++ prototype (the cpp_sources of load_inline)
    definition: str
    input_indices: list[int]  # forward inputs passed, in order
    params: list[str]  # mangled parameter names passed after the inputs, in order
    n_outputs: int


def host_function(plan: kernel_pb2.LaunchPlan, sigs: dict[str, list[plan_mod.KernelParam]],
                  function: str) -> HostCode:
    names = _collect_names(plan, sigs)
    c_types = {"tensor": "at::Tensor", "int": "int64_t", "float": "double"}
    formal, body = [], []
    input_indices = sorted(names.inputs)
    for i in input_indices:
        kind = names.inputs[i]
        var = tensor_var(f"in{i}") if kind == "tensor" else scalar_var(f"in{i}")
        formal.append(f"{c_types[kind]} {var}")
    formal += [f"at::Tensor {tensor_var(p)}" for p in names.params]

    scalars = {f"in{i}": names.inputs[i] for i in input_indices if names.inputs[i] != "tensor"}

    def resolve(name: str) -> tuple[str, str]:
        if name in scalars:
            if scalars[name] != "int":
                raise ExportError(f"{name!r} is a float scalar; integer expressions cannot use it")
            return "int", scalar_var(name)
        return "tensor", tensor_var(name)

    def cpp(expr: str) -> str:
        return shape_expr_to_cpp(expr, resolve)

    tensor_inputs = [f"in{i}" for i in input_indices if names.inputs[i] == "tensor"]
    # Kernels index raw memory: give them the layout they assume (as the fast runner does).
    for t in tensor_inputs + names.params:
        body.append(f"    {tensor_var(t)} = {tensor_var(t)}.contiguous();")
    anchor = (tensor_inputs + names.params)[:1]
    if anchor:
        body.append(f"    const at::Device kw_device = {tensor_var(anchor[0])}.device();")
    else:
        body.append("    const at::Device kw_device(at::kCUDA, c10::cuda::current_device());")
    body.append("    const c10::cuda::CUDAGuard kw_guard(kw_device);")
    body.append("    cudaStream_t kw_stream = c10::cuda::getCurrentCUDAStream();")

    outputs = []
    for a in plan.allocations:
        dtype = _CPP_DTYPES[plan_mod.canonical_dtype(a.dtype)]
        dims = [f"kw_alloc_dim({cpp(s.expr)}, \"allocation {a.name} shape[{j}]\")" for j, s in enumerate(a.shape)]
        body.append(f"    at::Tensor {tensor_var(a.name)} = at::empty(std::vector<int64_t>{{{', '.join(dims)}}}, "
                    f"at::TensorOptions().dtype({dtype}).device(kw_device));")
        if a.is_output:
            outputs.append(tensor_var(a.name))

    for i, st in enumerate(plan.steps):
        if st.WhichOneof("step") == "launch":
            body += _launch_cpp(i, st.launch, sigs.get(st.launch.kernel, []), cpp, scalars)
        else:
            lc = st.library_call
            attrs = plan_mod._parse_attrs(lc.op, lc.attributes)
            call = _library_call_cpp(lc.op, [tensor_var(a.tensor) for a in lc.args], attrs)
            body.append(f"    // step[{i}]: library call {lc.op}")
            if lc.out in names.allocations:
                body.append(f"    kw_copy_into({tensor_var(lc.out)}, {call}, \"step[{i}] {lc.op}\");")
            else:
                body.append(f"    at::Tensor {tensor_var(lc.out)} = {call};")

    if len(outputs) == 1:
        ret_type, ret = "at::Tensor", f"    return {outputs[0]};"
    else:
        ret_type, ret = "std::vector<at::Tensor>", f"    return {{{', '.join(outputs)}}};"
    proto = f"{ret_type} {function}({', '.join(formal)})"
    definition = proto + " {\n" + "\n".join(body + [ret]) + "\n}\n"
    return HostCode(proto + ";", definition, input_indices, names.params, len(outputs))


def _launch_cpp(i: int, ln: kernel_pb2.KernelLaunch, sig: list[plan_mod.KernelParam],
                cpp: Callable[[str], str], scalars: dict[str, str]) -> list[str]:
    where = f"step[{i}] launch {ln.kernel}"
    out = [f"    {{  // {where}"]
    dims = {}
    for what, exprs, limits in (("grid", ln.grid, plan_mod.MAX_GRID_DIMS), ("block", ln.block, plan_mod.MAX_BLOCK_DIMS)):
        vals = []
        for d in range(3):
            if d < len(exprs):
                out.append(f"        const unsigned kw_{what}{d} = kw_launch_dim({cpp(exprs[d].expr)}, {limits[d]}LL, "
                           f"\"{where} {what}[{d}]\");")
                vals.append(f"kw_{what}{d}")
            else:
                out.append(f"        const unsigned kw_{what}{d} = 1u;")
                vals.append(f"kw_{what}{d}")
        dims[what] = f"dim3({', '.join(vals)})"
    out.append(f"        if (uint64_t(kw_block0) * kw_block1 * kw_block2 > {plan_mod.MAX_BLOCK_THREADS}u) "
               f"KW_FAIL(\"{where}: more than {plan_mod.MAX_BLOCK_THREADS} threads per block\");")
    shmem = int(ln.dynamic_shared_bytes)
    if shmem > 48 * 1024:  # above the default 48 KiB a kernel must opt in (the fast runner does the same)
        out.append(f"        C10_CUDA_CHECK(cudaFuncSetAttribute({ln.kernel}, "
                   f"cudaFuncAttributeMaxDynamicSharedMemorySize, {shmem}));")
    args = []
    for j, arg in enumerate(ln.args):
        which = arg.WhichOneof("value")
        if which == "tensor":
            name = arg.tensor
            args.append(scalar_var(name) if name in scalars else f"kw_ptr({tensor_var(name)})")
        elif which == "int_expr":
            args.append(cpp(arg.int_expr.expr))
        else:
            v = float(arg.float_value)
            p = sig[j] if j < len(sig) else None
            # The fast runner passes a float parameter as a 32-bit float: same rounding here.
            args.append(f"float({v!r})" if p is not None and p.ctype == "float" else repr(v))
    out.append(f"        {ln.kernel}<<<{dims['grid']}, {dims['block']}, {shmem}, kw_stream>>>(" + ", ".join(args) + ");")
    out.append("        C10_CUDA_KERNEL_LAUNCH_CHECK();")
    out.append("    }")
    return out


# ---------------------------------------------------------------------------------------------
# Python file
# ---------------------------------------------------------------------------------------------

_INCLUDES = """#include <ATen/ATen.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime.h>
#include <optional>
#include <vector>
#define KW_FAIL(msg) TORCH_CHECK(false, msg)
"""


def cuda_translation_unit(candidate: kernel_pb2.KernelCandidate, host: HostCode) -> str:
    """The load_inline ``cuda_sources``: includes, helpers, the candidate's kernels, the host function."""
    return (_INCLUDES + CPP_PRELUDE + _HOST_HELPERS
            + "\n// ---- candidate kernels (verbatim from the fast-format cuda_source) ----\n"
            + candidate.cuda_source.rstrip() + "\n\n// ---- LaunchPlan, executed on the host ----\n"
            + host.definition)


def _model_signature(task_source: str) -> tuple[str, str]:
    """(parameter list of Model.__init__ without self, the call forwarding them)."""
    try:
        tree = ast.parse(task_source)
    except SyntaxError as e:
        raise ExportError(f"task source does not parse: line {e.lineno}: {e.msg}") from None
    model = next((n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Model"), None)
    if model is None:
        raise ExportError("task source defines no top-level class Model")
    init = next((n for n in model.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None)
    if init is None:
        return "", ""
    a = init.args
    positional = [*a.posonlyargs, *a.args][1:]  # drop self
    sig = ast.unparse(ast.arguments(posonlyargs=[], args=[ast.arg("self"), *positional], vararg=a.vararg,
                                    kwonlyargs=a.kwonlyargs, kw_defaults=a.kw_defaults, kwarg=a.kwarg,
                                    defaults=a.defaults))
    sig = sig.removeprefix("self").removeprefix(", ")
    call = [p.arg for p in positional]
    if a.vararg:
        call.append("*" + a.vararg.arg)
    call += [f"{k.arg}={k.arg}" for k in a.kwonlyargs]
    if a.kwarg:
        call.append("**" + a.kwarg.arg)
    return sig, ", ".join(call)


def _py_string(text: str) -> str:
    if '"""' not in text and not text.endswith("\\"):
        return 'r"""' + text + '"""'
    return repr(text)


_MODEL_NEW = '''

# ---------------------------------------------------------------------------------------------
# kernelwright export of fast-format candidate {cid} (proposer: {proposer}).
# Generated by kernelwright.translator.kernelbench_export; the CUDA below is the candidate's own
# device code plus a generated host function that executes its LaunchPlan.
# ---------------------------------------------------------------------------------------------
import torch.nn as _kw_nn
from torch.utils.cpp_extension import load_inline

_KW_CUDA_SOURCE = {cuda}

_KW_CPP_SOURCE = {cpp}

_kw_ext = load_inline(
    name={ext!r},
    cpp_sources=_KW_CPP_SOURCE,
    cuda_sources=_KW_CUDA_SOURCE,
    functions=[{fn!r}],
    extra_cuda_cflags=["-O3"],
    verbose=False,
)


def _kw_tensor(module, path):
    """A parameter or buffer by its dotted name (e.g. "conv.weight")."""
    obj = module
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


class ModelNew(_kw_nn.Module):
    def __init__({init_sig}):
        super().__init__()
        # Same construction as the reference (same RNG draws under the same seed), then adopt its
        # submodules, parameters and buffers under the same names: identical state_dict.
        reference = Model({init_call})
        for name, child in reference.named_children():
            self.add_module(name, child)
        for name, param in reference.named_parameters(recurse=False):
            self.register_parameter(name, param)
        non_persistent = getattr(reference, "_non_persistent_buffers_set", set())
        for name, buf in reference.named_buffers(recurse=False):
            self.register_buffer(name, buf, persistent=name not in non_persistent)
        # Plan names are parameter/buffer names with "." replaced by "_" (as the evaluator binds them).
        by_plan_name = {{}}
        for name, _ in [*self.named_parameters(), *self.named_buffers()]:
            by_plan_name[name.replace(".", "_")] = name
        missing = [n for n in {params!r} if n not in by_plan_name]
        if missing:
            raise ValueError(f"the plan uses parameters the task Model does not have: {{missing}}")
        self._kw_param_paths = [by_plan_name[n] for n in {params!r}]

    def forward(self, *inputs):
        params = [_kw_tensor(self, path) for path in self._kw_param_paths]
        return {ret}
'''


def to_kernelbench(candidate: kernel_pb2.KernelCandidate, task_source: str) -> str:
    """A self-contained KernelBench ``ModelNew`` Python file running ``candidate`` (fast format).

    Raises :class:`ExportError` (a ``ValueError``) for candidates that cannot be exported.
    """
    if candidate.format == kernel_pb2.CANDIDATE_FORMAT_KERNELBENCH or (
            not candidate.cuda_source.strip() and candidate.kernelbench_source):
        raise ExportError("the candidate is already in KernelBench format (use its kernelbench_source)")
    if not candidate.cuda_source.strip():
        raise ExportError("the candidate has no cuda_source")
    sigs = plan_mod.parse_kernel_signatures(candidate.cuda_source)
    if candidate.HasField("program") and len(candidate.program.parameter_names):
        param_names = [p.replace(".", "_") for p in candidate.program.parameter_names]
    else:
        # Without the functional program, every other name counts as a parameter here; ModelNew's
        # constructor checks that the task Model really has it.
        param_names = sorted(_free_names(candidate.plan))
    try:
        plan_mod.validate_plan(candidate.plan, kernels=sigs, param_names=param_names)
    except plan_mod.PlanError as e:
        raise ExportError(f"invalid LaunchPlan: {e.message}") from None
    for st in candidate.plan.steps:
        if st.WhichOneof("step") == "launch":
            for p in sigs[st.launch.kernel]:
                if not p.is_pointer and p.kind == "other":
                    raise ExportError(f"kernel {st.launch.kernel!r}: parameter {p.text!r} has a type the plan "
                                      "cannot pass (only pointers, integers, float and double)")
    init_sig, init_call = _model_signature(task_source)
    names = export_names(candidate)
    host = host_function(candidate.plan, sigs, names.function)
    cuda = cuda_translation_unit(candidate, host)
    call_args = [f"inputs[{i}]" for i in host.input_indices] + ["*params"]
    call = f"_kw_ext.{names.function}({', '.join(call_args)})"
    ret = call if host.n_outputs == 1 else f"tuple({call})"
    body = _MODEL_NEW.format(
        cid=candidate.id or names.tag, proposer=candidate.proposer or "unknown", cuda=_py_string(cuda),
        cpp=_py_string(host.declaration), ext=names.extension, fn=names.function,
        init_sig=", ".join(["self"] + ([init_sig] if init_sig else [])), init_call=init_call,
        params=host.params, ret=ret)
    # Comments, not a docstring: the task source may start with its own docstring or __future__ import.
    header = (f"# KernelBench ModelNew exported from kernelwright fast-format candidate {candidate.id or names.tag}.\n"
              "# The task's reference source comes first, verbatim (it defines Model, whose construction\n"
              "# ModelNew reuses for its parameters); the exported candidate follows.\n\n")
    return header + task_source.rstrip() + "\n" + body


def plan_summary(candidate: kernel_pb2.KernelCandidate) -> str:
    """One line describing what an export runs (for CLI output)."""
    steps = [s.launch.kernel if s.WhichOneof("step") == "launch" else f"{s.library_call.op} (ATen)"
             for s in candidate.plan.steps]
    return json.dumps({"allocations": [a.name for a in candidate.plan.allocations], "steps": steps})
