"""Build one CUDA kernel: element values of graph nodes at symbolic multi-indices.

``KernelBuilder.value(node, idx)`` returns the C text of ``node``'s element at the logical
multi-index ``idx`` (a tuple of C index expressions), emitting the statements needed: loads from
materialized buffers (inputs, parameters, allocations), pointwise ops (broadcasting by index
math), and view ops (index maps, no data movement). Values are memoized per (node, index) inside
the current scope, so a DAG is computed once per element. Sizes that follow the batch are kernel
parameters; the others are literals (cheap div/mod by constants).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kernelwright.translator.builtin import cexpr
from kernelwright.translator.builtin.dims import Dim
from kernelwright.translator.builtin.graph import BatchScalar, GNode, LoweringError

__all__ = ["Buffer", "KernelBuilder", "KernelSpec"]

Idx = tuple[str, ...]
RESHAPES = {"view", "_unsafe_view", "reshape", "view_copy", "alias_copy", "alias", "clone", "lift_fresh_copy",
            "detach", "contiguous"}


@dataclass(frozen=True)
class Buffer:
    """A contiguous tensor the plan knows by ``name`` (input, parameter, allocation, library out)."""

    name: str
    shape: tuple[Dim, ...]
    dtype: str = "float32"

    @property
    def ctype(self) -> str:
        return cexpr.CTYPES[self.dtype]


@dataclass
class KernelSpec:
    """A finished kernel: source text plus how the plan launches it."""

    name: str
    source: str
    grid: tuple[str, ...]
    block: tuple[str, ...]
    args: list[tuple[str, Any]]  # ("tensor", name) | ("int", shape_expr)
    comment: str = ""
    uses_block_reduce: bool = False
    scratch: list[tuple[str, tuple[str, ...], str]] = field(default_factory=list)  # (name, shape exprs, dtype)


@dataclass
class KernelBuilder:
    name: str
    buffers: dict[int, Buffer]  # id(GNode) -> materialized buffer
    batch_expr: str
    index_type: str = "long long"
    lines: list[str] = field(default_factory=list)
    indent: int = 1
    reads: dict[str, str] = field(default_factory=dict)  # buffer name -> ctype
    writes: dict[str, str] = field(default_factory=dict)
    dim_params: dict[Dim, str] = field(default_factory=dict)
    scopes: list[dict[tuple[int, Idx], str]] = field(default_factory=lambda: [{}])
    counter: int = 0
    fused_ops: list[str] = field(default_factory=list)

    # -- text ---------------------------------------------------------------------------------
    def emit(self, line: str) -> None:
        self.lines.append("    " * self.indent + line)

    def fresh(self, prefix: str = "t") -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def open(self, header: str) -> None:
        self.emit(header + " {")
        self.indent += 1
        self.scopes.append({})

    def close(self) -> None:
        self.scopes.pop()
        self.indent -= 1
        self.emit("}")

    def dim(self, d: Dim) -> str:
        if d.is_static:
            return str(d.c)
        if d not in self.dim_params:
            self.dim_params[d] = f"kw_size{len(self.dim_params)}"
        return self.dim_params[d]

    def batch_scalar(self, s: BatchScalar) -> str:
        b = self.dim(Dim(0, 1))
        return f"(float)({s.c!r} + {s.b!r} * (double){b})"

    # -- index math ---------------------------------------------------------------------------
    def delinearize(self, flat: str, shape: Sequence[Dim], prefix: str = "i") -> Idx:
        """Row-major multi-index of ``flat`` over ``shape`` (statements emitted)."""
        if not shape:
            return ()
        out: list[str] = [""] * len(shape)
        rest = flat
        for k in range(len(shape) - 1, -1, -1):
            d = shape[k]
            if d.is_static and d.c == 1:
                out[k] = "0"
                continue
            if k == 0:
                out[k] = rest
                break
            v = self.fresh(prefix)
            self.emit(f"const {self.index_type} {v} = {rest} % {self.dim(d)};")
            out[k] = v
            if any(not (x.is_static and x.c == 1) for x in shape[:k]):
                q = self.fresh("q")
                self.emit(f"const {self.index_type} {q} = {rest} / {self.dim(d)};")
                rest = q
            else:
                break
        return tuple(x if x else "0" for x in out)

    def linearize(self, idx: Idx, shape: Sequence[Dim]) -> str:
        expr = ""
        for i, d in zip(idx, shape):
            if d.is_static and d.c == 1:
                continue
            if not expr:
                expr = i
            else:
                expr = f"({expr}) * {self.dim(d)} + {i}" if i != "0" else f"({expr}) * {self.dim(d)}"
        return expr or "0"

    def numel(self, shape: Sequence[Dim]) -> str:
        parts = [self.dim(d) for d in shape if not (d.is_static and d.c == 1)]
        if not parts:
            return "1"
        return " * ".join(f"({self.index_type}){p}" if i == 0 else p for i, p in enumerate(parts))

    # -- values -------------------------------------------------------------------------------
    def _memo_get(self, key: tuple[int, Idx]) -> str | None:
        for sc in reversed(self.scopes):
            if key in sc:
                return sc[key]
        return None

    def load(self, buf: Buffer, idx: Idx) -> str:
        self.reads.setdefault(buf.name, buf.ctype)
        key = (hash(buf.name), idx)
        hit = self._memo_get(key)
        if hit is not None:
            return hit
        v = self.fresh("v")
        self.emit(f"const {buf.ctype} {v} = {buf.name}[{self.linearize(idx, buf.shape)}];")
        self.scopes[-1][key] = v
        return v

    def load_flat(self, buf: Buffer, flat: str) -> str:
        self.reads.setdefault(buf.name, buf.ctype)
        key = (hash(buf.name), ("flat", flat))
        hit = self._memo_get(key)
        if hit is not None:
            return hit
        v = self.fresh("v")
        self.emit(f"const {buf.ctype} {v} = {buf.name}[{flat}];")
        self.scopes[-1][key] = v
        return v

    def value(self, node: GNode, idx: Idx) -> str:
        buf = self.buffers.get(id(node))
        if buf is not None:
            return self.load(buf, idx)
        key = (id(node), idx)
        hit = self._memo_get(key)
        if hit is not None:
            return hit
        op = cexpr.base_op(node.op)
        if op in cexpr.VIEWS:
            v = self._view(node, op, idx)
        elif op in cexpr.CONSTANTS:
            v = self._constant(node, op, idx)
        elif op in cexpr.POINTWISE:
            v = self._pointwise(node, idx)
        else:
            raise LoweringError(f"op {node.op} cannot be computed inline (not materialized)")
        self.scopes[-1][key] = v
        return v

    def scalar(self, a: Any) -> str | None:
        if a is None:
            return None
        if isinstance(a, BatchScalar):
            return self.batch_scalar(a)
        return cexpr.flit(a)

    def _broadcast_idx(self, idx: Idx, out_shape: Sequence[Dim], in_shape: Sequence[Dim]) -> Idx:
        off = len(out_shape) - len(in_shape)
        res = []
        for j, d in enumerate(in_shape):
            o = out_shape[j + off]
            res.append("0" if d.is_static and d.c == 1 and not (o.is_static and o.c == 1) else idx[j + off])
        return tuple(res)

    def _operand(self, node: GNode, a: Any, idx: Idx) -> str | None:
        if isinstance(a, GNode):
            assert a.shape is not None and node.shape is not None
            return self.value(a, self._broadcast_idx(idx, node.shape, a.shape))
        return self.scalar(a)

    def _pointwise(self, node: GNode, idx: Idx) -> str:
        args = node.args

        def arg(i: int) -> str | None:
            return self._operand(node, args[i], idx) if i < len(args) else None

        def kwarg(k: str) -> str | None:
            return self._operand(node, node.kwargs[k], idx) if k in node.kwargs else None

        expr = cexpr.pointwise_expr(node, arg, kwarg)
        ctype = cexpr.CTYPES.get(node.dtype)
        if ctype is None:
            raise LoweringError(f"op {node.op}: dtype {node.dtype} not supported")
        v = self.fresh("t")
        self.emit(f"const {ctype} {v} = ({ctype})({expr});  // {cexpr.base_op(node.op)}")
        self.fused_ops.append(cexpr.base_op(node.op).split(".", 1)[1])
        return v

    def _constant(self, node: GNode, op: str, idx: Idx) -> str:
        name = op.split(".", 1)[1]
        ctype = cexpr.CTYPES.get(node.dtype, "float")
        if name in ("zeros", "zeros_like", "new_zeros"):
            return f"({ctype})0"
        if name in ("ones", "ones_like", "new_ones"):
            return f"({ctype})1"
        if name in ("scalar_tensor", "scalar"):
            return f"({ctype}){self.scalar(node.args[0])}"
        if name in ("full", "new_full"):
            return f"({ctype}){self.scalar(node.args[1])}"
        if name == "full_like":
            return f"({ctype}){self.scalar(node.args[1])}"
        if name == "arange":
            a = node.args
            if node.op.endswith(".default"):
                start, step = 0, 1
            else:
                start = a[0]
                step = a[2] if len(a) > 2 else node.kwargs.get("step", 1)
            return f"({ctype})({self.scalar(start)} + (float)({idx[0]}) * {self.scalar(step)})"
        raise LoweringError(f"constant op {node.op}")

    # -- views --------------------------------------------------------------------------------
    def _view(self, node: GNode, op: str, idx: Idx) -> str:
        name = op.split(".", 1)[1]
        src = node.args[0]
        out_shape = node.shape
        assert out_shape is not None
        if name == "cat":
            return self._cat(node, idx)
        assert isinstance(src, GNode) and src.shape is not None
        in_shape = src.shape
        rank_in, rank_out = len(in_shape), len(out_shape)

        def norm(d: int, r: int) -> int:
            return d + r if d < 0 else d

        if name in RESHAPES:
            # Chains of reshapes collapse to one index map; a contiguous buffer is read by flat index.
            while id(src) not in self.buffers and cexpr.base_op(src.op).split(".")[-1] in RESHAPES:
                src = src.args[0]
            buf = self.buffers.get(id(src))
            if buf is not None:
                return self.load_flat(buf, self.linearize(idx, out_shape))
            return self.value(src, self._reshape_idx(idx, out_shape, src.shape))
        if name in ("permute", "t", "transpose"):
            if name == "permute":
                perm = [norm(d, rank_in) for d in node.args[1]]
            elif name == "t":
                perm = [1, 0] if rank_in == 2 else [0]
            else:
                a, b = norm(node.args[1], rank_in), norm(node.args[2], rank_in)
                perm = list(range(rank_in))
                perm[a], perm[b] = perm[b], perm[a]
            cidx = [""] * rank_in
            for k, p in enumerate(perm):
                cidx[p] = idx[k]
            return self.value(src, tuple(cidx))
        if name == "expand":
            return self.value(src, self._broadcast_idx(idx, out_shape, in_shape))
        if name == "unsqueeze":
            d = norm(node.args[1], rank_out)
            return self.value(src, idx[:d] + idx[d + 1:])
        if name == "squeeze":
            if len(node.args) > 1:
                dims = node.args[1] if isinstance(node.args[1], (list, tuple)) else [node.args[1]]
                dims = {norm(d, rank_in) for d in dims}
            else:
                dims = set(range(rank_in))
            cidx, k = [], 0
            for j, d in enumerate(in_shape):
                if j in dims and d.is_static and d.c == 1:
                    cidx.append("0")
                else:
                    cidx.append(idx[k])
                    k += 1
            return self.value(src, tuple(cidx))
        if name == "broadcast_in_dim":
            bdims = list(node.args[2])
            cidx = []
            for j, d in enumerate(in_shape):
                o = out_shape[bdims[j]]
                cidx.append("0" if d.is_static and d.c == 1 and not (o.is_static and o.c == 1) else idx[bdims[j]])
            return self.value(src, tuple(cidx))
        if name == "select":
            d = norm(node.args[1], rank_in)
            i = node.args[2]
            if not isinstance(i, int):
                raise LoweringError("select with a batch-dependent index")
            ci = str(i) if i >= 0 else f"({self.dim(in_shape[d])} - {-i})"
            return self.value(src, idx[:d] + (ci,) + idx[d:])
        if name == "slice":
            d = norm(node.args[1] if len(node.args) > 1 else 0, rank_in)
            start = node.args[2] if len(node.args) > 2 else 0
            step = node.args[4] if len(node.args) > 4 else 1
            start = 0 if start is None else start
            if not isinstance(start, int) or not isinstance(step, int):
                raise LoweringError("slice with a batch-dependent start")
            if start < 0:
                base = f"({self.dim(in_shape[d])} - {-start})"
            else:
                base = str(start)
            ci = f"({base} + {idx[d]} * {step})" if step != 1 else f"({base} + {idx[d]})"
            return self.value(src, idx[:d] + (ci,) + idx[d + 1:])
        if name == "unfold":
            # Windows of `size` every `step` along dim d; the window offset is the new last dim.
            d, step = norm(node.args[1], rank_in), node.args[3]
            if not in_shape[d].is_static or not isinstance(step, int):
                raise LoweringError("unfold along a batch-dependent dimension")
            ci = f"({idx[d]} * {step} + {idx[rank_out - 1]})" if step != 1 else f"({idx[d]} + {idx[rank_out - 1]})"
            return self.value(src, idx[:d] + (ci,) + idx[d + 1:rank_in])
        if name == "flip":
            dims = {norm(d, rank_in) for d in node.args[1]}
            cidx = tuple(f"({self.dim(in_shape[j])} - 1 - {idx[j]})" if j in dims else idx[j] for j in range(rank_in))
            return self.value(src, cidx)
        if name == "constant_pad_nd":
            pad = list(node.args[1])
            fill = self.scalar(node.args[2] if len(node.args) > 2 else 0.0)
            cidx = list(idx)
            conds = []
            for p in range(len(pad) // 2):
                j = rank_in - 1 - p
                before = pad[2 * p]
                if before == 0 and pad[2 * p + 1] == 0:
                    continue
                raw = f"({idx[j]} - {before})" if before else idx[j]
                n = self.dim(in_shape[j])
                conds.append(f"({raw} >= 0 && {raw} < {n})")
                cidx[j] = f"min(max({raw}, ({self.index_type})0), ({self.index_type}){n} - 1)"
            v = self.value(src, tuple(cidx))
            if not conds:
                return v
            r = self.fresh("p")
            ctype = cexpr.CTYPES[node.dtype]
            self.emit(f"const {ctype} {r} = ({' && '.join(conds)}) ? {v} : ({ctype}){fill};  // constant_pad_nd")
            return r
        raise LoweringError(f"view op {node.op}")

    def _cat(self, node: GNode, idx: Idx) -> str:
        parts = [p for p in node.args[0]]
        assert node.shape is not None
        d = node.args[1] if len(node.args) > 1 else 0
        d = d + len(node.shape) if d < 0 else d
        # Each piece is read at a clamped (always valid) index; the right one is selected.
        vals, offs = [], []
        off = "0"
        for p in parts:
            if p.shape is not None and len(p.shape) == 1 and p.shape[0].is_static and p.shape[0].c == 0:
                continue  # torch allows empty 1-d pieces
            n = self.dim(p.shape[d])
            local = f"min(max({idx[d]} - {off}, ({self.index_type})0), ({self.index_type}){n} - 1)"
            vals.append(self.value(p, idx[:d] + (local,) + idx[d + 1:]))
            off = f"({off} + {n})" if off != "0" else n
            offs.append(off)
        expr = vals[-1]
        for v, o in zip(reversed(vals[:-1]), reversed(offs[:-1])):
            expr = f"({idx[d]} < {o} ? {v} : {expr})"
        r = self.fresh("c")
        ctype = cexpr.CTYPES[node.dtype]
        self.emit(f"const {ctype} {r} = {expr};  // cat")
        return r

    def _reshape_idx(self, idx: Idx, out_shape: Sequence[Dim], in_shape: Sequence[Dim]) -> Idx:
        if tuple(out_shape) == tuple(in_shape):
            return idx
        # Keep the common leading/trailing dims; only the middle goes through a flat index.
        lo = 0
        while lo < min(len(out_shape), len(in_shape)) and out_shape[lo] == in_shape[lo]:
            lo += 1
        hi = 0
        while (hi < min(len(out_shape), len(in_shape)) - lo
               and out_shape[len(out_shape) - 1 - hi] == in_shape[len(in_shape) - 1 - hi]):
            hi += 1
        mid_out = out_shape[lo:len(out_shape) - hi]
        mid_in = in_shape[lo:len(in_shape) - hi]
        flat = self.linearize(idx[lo:len(idx) - hi], mid_out)
        f = self.fresh("r")
        self.emit(f"const {self.index_type} {f} = {flat};")
        mid = self.delinearize(f, mid_in, prefix="j")
        return idx[:lo] + mid + idx[len(idx) - hi:]

    # -- assembly -----------------------------------------------------------------------------
    def signature(self) -> tuple[list[str], list[tuple[str, Any]]]:
        """Kernel parameters and the matching plan arguments (tensors, then sizes)."""
        params, args = [], []
        for nm, ct in self.reads.items():
            if nm in self.writes:
                continue
            params.append(f"const {ct}* __restrict__ {nm}")
            args.append(("tensor", nm))
        for nm, ct in self.writes.items():
            params.append(f"{ct}* __restrict__ {nm}")
            args.append(("tensor", nm))
        for d, nm in self.dim_params.items():
            params.append(f"{self.index_type} {nm}")
            args.append(("int", d.plan_expr(self.batch_expr)))
        return params, args

    def function(self, comment: str, launch_bounds: int | None = None) -> str:
        params, _ = self.signature()
        lb = f"__launch_bounds__({launch_bounds}) " if launch_bounds else ""
        head = [f"// {line}" for line in comment.splitlines()]
        head.append(f'extern "C" __global__ void {lb}{self.name}({", ".join(params)}) {{')
        return "\n".join(head + self.lines + ["}"]) + "\n"
