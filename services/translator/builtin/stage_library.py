"""GEMM / convolution stages: a LibraryCall (cuBLAS/cuDNN through torch) or helper B's own kernels.

The library path names the result ``lib_<node>`` (a fresh plan tensor, no copy); the own-kernel
path (``compute_kernels.emit_matmul`` / ``emit_conv``) writes the same name as an allocation. In
both, the ops after it (bias, activation, residual, normalization, pooling) are fused into the
consumers' kernels, which read that buffer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from kernelwright.translator.builtin import cexpr
from kernelwright.translator.builtin.dims import Dim, numel_expr
from kernelwright.translator.builtin.graph import GNode, LoweringError
from kernelwright.translator.builtin.kernel_builder import KernelSpec
from kernelwright.translator.builtin.lowering import Program, Stage
from kernelwright.translator.builtin.schedule import LoweringSchedule

__all__ = ["LibrarySpec", "emit_library"]


@dataclass
class LibrarySpec:
    """What one library stage contributes to the plan."""

    calls: list[tuple[str, list[str], str, dict[str, str]]] = field(default_factory=list)  # op, args, out, attrs
    kernels: list[KernelSpec] = field(default_factory=list)
    source: str = ""  # own-kernel CUDA text
    scratch: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    allocate_out: bool = False
    comment: str = ""


def _buf(prog: Program, a: Any) -> str:
    if not isinstance(a, GNode) or id(a) not in prog.buffers:
        raise LoweringError("library operand is not a buffer")
    return prog.buffers[id(a)].name


def _e(d: Dim, prog: Program) -> str:
    return d.plan_expr(prog.graph.batch_expr)


def emit_library(prog: Program, st: Stage, s: LoweringSchedule, prefix: str) -> LibrarySpec:
    node, out = st.node, st.out
    op = cexpr.base_op(node.op)
    if op == "aten.convolution":
        return _conv(prog, node, out.name, s, prefix)
    if op == "aten.linear":  # made by lowering.fold_linear_bias: x, w, bias
        if not s.use_library:
            raise LoweringError("linear with a folded bias is a library call; own kernels lower the unfolded graph")
        args = [_buf(prog, a) for a in node.args]
        return LibrarySpec(calls=[("linear", args, out.name, {})],
                           comment=f"linear with bias (cuBLAS, bias in the GEMM epilogue) -> {out.name}")
    a, b = node.args[0], node.args[1]
    transposed_b = id(b) not in prog.buffers  # mm(x, w.t()): b is permute(w, [1, 0])
    if s.use_library:
        if op == "aten.mm" and transposed_b:
            w = b.args[0]
            return LibrarySpec(calls=[("linear", [_buf(prog, a), _buf(prog, w)], out.name, {})],
                               comment=f"linear (cuBLAS) -> {out.name}")
        lib_op = "mm" if op == "aten.mm" else "bmm"
        return LibrarySpec(calls=[(lib_op, [_buf(prog, a), _buf(prog, b)], out.name, {})],
                           comment=f"{lib_op} (cuBLAS) -> {out.name}")
    ck = _compute_kernels()
    assert a.shape is not None and node.shape is not None
    if op == "aten.mm":
        m, k = a.shape
        n = node.shape[1]
        a_str = ("0", _e(k, prog), "1")
        if transposed_b:
            bname = _buf(prog, b.args[0])
            b_str = ("0", "1", _e(k, prog))
        else:
            bname = _buf(prog, b)
            b_str = ("0", _e(n, prog), "1")
        batch = "1"
    else:
        bt, m, k = a.shape
        n = node.shape[2]
        a_str = (numel_expr((m, k), prog.graph.batch_expr), _e(k, prog), "1")
        b_str = (numel_expr((k, n), prog.graph.batch_expr), _e(n, prog), "1")
        bname = _buf(prog, b)
        batch = _e(bt, prog)
    sched = ck.GEMM_SCHEDULES[s.gemm_schedule % len(ck.GEMM_SCHEDULES)]
    em = ck.emit_matmul(prefix, a=_buf(prog, a), b=bname, out=out.name, batch=batch, m=_e(m, prog),
                        n=_e(n, prog), k=_e(k, prog), a_strides=a_str, b_strides=b_str, schedule=sched)
    return _from_emitted(em, f"own GEMM ({op}) -> {out.name}")


def _conv(prog: Program, node: GNode, out: str, s: LoweringSchedule, prefix: str) -> LibrarySpec:
    x, w, bias, stride, padding, dilation, transposed, output_padding, groups = node.args[:9]
    assert x.shape is not None and w.shape is not None and node.shape is not None
    nd = len(w.shape) - 2
    if len(x.shape) != nd + 2:
        raise LoweringError("unbatched convolution input")
    if s.use_library:
        lib_op = f"conv_transpose{nd}d" if transposed else f"conv{nd}d"
        attrs = {"stride": json.dumps(list(stride)), "padding": json.dumps(list(padding)),
                 "dilation": json.dumps(list(dilation)), "groups": json.dumps(int(groups))}
        if transposed:
            attrs["output_padding"] = json.dumps(list(output_padding))
        args = [_buf(prog, x), _buf(prog, w)] + ([_buf(prog, bias)] if bias is not None else [])
        return LibrarySpec(calls=[(lib_op, args, out, attrs)], comment=f"{lib_op} (cuDNN) -> {out}")
    ck = _compute_kernels()
    sched = ck.CONV_SCHEDULES[s.conv_schedule % len(ck.CONV_SCHEDULES)]
    c_out = node.shape[1]
    if not (x.shape[1].is_static and c_out.is_static):
        raise LoweringError("convolution channels depend on the batch")
    em = ck.emit_conv(prefix, x=_buf(prog, x), weight=_buf(prog, w),
                      bias=_buf(prog, bias) if bias is not None else None, out=out, dims=nd,
                      n=_e(x.shape[0], prog), c_in=x.shape[1].c, in_sizes=tuple(_e(d, prog) for d in x.shape[2:]),
                      c_out=c_out.c, out_sizes=tuple(_e(d, prog) for d in node.shape[2:]),
                      kernel_size=tuple(d.c for d in w.shape[2:]), stride=tuple(stride), padding=tuple(padding),
                      dilation=tuple(dilation), groups=int(groups), transposed=bool(transposed),
                      output_padding=tuple(output_padding), schedule=sched)
    return _from_emitted(em, f"own {'transposed ' if transposed else ''}conv{nd}d -> {out}")


def _from_emitted(em: Any, comment: str) -> LibrarySpec:
    kernels = [KernelSpec(ln.kernel, "", tuple(ln.grid), tuple(ln.block), list(ln.args), comment)
               for ln in em.launches]
    for k, ln in zip(kernels, em.launches):
        k.dynamic_shared_bytes = int(getattr(ln, "dynamic_shared_bytes", 0))  # type: ignore[attr-defined]
    return LibrarySpec(kernels=kernels, source=em.source, scratch=list(em.scratch), allocate_out=True,
                       comment=comment)


def _compute_kernels() -> Any:
    try:
        from kernelwright.translator.builtin import compute_kernels
    except ImportError as exc:
        raise LoweringError(f"own GEMM/conv kernels (compute_kernels) unavailable: {exc}") from None
    return compute_kernels
