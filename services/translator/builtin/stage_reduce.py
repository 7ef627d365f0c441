"""Reduction kernels: sum / mean / max / min / prod / argmax / argmin / var over any set of dims.

The output index ``o`` runs over the kept dims and ``r`` over the reduced dims (both row-major),
so any dims can be reduced, adjacent or not; the input expression is fused (computed while it
is read). Two strategies (schedule knob ``reduce_strategy``):

* block per output (auto when the innermost input dim is reduced: coalesced reads): the block's
  threads stride over ``r``, then a warp-shuffle tree and one shared-memory step combine the
  partial values (fp32 throughout); ``var`` makes a second pass around the block's mean;
* thread per output (auto otherwise: adjacent threads read adjacent kept elements): a serial
  loop over ``r``.
"""

from __future__ import annotations

from kernelwright.translator.builtin import cexpr
from kernelwright.translator.builtin.dims import numel_expr
from kernelwright.translator.builtin.graph import GNode, LoweringError
from kernelwright.translator.builtin.kernel_builder import KernelBuilder, KernelSpec
from kernelwright.translator.builtin.lowering import FULL_REDUCE, Program, Stage
from kernelwright.translator.builtin.schedule import LoweringSchedule
from kernelwright.translator.builtin.stage_loops import grid_expr

__all__ = ["BLOCK_REDUCE_HELPERS", "emit_reduce", "reduce_spec"]

# Device helpers, emitted once per source when a block reduction is used.
BLOCK_REDUCE_HELPERS = r"""
// Block-wide reductions: warp-shuffle tree, one shared-memory step across warps, result broadcast
// to every thread. blockDim.x must be a multiple of 32 and every thread of the block must call.
struct KwSum { static __device__ __forceinline__ float id() { return 0.0f; }
               static __device__ __forceinline__ float op(float a, float b) { return a + b; } };
struct KwProd { static __device__ __forceinline__ float id() { return 1.0f; }
                static __device__ __forceinline__ float op(float a, float b) { return a * b; } };
struct KwMax { static __device__ __forceinline__ float id() { return __int_as_float(0xff800000); }
               static __device__ __forceinline__ float op(float a, float b) { return (a > b || a != a) ? a : b; } };
struct KwMin { static __device__ __forceinline__ float id() { return __int_as_float(0x7f800000); }
               static __device__ __forceinline__ float op(float a, float b) { return (a < b || a != a) ? a : b; } };

template <class Op>
__device__ __forceinline__ float kw_block_reduce(float v, float* sm) {
    for (int o = 16; o > 0; o >>= 1) v = Op::op(v, __shfl_xor_sync(0xffffffffu, v, o));
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    __syncthreads();  // the previous call's readers are done with sm
    if (lane == 0) sm[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = lane < nwarps ? sm[lane] : Op::id();
        for (int o = 16; o > 0; o >>= 1) v = Op::op(v, __shfl_xor_sync(0xffffffffu, v, o));
        if (lane == 0) sm[32] = v;
    }
    __syncthreads();
    return sm[32];
}

// (value, index) pairs: the best value, ties and NaN resolved like torch (first index; NaN wins).
template <bool IS_MAX>
__device__ __forceinline__ bool kw_arg_better(float v, long long i, float bv, long long bi) {
    if (v != v) return !(bv != bv) || i < bi;
    if (bv != bv) return false;
    if (IS_MAX ? v > bv : v < bv) return true;
    return v == bv && i < bi;
}

template <bool IS_MAX>
__device__ __forceinline__ void kw_block_arg(float& v, long long& i, float* sm, long long* si) {
    for (int o = 16; o > 0; o >>= 1) {
        const float ov = __shfl_xor_sync(0xffffffffu, v, o);
        const long long oi = __shfl_xor_sync(0xffffffffu, i, o);
        if (kw_arg_better<IS_MAX>(ov, oi, v, i)) { v = ov; i = oi; }
    }
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    __syncthreads();
    if (lane == 0) { sm[warp] = v; si[warp] = i; }
    __syncthreads();
    if (warp == 0) {
        v = lane < nwarps ? sm[lane] : (IS_MAX ? __int_as_float(0xff800000) : __int_as_float(0x7f800000));
        i = lane < nwarps ? si[lane] : 0x7fffffffffffffffLL;
        for (int o = 16; o > 0; o >>= 1) {
            const float ov = __shfl_xor_sync(0xffffffffu, v, o);
            const long long oi = __shfl_xor_sync(0xffffffffu, i, o);
            if (kw_arg_better<IS_MAX>(ov, oi, v, i)) { v = ov; i = oi; }
        }
        if (lane == 0) { sm[32] = v; si[32] = i; }
    }
    __syncthreads();
    v = sm[32];
    i = si[32];
}
"""


def reduce_spec(node: GNode) -> tuple[str, GNode, list[int], float]:
    """(kind, input, reduced dims, correction) of a reduction node."""
    if node.op == "getitem":
        parent, which = node.args[0], node.args[1]
        best = "max" if parent.op.startswith("aten.max") else "min"
        kind = best if which == 0 else f"arg{best}"
        x = parent.args[0]
        dims = [parent.args[1]]
        return kind, x, _norm(dims, x), 0.0
    x = node.args[0]
    op = cexpr.base_op(node.op)
    name = op.split(".", 1)[1]
    if node.op in FULL_REDUCE:
        return FULL_REDUCE[node.op][1:], x, list(range(len(x.shape))), 0.0
    dims_arg = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim")
    if node.op.endswith(".default") and name in ("sum", "mean", "prod") and not node.op.startswith("prims"):
        dims_arg = None
    if name in ("argmax", "argmin"):
        dims_arg = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim")
    if isinstance(dims_arg, int):
        dims_arg = [dims_arg]
    dims = list(range(len(x.shape))) if not dims_arg else _norm(dims_arg, x)
    correction = 0.0
    if name == "var":
        c = node.args[2] if op.startswith("prims") else node.kwargs.get("correction", 1)
        correction = float(1 if c is None else c)
    kind = {"sum": "sum", "mean": "mean", "amax": "max", "amin": "min", "prod": "prod", "argmax": "argmax",
            "argmin": "argmin", "var": "var", "any": "any", "all": "all"}[name]
    if kind in ("any", "all"):
        raise LoweringError(f"reduction {node.op} (bool) is not supported")
    return kind, x, dims, correction


def _norm(dims: list[int], x: GNode) -> list[int]:
    r = len(x.shape)
    return sorted({d + r if d < 0 else d for d in dims})


def emit_reduce(prog: Program, st: Stage, s: LoweringSchedule, name: str) -> KernelSpec:
    node, out = st.node, st.out
    kind, x, dims, correction = reduce_spec(node)
    assert x.shape is not None
    kept = [d for d in range(len(x.shape)) if d not in dims]
    kept_shape = tuple(x.shape[d] for d in kept)
    red_shape = tuple(x.shape[d] for d in dims)
    inner_reduced = bool(x.shape) and (len(x.shape) - 1) in dims
    strategy = s.reduce_strategy or (1 if inner_reduced else 2)
    kb = KernelBuilder(name, prog.buffers, prog.graph.batch_expr, prog.index_type)
    kb.writes[out.name] = out.ctype
    it = kb.index_type
    kb.emit(f"const {it} M = {kb.numel(kept_shape)};")
    kb.emit(f"const {it} K = {kb.numel(red_shape)};")
    arg = kind in ("argmax", "argmin")
    op_struct = {"sum": "KwSum", "mean": "KwSum", "var": "KwSum", "prod": "KwProd", "max": "KwMax", "min": "KwMin",
                 "argmax": "", "argmin": ""}[kind]
    init = {"sum": "0.0f", "mean": "0.0f", "var": "0.0f", "prod": "1.0f", "max": "__int_as_float(0xff800000)",
            "min": "__int_as_float(0x7f800000)", "argmax": "__int_as_float(0xff800000)",
            "argmin": "__int_as_float(0x7f800000)"}[kind]
    block = strategy == 1
    if block:
        kb.emit("__shared__ float kw_sm[33];")
        if arg:
            kb.emit("__shared__ long long kw_si[33];")
        kb.open(f"for ({it} o = blockIdx.x; o < M; o += gridDim.x)")
        r_loop = f"for ({it} r = threadIdx.x; r < K; r += blockDim.x)"
    else:
        kb.emit(f"const {it} nthreads = ({it})gridDim.x * blockDim.x;")
        kb.open(f"for ({it} o = ({it})blockIdx.x * blockDim.x + threadIdx.x; o < M; o += nthreads)")
        r_loop = f"for ({it} r = 0; r < K; ++r)"
    kidx = kb.delinearize("o", kept_shape, prefix="k")

    def full_index(ridx: tuple[str, ...]) -> tuple[str, ...]:
        res, a, b = [], 0, 0
        for d in range(len(x.shape)):
            if d in dims:
                res.append(ridx[b])
                b += 1
            else:
                res.append(kidx[a])
                a += 1
        return tuple(res)

    def combine(v: str) -> None:
        if arg:
            best = "true" if kind == "argmax" else "false"
            kb.emit(f"if (kw_arg_better_s<{best}>({v}, r, acc, acci)) {{ acc = {v}; acci = r; }}")
        elif kind == "prod":
            kb.emit(f"acc *= {v};")
        elif kind in ("max", "min"):
            cmp = ">" if kind == "max" else "<"
            kb.emit(f"if ({v} {cmp} acc || {v} != {v}) acc = {v};")
        else:
            kb.emit(f"acc += {v};")

    # Per-thread partials of sums accumulate in double: a thread may add millions of elements (a
    # full reduction is one block; the H100 run of 96_HuberLoss lost 4e-3 relative in fp32). The
    # block tree then combines the partials in fp32 (a few hundred values: exact enough).
    acc_t = "double" if kind in ("sum", "mean", "var", "prod") else "float"
    kb.emit(f"{acc_t} acc = {init};")
    if arg:
        kb.emit("long long acci = 0x7fffffffffffffffLL;")
    kb.open(r_loop)
    v = kb.value(x, full_index(kb.delinearize("r", red_shape, prefix="m")))
    combine(v)
    kb.close()
    if block:
        if arg:
            kb.emit(f"kw_block_arg<{'true' if kind == 'argmax' else 'false'}>(acc, acci, kw_sm, kw_si);")
        else:
            kb.emit(f"acc = kw_block_reduce<{op_struct}>((float)acc, kw_sm);")
    if kind == "var":
        kb.emit(f"const {acc_t} mean = acc / ({acc_t})K;")
        kb.emit(f"{acc_t} acc2 = 0.0f;")
        kb.open(r_loop)
        v = kb.value(x, full_index(kb.delinearize("r", red_shape, prefix="m")))
        kb.emit(f"const {acc_t} dev = {v} - mean;")
        kb.emit("acc2 += dev * dev;")
        kb.close()
        if block:
            kb.emit("acc2 = kw_block_reduce<KwSum>((float)acc2, kw_sm);")
        result = f"acc2 / ({acc_t})(K - {correction!r})"
    elif kind == "mean":
        result = f"acc / ({acc_t})K"
    elif arg:
        result = "acci"
    else:
        result = "acc"
    guard = "if (threadIdx.x == 0) " if block else ""
    kb.emit(f"{guard}{out.name}[o] = ({out.ctype})({result});")
    kb.close()
    ops = ", ".join(dict.fromkeys(kb.fused_ops)) or "none"
    comment = (f"{kind} over dims {dims} of {x.name} -> {out.name} "
               f"({'block per output, warp shuffles' if block else 'thread per output'}); fused input ops: {ops}")
    _, args = kb.signature()
    m_expr = numel_expr(kept_shape, prog.graph.batch_expr)
    if block:
        grid = (f"max(1, min({m_expr}, {1 << 20}))",)
        blk = (str(s.reduce_block),)
    else:
        grid = (grid_expr(m_expr, s.block_size),)
        blk = (str(s.block_size),)
    spec = KernelSpec(name, kb.function(comment), grid, blk, args, comment, uses_block_reduce=block)
    return spec


# Thread-local argmax/argmin comparison (no shuffles; usable by the thread-per-output strategy).
ARG_HELPER = r"""
template <bool IS_MAX>
__device__ __forceinline__ bool kw_arg_better_s(float v, long long i, float bv, long long bi) {
    if (v != v) return !(bv != bv) || i < bi;
    if (bv != bv) return false;
    if (IS_MAX ? v > bv : v < bv) return true;
    return v == bv && i < bi;
}
"""
