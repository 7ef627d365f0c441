"""Kernels that loop over output elements: fused pointwise, pooling windows and scans.

Every kernel is a grid-stride loop (any grid size is correct; the plan caps it), with the
element index delinearized into a logical multi-index and the fused expression computed by
``KernelBuilder.value``.
"""

from __future__ import annotations

from kernelwright.translator.builtin import cexpr
from kernelwright.translator.builtin.dims import numel_expr
from kernelwright.translator.builtin.graph import GNode
from kernelwright.translator.builtin.kernel_builder import KernelBuilder, KernelSpec
from kernelwright.translator.builtin.lowering import Program, Stage
from kernelwright.translator.builtin.schedule import LoweringSchedule

__all__ = ["emit_pointwise", "emit_scan", "emit_window", "grid_expr"]

MAX_THREADS_IN_FLIGHT = 1 << 26  # grid cap: keeps 32-bit grid-stride indices far from overflow


def grid_expr(work: str, per_block: int) -> str:
    cap = max(1, MAX_THREADS_IN_FLIGHT // per_block)
    return f"max(1, min(ceil_div({work}, {per_block}), {cap}))"


def _builder(prog: Program, name: str) -> KernelBuilder:
    return KernelBuilder(name, prog.buffers, prog.graph.batch_expr, prog.index_type)


def _grid_stride_open(kb: KernelBuilder, n: str, unroll: int) -> str:
    it = kb.index_type
    kb.emit(f"const {it} n = {n};")
    kb.emit(f"const {it} tid = ({it})blockIdx.x * blockDim.x + threadIdx.x;")
    kb.emit(f"const {it} nthreads = ({it})gridDim.x * blockDim.x;")
    kb.open(f"for ({it} base = tid; base < n; base += nthreads * {unroll})")
    kb.emit("#pragma unroll")
    kb.open(f"for (int u = 0; u < {unroll}; ++u)")
    kb.emit(f"const {it} i = base + ({it})u * nthreads;")
    kb.open("if (i < n)")
    return "i"


def _grid_stride_close(kb: KernelBuilder) -> None:
    kb.close()
    kb.close()
    kb.close()


def emit_pointwise(prog: Program, st: Stage, s: LoweringSchedule, name: str) -> KernelSpec:
    node, out = st.node, st.out
    assert node.shape is not None
    kb = _builder(prog, name)
    if prog.buffers.get(id(node)) == out:  # this stage materializes the node: compute it, don't read it
        kb.buffers = {k: v for k, v in prog.buffers.items() if k != id(node)}
    kb.writes[out.name] = out.ctype
    i = _grid_stride_open(kb, kb.numel(node.shape), s.unroll)
    idx = kb.delinearize(i, node.shape)
    v = kb.value(node, idx)
    kb.emit(f"{out.name}[{i}] = ({out.ctype}){v};")
    _grid_stride_close(kb)
    ops = list(dict.fromkeys(kb.fused_ops)) or ["copy"]
    comment = f"Fused pointwise -> {out.name} {_shape_text(node)}: {', '.join(ops)}"
    src = kb.function(comment)
    _, args = kb.signature()
    work = numel_expr(node.shape, prog.graph.batch_expr)
    return KernelSpec(name, src, (grid_expr(work, s.block_size * s.unroll),), (str(s.block_size),), args, comment)


def _shape_text(node: GNode) -> str:
    assert node.shape is not None
    return "[" + ", ".join(str(d.c) if d.is_static else f"{d.c}+{d.b}*B" for d in node.shape) + "]"


def emit_window(prog: Program, st: Stage, s: LoweringSchedule, name: str) -> KernelSpec:
    """max/avg pooling (1 thread per output element, loop over the window, fused input)."""
    node, out = st.node, st.out
    pool = node.args[0] if node.op == "getitem" else node
    op = cexpr.base_op(pool.op)
    x = pool.args[0]
    assert isinstance(x, GNode) and x.shape is not None and node.shape is not None
    nd = 3 if "3d" in op else 2
    a = list(pool.args) + [None] * 8

    def tup(v, default):  # noqa: ANN001
        if v is None or (isinstance(v, (list, tuple)) and len(v) == 0):
            v = default
        v = list(v) if isinstance(v, (list, tuple)) else [v]
        return v * nd if len(v) == 1 else v

    ks = tup(a[1], None)
    stride = tup(a[2], ks)
    pad = tup(a[3], [0])
    is_max = "max_pool" in op
    if is_max:
        dil = tup(a[4], [1])
        count_include_pad, divisor = True, None
    else:
        dil = [1] * nd
        count_include_pad = a[5] if a[5] is not None else True
        divisor = a[6]
    kb = _builder(prog, name)
    kb.writes[out.name] = out.ctype
    it = kb.index_type
    i = _grid_stride_open(kb, kb.numel(node.shape), s.unroll)
    idx = kb.delinearize(i, node.shape)
    lead = len(node.shape) - nd
    if is_max:
        kb.emit("float acc = __int_as_float(0xff800000);")
    else:
        kb.emit("float acc = 0.0f;")
        kb.emit("int cnt = 0;")
    starts, ends = [], []
    for k in range(nd):
        size = kb.dim(x.shape[lead + k])
        st_ = kb.fresh("ws")
        kb.emit(f"const {it} {st_} = {idx[lead + k]} * {stride[k]} - {pad[k]};")
        starts.append(st_)
        ends.append(size)
    if not is_max:
        # torch's divisor: window clipped to the padded input (count_include_pad) or to the input.
        terms = []
        for k in range(nd):
            hi = f"min({starts[k]} + {ks[k]}, ({it}){ends[k]} + {pad[k]})"
            if count_include_pad:
                terms.append(f"({hi} - {starts[k]})")
            else:
                terms.append(f"(min({starts[k]} + {ks[k]}, ({it}){ends[k]}) - max({starts[k]}, ({it})0))")
        kb.emit(f"const float divisor = {divisor!r}.0f;" if divisor else f"const float divisor = (float)({' * '.join(terms)});")
    for k in range(nd):
        kb.open(f"for (int k{k} = 0; k{k} < {ks[k]}; ++k{k})")
        kb.emit(f"const {it} w{k} = {starts[k]} + ({it})k{k} * {dil[k]};")
        kb.emit(f"if (w{k} < 0 || w{k} >= {ends[k]}) continue;")
    v = kb.value(x, idx[:lead] + tuple(f"w{k}" for k in range(nd)))
    if is_max:
        kb.emit(f"if ({v} > acc || {v} != {v}) acc = {v};")
    else:
        kb.emit(f"acc += {v};")
    for _ in range(nd):
        kb.close()
    kb.emit(f"{out.name}[{i}] = {'acc' if is_max else 'acc / divisor'};")
    _grid_stride_close(kb)
    kind = "max" if is_max else "avg"
    comment = (f"{kind} pool {nd}d -> {out.name} {_shape_text(node)}: kernel {ks} stride {stride} pad {pad}; "
               f"fused input ops: {', '.join(dict.fromkeys(kb.fused_ops)) or 'none'}")
    _, args = kb.signature()
    work = numel_expr(node.shape, prog.graph.batch_expr)
    return KernelSpec(name, kb.function(comment), (grid_expr(work, s.block_size * s.unroll),),
                      (str(s.block_size),), args, comment)


def emit_scan(prog: Program, st: Stage, s: LoweringSchedule, name: str) -> KernelSpec:
    """cumsum / cumprod along one dim: one thread per line, a serial running value."""
    node, out = st.node, st.out
    x = node.args[0]
    assert isinstance(x, GNode) and x.shape is not None and node.shape is not None
    rank = len(node.shape)
    d = node.args[1] if len(node.args) > 1 else node.kwargs["dim"]
    d = d + rank if d < 0 else d
    is_sum = cexpr.base_op(node.op) == "aten.cumsum"
    kb = _builder(prog, name)
    kb.writes[out.name] = out.ctype
    it = kb.index_type
    lines_shape = node.shape[:d] + node.shape[d + 1:]
    i = _grid_stride_open(kb, kb.numel(lines_shape), 1)
    lidx = kb.delinearize(i, lines_shape)
    kb.emit(f"double acc = {'0.0' if is_sum else '1.0'};  // serial over the whole line: double keeps it exact")
    kb.open(f"for ({it} s = 0; s < {kb.dim(node.shape[d])}; ++s)")
    full = lidx[:d] + ("s",) + lidx[d:]
    v = kb.value(x, full)
    kb.emit(f"acc {'+' if is_sum else '*'}= {v};")
    kb.emit(f"{out.name}[{kb.linearize(full, node.shape)}] = (float)acc;")
    kb.close()
    _grid_stride_close(kb)
    comment = (f"{'cumsum' if is_sum else 'cumprod'} along dim {d} -> {out.name} {_shape_text(node)}; "
               f"fused input ops: {', '.join(dict.fromkeys(kb.fused_ops)) or 'none'}")
    _, args = kb.signature()
    work = numel_expr(lines_shape, prog.graph.batch_expr)
    return KernelSpec(name, kb.function(comment), (grid_expr(work, s.block_size),), (str(s.block_size),), args, comment)
