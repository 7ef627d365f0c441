"""Reduction kernels: sum / mean / max / min / prod / argmax / argmin / var over any set of dims.

The output index ``o`` runs over the kept dims and ``r`` over the reduced dims (both row-major),
so any dims can be reduced, adjacent or not; the input expression is fused (computed while it
is read). Two strategies (schedule knob ``reduce_strategy``):

* block per output (auto when the innermost input dim is reduced: coalesced reads): the block's
  threads stride over ``r``, then a warp-shuffle tree and one shared-memory step combine the
  partial values (fp32 throughout); ``var`` makes a second pass around the block's mean;
* thread per output (auto otherwise: adjacent threads read adjacent kept elements): a serial
  loop over ``r``;
* split (few outputs over a large extent, knob ``reduce_splits``; overrides the strategy): a
  block per (output, part of ``r``) writes fp32 partials, then a warp per output combines them
  in a fixed order and applies the stage's epilogue (two kernels, no atomics);
* column split (thread per output with too few outputs to fill the GPU, same knob; checked
  before the block split): a thread per (output, part of ``r``), adjacent threads on adjacent
  outputs, writes fp32 partials laid out [part][output]; then a thread per output combines its
  parts in a fixed order with the same combine code as the block split (two kernels, no atomics).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from kernelwright.translator.builtin import cexpr
from kernelwright.translator.builtin.dims import Dim, numel_expr, static_numel
from kernelwright.translator.builtin.graph import GNode, LoweringError
from kernelwright.translator.builtin.kernel_builder import KernelBuilder, KernelSpec
from kernelwright.translator.builtin.lowering import FULL_REDUCE, Program, Stage
from kernelwright.translator.builtin.schedule import LoweringSchedule
from kernelwright.translator.builtin.stage_loops import grid_expr

__all__ = ["BLOCK_REDUCE_HELPERS", "Reduction", "column_split_count", "emit_reduce", "reduce_spec",
           "split_count"]

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

struct KwSumD { static __device__ __forceinline__ double op(double a, double b) { return a + b; } };
struct KwProdD { static __device__ __forceinline__ double op(double a, double b) { return a * b; } };

// Warp-wide combine (all 32 lanes call; a fixed xor tree, so the result is deterministic).
template <class Op, class T>
__device__ __forceinline__ T kw_warp_reduce(T v) {
    for (int o = 16; o > 0; o >>= 1) v = Op::op(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

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
__device__ __forceinline__ void kw_warp_arg(float& v, long long& i) {
    for (int o = 16; o > 0; o >>= 1) {
        const float ov = __shfl_xor_sync(0xffffffffu, v, o);
        const long long oi = __shfl_xor_sync(0xffffffffu, i, o);
        if (kw_arg_better<IS_MAX>(ov, oi, v, i)) { v = ov; i = oi; }
    }
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


# Split reductions: a reduction with few outputs (fewer than ~2 per SM) over a large extent runs
# as a grid of (output, part) blocks writing fp32 partials, then one warp per output combines them.
ASSUMED_SMS = 132  # H100 SXM; the generator does not know the card
FEW_OUTPUTS = 2 * ASSUMED_SMS  # split only below this many outputs
SPLIT_MIN_EXTENT = 1 << 16  # auto: split only reductions of at least this many elements per output
MIN_PART = 4096  # auto: at least this many elements per part
MAX_AUTO_SPLITS = 256

# Column splits: a thread-per-output reduction runs M threads, each looping over all K. Below
# COLUMN_FILL_THREADS = 4 blocks of 256 per SM (half of the 2048 threads an H100 SM holds, the
# same 4-blocks-per-SM target as the block split) too few loads are in flight to cover HBM latency,
# so the reduced index is cut into parts to reach that many threads; at or above it the unsplit
# kernel already has that occupancy and a split would only add a launch and the scratch round trip.
COLUMN_FILL_THREADS = 4 * ASSUMED_SMS * 256
# Below one warp of outputs a warp's loads would span several parts (several rows): not coalesced.
# Those reductions keep the block split (few outputs) or stay unsplit.
COLUMN_MIN_OUTPUTS = 32
COLUMN_MIN_EXTENT = 64  # auto: split only extents of at least this many elements
COLUMN_MIN_PART = 16  # auto: at least this many elements per part (per thread)


@dataclass(frozen=True)
class Reduction:
    """One reduction stage: ``kind`` over ``dims`` of ``x``; kept (output) and reduced shapes."""

    kind: str
    x: GNode
    dims: list[int]
    correction: float
    kept_shape: tuple[Dim, ...]
    red_shape: tuple[Dim, ...]

    @staticmethod
    def of(node: GNode) -> Reduction:
        kind, x, dims, correction = reduce_spec(node)
        assert x.shape is not None
        kept = tuple(x.shape[d] for d in range(len(x.shape)) if d not in dims)
        return Reduction(kind, x, dims, correction, kept, tuple(x.shape[d] for d in dims))

    @property
    def arg(self) -> bool:
        return self.kind in ("argmax", "argmin")

    @property
    def is_max(self) -> str:  # template argument of the arg helpers
        return "true" if self.kind == "argmax" else "false"

    @property
    def op_struct(self) -> str:
        return {"sum": "KwSum", "mean": "KwSum", "var": "KwSum", "prod": "KwProd", "max": "KwMax",
                "min": "KwMin", "argmax": "", "argmin": ""}[self.kind]

    @property
    def init(self) -> str:
        return {"sum": "0.0f", "mean": "0.0f", "var": "0.0f", "prod": "1.0f", "max": "__int_as_float(0xff800000)",
                "min": "__int_as_float(0x7f800000)", "argmax": "__int_as_float(0xff800000)",
                "argmin": "__int_as_float(0x7f800000)"}[self.kind]

    @property
    def acc_t(self) -> str:
        # Per-thread partials of sums accumulate in double: a thread may add millions of elements (a
        # full reduction is one block; the H100 run of 96_HuberLoss lost 4e-3 relative in fp32). The
        # block tree then combines the partials in fp32 (a few hundred values: exact enough).
        return "double" if self.kind in ("sum", "mean", "var", "prod") else "float"

    def result(self, count: str) -> str:
        """The output value from ``acc`` / ``acc2`` / ``acci`` over ``count`` elements."""
        if self.kind == "var":
            return f"acc2 / ({self.acc_t})({count} - {self.correction!r})"
        if self.kind == "mean":
            return f"acc / ({self.acc_t}){count}"
        return "acci" if self.arg else "acc"


def split_count(s: LoweringSchedule, outputs: int, extent: int) -> int:
    """Parts per output (1: one kernel, not split), from the sizes at the task's batch.

    ``reduce_splits`` 0 (auto) splits reductions with few outputs over at least
    ``SPLIT_MIN_EXTENT`` elements into enough parts for ~4 blocks per SM (a power of two, parts of
    at least ``MIN_PART`` elements); an explicit count applies to any reduction with few outputs
    and at least two elements per part.
    """
    if outputs >= FEW_OUTPUTS or s.reduce_splits == 1:
        return 1
    if s.reduce_splits:
        return s.reduce_splits if extent >= 2 * s.reduce_splits else 1
    if extent < SPLIT_MIN_EXTENT:
        return 1
    want = 1 << max(0, math.ceil(math.log2(4 * ASSUMED_SMS / max(outputs, 1))))
    parts = min(want, MAX_AUTO_SPLITS, extent // MIN_PART)
    return parts if parts > 1 else 1


def column_split_count(s: LoweringSchedule, outputs: int, extent: int) -> int:
    """Parts of the reduced index for a thread-per-output reduction (1: not split), from the sizes
    at the task's batch.

    Only ``COLUMN_MIN_OUTPUTS`` <= ``outputs`` < ``COLUMN_FILL_THREADS``. ``reduce_splits`` 0
    (auto) splits extents of at least ``COLUMN_MIN_EXTENT`` into the smallest power of two that
    gives ``outputs * parts >= COLUMN_FILL_THREADS`` threads, at most ``MAX_AUTO_SPLITS`` parts
    and parts of at least ``COLUMN_MIN_PART`` elements (rounded down to a power of two); an
    explicit count applies when every part has at least two elements.
    """
    if s.reduce_splits == 1 or not COLUMN_MIN_OUTPUTS <= outputs < COLUMN_FILL_THREADS:
        return 1
    if s.reduce_splits:
        return s.reduce_splits if extent >= 2 * s.reduce_splits else 1
    if extent < COLUMN_MIN_EXTENT:
        return 1
    want = 1 << math.ceil(math.log2(COLUMN_FILL_THREADS / outputs))
    longest = 1 << int(math.log2(extent // COLUMN_MIN_PART))
    parts = min(want, MAX_AUTO_SPLITS, longest)
    return parts if parts > 1 else 1


def emit_reduce(prog: Program, st: Stage, s: LoweringSchedule, name: str) -> list[KernelSpec]:
    """The stage's kernels: one (block or thread per output), or a split pair (partials + combine)."""
    red = Reduction.of(st.node)
    outputs = static_numel(red.kept_shape, prog.graph.batch)
    extent = static_numel(red.red_shape, prog.graph.batch)
    if not _block_per_output(s, red):
        parts = column_split_count(s, outputs, extent)
        if parts > 1:
            return _emit_column_split(prog, st, s, name, red, parts)
    parts = split_count(s, outputs, extent)
    if parts > 1:
        return _emit_split(prog, st, s, name, red, parts)
    return [_emit_whole(prog, st, s, name, red)]


def _block_per_output(s: LoweringSchedule, red: Reduction) -> bool:
    """The strategy: knob ``reduce_strategy``, else a block per output when the innermost dim is reduced."""
    shape = red.x.shape
    assert shape is not None
    inner_reduced = bool(shape) and (len(shape) - 1) in red.dims
    return (s.reduce_strategy or (1 if inner_reduced else 2)) == 1


def _builder(prog: Program, name: str) -> KernelBuilder:
    return KernelBuilder(name, prog.buffers, prog.graph.batch_expr, prog.index_type)


def _accumulate(kb: KernelBuilder, red: Reduction, kidx: tuple[str, ...], r_loop: str, block: bool,
                count: str) -> None:
    """Emit ``acc`` (``acci`` for arg kinds) over ``r_loop``, block-combined when ``block``; for var
    also ``acc2``, the squared deviations around the mean of the ``count`` elements read."""
    x, dims, kind = red.x, red.dims, red.kind
    assert x.shape is not None

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
        if red.arg:
            kb.emit(f"if (kw_arg_better_s<{red.is_max}>({v}, r, acc, acci)) {{ acc = {v}; acci = r; }}")
        elif kind == "prod":
            kb.emit(f"acc *= {v};")
        elif kind in ("max", "min"):
            cmp = ">" if kind == "max" else "<"
            kb.emit(f"if ({v} {cmp} acc || {v} != {v}) acc = {v};")
        else:
            kb.emit(f"acc += {v};")

    acc_t = red.acc_t
    kb.emit(f"{acc_t} acc = {red.init};")
    if red.arg:
        kb.emit("long long acci = 0x7fffffffffffffffLL;")
    kb.open(r_loop)
    combine(kb.value(x, full_index(kb.delinearize("r", red.red_shape, prefix="m"))))
    kb.close()
    if block:
        if red.arg:
            kb.emit(f"kw_block_arg<{red.is_max}>(acc, acci, kw_sm, kw_si);")
        else:
            kb.emit(f"acc = kw_block_reduce<{red.op_struct}>((float)acc, kw_sm);")
    if kind == "var":
        kb.emit(f"const {acc_t} mean = acc / ({acc_t}){count};")
        kb.emit(f"{acc_t} acc2 = 0.0f;")
        kb.open(r_loop)
        v = kb.value(x, full_index(kb.delinearize("r", red.red_shape, prefix="m")))
        kb.emit(f"const {acc_t} dev = {v} - mean;")
        kb.emit("acc2 += dev * dev;")
        kb.close()
        if block:
            kb.emit("acc2 = kw_block_reduce<KwSum>((float)acc2, kw_sm);")


def _shared(kb: KernelBuilder, red: Reduction) -> None:
    kb.emit("__shared__ float kw_sm[33];")
    if red.arg:
        kb.emit("__shared__ long long kw_si[33];")


def _emit_whole(prog: Program, st: Stage, s: LoweringSchedule, name: str, red: Reduction) -> KernelSpec:
    out, x = st.out, red.x
    assert x.shape is not None
    kb = _builder(prog, name)
    kb.writes[out.name] = out.ctype
    it = kb.index_type
    kb.emit(f"const {it} M = {kb.numel(red.kept_shape)};")
    kb.emit(f"const {it} K = {kb.numel(red.red_shape)};")
    block = _block_per_output(s, red)
    if block:
        _shared(kb, red)
        kb.open(f"for ({it} o = blockIdx.x; o < M; o += gridDim.x)")
        r_loop = f"for ({it} r = threadIdx.x; r < K; r += blockDim.x)"
    else:
        kb.emit(f"const {it} nthreads = ({it})gridDim.x * blockDim.x;")
        kb.open(f"for ({it} o = ({it})blockIdx.x * blockDim.x + threadIdx.x; o < M; o += nthreads)")
        r_loop = f"for ({it} r = 0; r < K; ++r)"
    _accumulate(kb, red, kb.delinearize("o", red.kept_shape, prefix="k"), r_loop, block, "K")
    guard = "if (threadIdx.x == 0) " if block else ""
    kb.emit(f"{guard}{out.name}[o] = ({out.ctype})({red.result('K')});")
    kb.close()
    ops = ", ".join(dict.fromkeys(kb.fused_ops)) or "none"
    comment = (f"{red.kind} over dims {red.dims} of {x.name} -> {out.name} "
               f"({'block per output, warp shuffles' if block else 'thread per output'}); fused input ops: {ops}")
    _, args = kb.signature()
    m_expr = numel_expr(red.kept_shape, prog.graph.batch_expr)
    if block:
        grid = (f"max(1, min({m_expr}, {1 << 20}))",)
        blk = (str(s.reduce_block),)
    else:
        grid = (grid_expr(m_expr, s.block_size),)
        blk = (str(s.block_size),)
    return KernelSpec(name, kb.function(comment), grid, blk, args, comment, uses_block_reduce=block)


def _split_prologue(prog: Program, name: str, red: Reduction, parts: int, size: str):
    """What both split layouts share: the partials' scratch (``size`` is its element count, an
    expression of ``M`` and ``P``), the kernel builder writing them, and M, K and the part length."""
    m_expr = numel_expr(red.kept_shape, prog.graph.batch_expr)
    n = size.format(M=m_expr, P=parts)
    part, part2 = f"{name}_part", f"{name}_part2"
    second = "float32" if red.kind == "var" else "int64" if red.arg else None
    scratch = [(part, (n,), "float32")]
    if second:
        scratch.append((part2, (n,), second))
    kb = _builder(prog, name)
    kb.writes[part] = "float"
    if second:
        kb.writes[part2] = cexpr.CTYPES[second]
    it = kb.index_type
    kb.emit(f"const {it} M = {kb.numel(red.kept_shape)};")
    kb.emit(f"const {it} K = {kb.numel(red.red_shape)};")
    kb.emit(f"const {it} kw_chunk = (K + {parts - 1}) / {parts};")
    return kb, scratch, part, part2, second, m_expr


def _emit_split(prog: Program, st: Stage, s: LoweringSchedule, name: str, red: Reduction,
                parts: int) -> list[KernelSpec]:
    """Kernel 1: block ``p`` reduces part ``p % parts`` (a contiguous range of the flat reduced
    index, whatever the layout) of output ``p / parts`` into fp32 partials: the value (the part's
    sum for var) and, for var, the squared deviations around the part's own mean, for arg kinds
    the index. Kernel 2: one warp per output combines its partials in a fixed order (lanes
    stride over the parts in double, then a shuffle tree), var by Chan's parallel formula, and
    stores the stage's result. No atomics: the result does not depend on the order of blocks."""
    out, x = st.out, red.x
    kb, scratch, part, part2, second, m_expr = _split_prologue(prog, name, red, parts, "{M} * {P}")
    it = kb.index_type
    _shared(kb, red)
    kb.open(f"for ({it} kw_p = blockIdx.x; kw_p < M * {parts}; kw_p += gridDim.x)")
    kb.emit(f"const {it} o = kw_p / {parts};")
    kb.emit(f"const {it} kw_r0 = (kw_p - o * {parts}) * kw_chunk;")
    kb.emit(f"const {it} kw_r1 = min(kw_r0 + kw_chunk, K);")
    kb.emit(f"const {it} kw_n = max(kw_r1 - kw_r0, ({it})1);  // an empty part (kw_r0 >= K) stores the identity")
    _accumulate(kb, red, kb.delinearize("o", red.kept_shape, prefix="k"),
                f"for ({it} r = kw_r0 + threadIdx.x; r < kw_r1; r += blockDim.x)", True, "kw_n")
    stores = [f"{part}[kw_p] = (float)acc;"]
    if red.kind == "var":
        stores.append(f"{part2}[kw_p] = (float)acc2;")
    elif red.arg:
        stores.append(f"{part2}[kw_p] = acci;")
    kb.emit(f"if (threadIdx.x == 0) {{ {' '.join(stores)} }}")
    kb.close()
    ops = ", ".join(dict.fromkeys(kb.fused_ops)) or "none"
    comment = (f"{red.kind} over dims {red.dims} of {x.name}: {parts} partials per output of {out.name} "
               f"(split reduction, block per part); fused input ops: {ops}")
    _, args = kb.signature()
    first = KernelSpec(name, kb.function(comment), (f"max(1, min({m_expr} * {parts}, {1 << 20}))",),
                       (str(s.reduce_block),), args, comment, uses_block_reduce=True, scratch=scratch)

    kb = _builder(prog, f"{name}_combine")
    kb.reads[part] = "float"
    if second:
        kb.reads[part2] = cexpr.CTYPES[second]
    kb.writes[out.name] = out.ctype
    kb.emit(f"const {it} M = {kb.numel(red.kept_shape)};")
    kb.emit(f"const {it} K = {kb.numel(red.red_shape)};")
    if red.kind == "var":
        kb.emit(f"const {it} kw_chunk = (K + {parts - 1}) / {parts};")
    kb.open(f"for ({it} o = blockIdx.x; o < M; o += gridDim.x)")
    kb.emit(f"const {it} kw_base = o * {parts};")
    _combine_partials(kb, red, part, part2, f"for (int j = threadIdx.x; j < {parts}; j += 32)",
                      "kw_base + j", warp=True)
    kb.emit(f"if (threadIdx.x == 0) {out.name}[o] = ({out.ctype})({red.result('K')});")
    kb.close()
    comment2 = (f"combine the {parts} partials per output of {red.kind} -> {out.name} "
                f"(warp per output, fixed order); fused input ops: {ops}")
    _, args = kb.signature()
    combine = KernelSpec(f"{name}_combine", kb.function(comment2), (f"max(1, min({m_expr}, 65535))",), ("32",),
                         args, comment2, uses_block_reduce=True)
    return [first, combine]


def _combine_partials(kb: KernelBuilder, red: Reduction, part: str, part2: str, loop: str, slot: str,
                      *, warp: bool) -> None:
    """Emit ``acc`` / ``acc2`` / ``acci`` of output ``o`` from its partials: ``loop`` runs ``j`` over
    the parts this thread combines (in increasing order), ``slot`` is part ``j``'s index in the
    scratch; ``warp``: the 32 lanes of a warp split the parts and a fixed xor tree joins them (every
    lane ends with the result), else one thread reads all of them. ``kw_chunk`` (var) is the part
    length the partial kernel used."""
    it = kb.index_type

    def tree(call: str) -> None:
        if warp:
            kb.emit(call)

    if red.arg:
        kb.emit(f"float acc = {red.init};")
        kb.emit("long long acci = 0x7fffffffffffffffLL;")
        kb.open(loop)
        kb.emit(f"const float v = {part}[{slot}];")
        kb.emit(f"const long long i = {part2}[{slot}];")
        kb.emit(f"if (kw_arg_better_s<{red.is_max}>(v, i, acc, acci)) {{ acc = v; acci = i; }}")
        kb.close()
        tree(f"kw_warp_arg<{red.is_max}>(acc, acci);")
        return
    if red.kind in ("max", "min"):
        cmp = ">" if red.kind == "max" else "<"
        kb.emit(f"float acc = {red.init};")
        kb.open(loop)
        kb.emit(f"const float v = {part}[{slot}];")
        kb.emit(f"if (v {cmp} acc || v != v) acc = v;")
        kb.close()
        tree(f"acc = kw_warp_reduce<{red.op_struct}>(acc);")
        return
    prod = red.kind == "prod"
    kb.emit(f"double acc = {'1.0' if prod else '0.0'};")
    kb.open(loop)
    kb.emit(f"acc {'*' if prod else '+'}= (double){part}[{slot}];")
    kb.close()
    tree(f"acc = kw_warp_reduce<{'KwProdD' if prod else 'KwSumD'}>(acc);")
    if red.kind == "var":
        # Chan et al.: M2 = sum_j (M2_j + n_j * (mean_j - mean)^2), each part's M2_j around its mean.
        kb.emit("const double mean = acc / (double)K;")
        kb.emit("double acc2 = 0.0;")
        kb.open(loop)
        kb.emit(f"const {it} nj = min(kw_chunk, K - ({it})j * kw_chunk);")
        kb.open("if (nj > 0)")
        kb.emit(f"const double d = (double){part}[{slot}] / (double)nj - mean;")
        kb.emit(f"acc2 += (double){part2}[{slot}] + (double)nj * d * d;")
        kb.close()
        kb.close()
        tree("acc2 = kw_warp_reduce<KwSumD>(acc2);")


def _emit_column_split(prog: Program, st: Stage, s: LoweringSchedule, name: str, red: Reduction,
                       parts: int) -> list[KernelSpec]:
    """Kernel 1: thread ``t`` of ``M * parts`` reduces part ``j = t / M`` (a contiguous range of the
    flat reduced index) of output ``o = t % M`` serially, with the thread strategy's accumulators
    (double for sums), and stores fp32 partials at ``t`` — the layout is [part][output], so both
    the reads (adjacent ``o``, same ``r``) and the writes of a warp are coalesced. What a partial
    holds is what the block split stores (var: the part's sum and squared deviations around the
    part's own mean; arg kinds: the flat index too). Kernel 2: a thread per output combines its
    ``parts`` partials in order ``j = 0, 1, ...`` (adjacent threads read adjacent slots) and
    stores the stage's result. No atomics: the result does not depend on the order of blocks."""
    out, x = st.out, red.x
    kb, scratch, part, part2, second, m_expr = _split_prologue(prog, name, red, parts, "{P} * {M}")
    it = kb.index_type
    kb.emit(f"const {it} nthreads = ({it})gridDim.x * blockDim.x;")
    kb.open(f"for ({it} kw_t = ({it})blockIdx.x * blockDim.x + threadIdx.x; kw_t < M * {parts}; kw_t += nthreads)")
    kb.emit(f"const {it} kw_j = kw_t / M;")
    kb.emit(f"const {it} o = kw_t - kw_j * M;")
    kb.emit(f"const {it} kw_r0 = kw_j * kw_chunk;")
    kb.emit(f"const {it} kw_r1 = min(kw_r0 + kw_chunk, K);")
    kb.emit(f"const {it} kw_n = max(kw_r1 - kw_r0, ({it})1);  // an empty part (kw_r0 >= K) stores the identity")
    _accumulate(kb, red, kb.delinearize("o", red.kept_shape, prefix="k"),
                f"for ({it} r = kw_r0; r < kw_r1; ++r)", False, "kw_n")
    kb.emit(f"{part}[kw_t] = (float)acc;")
    if red.kind == "var":
        kb.emit(f"{part2}[kw_t] = (float)acc2;")
    elif red.arg:
        kb.emit(f"{part2}[kw_t] = acci;")
    kb.close()
    ops = ", ".join(dict.fromkeys(kb.fused_ops)) or "none"
    comment = (f"{red.kind} over dims {red.dims} of {x.name}: {parts} partials per output of {out.name} "
               f"(column split, thread per (output, part)); fused input ops: {ops}")
    _, args = kb.signature()
    first = KernelSpec(name, kb.function(comment), (grid_expr(f"{parts} * {m_expr}", s.block_size),),
                       (str(s.block_size),), args, comment, scratch=scratch)

    kb = _builder(prog, f"{name}_combine")
    kb.reads[part] = "float"
    if second:
        kb.reads[part2] = cexpr.CTYPES[second]
    kb.writes[out.name] = out.ctype
    kb.emit(f"const {it} M = {kb.numel(red.kept_shape)};")
    kb.emit(f"const {it} K = {kb.numel(red.red_shape)};")
    if red.kind == "var":
        kb.emit(f"const {it} kw_chunk = (K + {parts - 1}) / {parts};")
    kb.emit(f"const {it} nthreads = ({it})gridDim.x * blockDim.x;")
    kb.open(f"for ({it} o = ({it})blockIdx.x * blockDim.x + threadIdx.x; o < M; o += nthreads)")
    _combine_partials(kb, red, part, part2, f"for (int j = 0; j < {parts}; ++j)", f"({it})j * M + o", warp=False)
    kb.emit(f"{out.name}[o] = ({out.ctype})({red.result('K')});")
    kb.close()
    comment2 = (f"combine the {parts} partials per output of {red.kind} -> {out.name} "
                f"(column split, thread per output, fixed order); fused input ops: {ops}")
    _, args = kb.signature()
    combine = KernelSpec(f"{name}_combine", kb.function(comment2), (grid_expr(m_expr, s.block_size),),
                         (str(s.block_size),), args, comment2)
    return [first, combine]


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
