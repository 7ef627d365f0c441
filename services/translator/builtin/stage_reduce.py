"""Reduction kernels: sum / mean / max / min / prod / argmax / argmin / var over any set of dims.

The output index ``o`` runs over the kept dims and ``r`` over the reduced dims (both row-major),
so any dims can be reduced, adjacent or not; the input expression is fused (computed while it
is read). Strategies (schedule knob ``reduce_strategy``):

* block per output (auto when the innermost input dim is reduced over more than
  ``WARP_MAX_EXTENT`` elements: coalesced reads): the block's threads stride over ``r``, then a
  warp-shuffle tree and one shared-memory step combine the partial values;
* warp per output (auto when the innermost input dim is reduced over at most ``WARP_MAX_EXTENT``
  elements, e.g. the 16-32 element groups of a GroupNorm after a Linear): each warp of the block
  owns one output, its lanes stride over ``r`` and one xor-shuffle tree combines them — no shared
  memory, no ``__syncthreads``, and ``blockDim / 32`` outputs per block instead of one;
* thread per output (auto otherwise: adjacent threads read adjacent kept elements): a serial
  loop over ``r``;
* split (few outputs over a large extent, knob ``reduce_splits``; overrides the strategy): a
  block per (output, part of ``r``) writes partials (fp32; double for sibling moments with a
  variance), then a warp per output combines them
  in a fixed order and applies the stage's epilogue (two kernels, no atomics);
* column split (thread per output with too few outputs to fill the GPU, same knob; checked
  before the block split): a thread per (output, part of ``r``), adjacent threads on adjacent
  outputs, writes partials laid out [part][output]; then a thread per output combines its
  parts in a fixed order with the same combine code as the block split (two kernels, no atomics).

Every strategy reads the input once per kernel:

* sibling reductions (sum / mean / var of the same input expression over the same dims, e.g. the
  mean and variance of a norm; grouped by the lowering, ``Stage.siblings``) are one kernel that
  writes all their outputs;
* variance is one pass: sums of ``d = x - shift`` and ``d * d`` in double, ``shift`` being the
  range's first element (so a large mean does not cancel), combined across the block in double;
  the squared deviations are then ``sum(d^2) - sum(d)^2 / n``;
* addressing: when the input expression is reshapes / pointwise ops over buffers, its elements
  are read by flat offset. If the reduced dims are the innermost ones an output's elements are
  one contiguous slab (``base + r``), else a few contiguous runs (one div/mod per run level);
  where the innermost reduced run has a multiple of 4 elements the loads are float4 (a scalar
  head up to the first 16-byte boundary and a scalar tail). Other inputs (permutes, slices, ...)
  keep the general index math.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from kernelwright.translator.builtin import cexpr
from kernelwright.translator.builtin.dims import Dim, numel_expr, static_numel
from kernelwright.translator.builtin.graph import GNode, LoweringError
from kernelwright.translator.builtin.kernel_builder import RESHAPES, Buffer, KernelBuilder, KernelSpec
from kernelwright.translator.builtin.lowering import FULL_REDUCE, Program, Stage
from kernelwright.translator.builtin.schedule import LoweringSchedule
from kernelwright.translator.builtin.stage_loops import grid_expr

__all__ = ["BLOCK_REDUCE_HELPERS", "ReduceGroup", "Reduction", "column_split_count", "emit_reduce", "reduce_spec",
           "sibling_key", "split_count"]

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

// Two double sums at once (the one-pass moments: sum of x - shift and of its square), combined like
// kw_block_reduce; sm holds 66 doubles.
__device__ __forceinline__ void kw_block_sum2(double& a, double& b, double* sm) {
    for (int o = 16; o > 0; o >>= 1) {
        a += __shfl_xor_sync(0xffffffffu, a, o);
        b += __shfl_xor_sync(0xffffffffu, b, o);
    }
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    __syncthreads();  // the previous call's readers are done with sm
    if (lane == 0) { sm[warp] = a; sm[32 + warp] = b; }
    __syncthreads();
    if (warp == 0) {
        a = lane < nwarps ? sm[lane] : 0.0;
        b = lane < nwarps ? sm[32 + lane] : 0.0;
        for (int o = 16; o > 0; o >>= 1) {
            a += __shfl_xor_sync(0xffffffffu, a, o);
            b += __shfl_xor_sync(0xffffffffu, b, o);
        }
        if (lane == 0) { sm[64] = a; sm[65] = b; }
    }
    __syncthreads();
    a = sm[64];
    b = sm[65];
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


# Warp per output (auto): at most this many elements per output. A block of 256 threads on 32
# elements leaves 7 of its 8 warps idle and still pays the shared-memory step and its barriers; a
# warp per output keeps every lane busy up to 32 elements and, up to 256, gives each lane at most 8
# elements (two float4 loads): few enough that one warp's serial loop does not become the latency
# of the output, while 8 outputs per 256-thread block keep as many bytes in flight as the block
# path. Above 256 a block's threads each still get at least one element, so the block path's
# wider parallelism per output is worth its barrier.
WARP_MAX_EXTENT = 256

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
        # block tree then combines the partials in fp32 (a few hundred values: exact enough), except
        # for one-pass moments (kw_block_sum2, double: their difference must not cancel).
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


# Reductions that can share one kernel with others of the same input and dims (one pass computes all).
SIBLING_KINDS = ("sum", "mean", "var")


def sibling_key(node: GNode) -> tuple[int, tuple[int, ...]] | None:
    """Equal keys: sum / mean / var of the same input expression (the same graph node) over the
    same dims, which one kernel computes together; None for every other reduction."""
    try:
        kind, x, dims, _ = reduce_spec(node)
    except LoweringError:
        return None  # reported when the stage is emitted, as before
    return (id(x), tuple(dims)) if kind in SIBLING_KINDS else None


@dataclass(frozen=True)
class ReduceGroup:
    """The reductions one kernel computes: a stage's own and its siblings' (same input and dims)."""

    members: tuple[tuple[Reduction, Buffer], ...]

    @staticmethod
    def of(st: Stage) -> ReduceGroup:
        return ReduceGroup(tuple((Reduction.of(t.node), t.out) for t in [st, *st.siblings]))

    @property
    def red(self) -> Reduction:
        """The first member: input, dims, shapes (shared by all) and the accumulator kind."""
        return self.members[0][0]

    @property
    def has_var(self) -> bool:
        """One-pass moments: the shifted sum and sum of squares (the plain sum comes with them)."""
        return any(r.kind == "var" for r, _ in self.members)

    @property
    def kinds(self) -> str:
        return " + ".join(r.kind for r, _ in self.members)

    @property
    def outs(self) -> str:
        return ", ".join(b.name for _, b in self.members)

    def stores(self, slot: str, count: str) -> list[str]:
        return [f"{b.name}[{slot}] = ({b.ctype})({r.result(count)});" for r, b in self.members]


def emit_reduce(prog: Program, st: Stage, s: LoweringSchedule, name: str) -> list[KernelSpec]:
    """The stage's kernels (its siblings included): one (block or thread per output), or a split
    pair (partials + combine)."""
    group = ReduceGroup.of(st)
    red = group.red
    outputs = static_numel(red.kept_shape, prog.graph.batch)
    extent = static_numel(red.red_shape, prog.graph.batch)
    if _strategy(s, red, extent) == "thread":
        parts = column_split_count(s, outputs, extent)
        if parts > 1:
            return _emit_column_split(prog, s, name, group, parts)
    parts = split_count(s, outputs, extent)
    if parts > 1:
        return _emit_split(prog, s, name, group, parts)
    return [_emit_whole(prog, s, name, group, _strategy(s, red, extent))]


STRATEGIES = {1: "block", 2: "thread", 3: "warp"}  # reduce_strategy knob value -> strategy


def _strategy(s: LoweringSchedule, red: Reduction, extent: int) -> str:
    """"block", "warp" or "thread" per output: knob ``reduce_strategy``, else (0, auto) a thread
    per output when the innermost dim is kept (adjacent threads read adjacent outputs), else a
    warp per output up to ``WARP_MAX_EXTENT`` elements per output (``extent``, at the task's
    batch) and a block per output above."""
    if s.reduce_strategy:
        return STRATEGIES[s.reduce_strategy]
    shape = red.x.shape
    assert shape is not None
    if not (shape and (len(shape) - 1) in red.dims):
        return "thread"
    return "warp" if extent <= WARP_MAX_EXTENT else "block"


def _builder(prog: Program, name: str) -> KernelBuilder:
    return KernelBuilder(name, prog.buffers, prog.graph.batch_expr, prog.index_type)


# -- reading the input --------------------------------------------------------------------------
# Views that keep the row-major order of the elements: the flat index passes through unchanged.
_FLAT_VIEWS = RESHAPES | {"squeeze", "unsqueeze"}
# Constants with one value for every element (arange and the like do depend on the index).
_UNIFORM_CONSTANTS = {"aten.scalar_tensor", "aten.full", "aten.full_like", "aten.zeros", "aten.ones", "aten.zeros_like",
                      "aten.ones_like", "aten.new_full", "aten.new_zeros", "aten.new_ones", "const.scalar"}


def _through_flat_views(node: GNode, buffers: dict[int, Buffer]) -> GNode:
    while (id(node) not in buffers and cexpr.base_op(node.op) in cexpr.VIEWS
           and cexpr.base_op(node.op).split(".")[-1] in _FLAT_VIEWS and isinstance(node.args[0], GNode)):
        node = node.args[0]
    return node


def _same_shape_operands(node: GNode) -> list[GNode]:
    return [a for a in [*node.args, *node.kwargs.values()] if isinstance(a, GNode) and a.shape == node.shape]


def _flat_leaves(node: GNode, buffers: dict[int, Buffer], found: dict[str, Buffer]) -> None:
    """The buffers an element of ``node`` loads at the element's own flat index (``found``)."""
    node = _through_flat_views(node, buffers)
    buf = buffers.get(id(node))
    if buf is not None:
        found[buf.name] = buf
    elif cexpr.base_op(node.op) in cexpr.POINTWISE:
        for a in _same_shape_operands(node):
            _flat_leaves(a, buffers, found)


class _Reader:
    """Emits element ``r`` (the flat index over the reduced dims) of output ``o``'s input range.

    ``contiguous``: the reduced dims are the innermost ones, element ``r`` is at flat offset
    ``o * K + r`` of the input; ``runs``: the offset is ``kw_obase`` (from ``o``) plus the reduced
    index split into runs of adjacent reduced dims; both read the input expression by flat offset
    (reshapes pass it through, pointwise ops hand it to same-shape operands, broadcast operands
    rebuild their multi-index). ``general``: the multi-index of every element, through any view.
    """

    def __init__(self, kb: KernelBuilder, red: Reduction, o: str) -> None:
        self.kb, self.red = kb, red
        x = red.x
        assert x.shape is not None
        head = _through_flat_views(x, kb.buffers)
        flat_ok = id(head) in kb.buffers or cexpr.base_op(head.op) in cexpr.POINTWISE
        # Runs of adjacent dims that are all reduced or all kept (size-1 dims dropped), outermost first.
        runs: list[tuple[bool, list[Dim]]] = []
        for d, size in enumerate(x.shape):
            if size.is_static and size.c == 1:
                continue
            reduced = d in red.dims
            if runs and runs[-1][0] == reduced:
                runs[-1][1].append(size)
            else:
                runs.append((reduced, [size]))
        reduced_runs = [k for k, (reduced, _) in enumerate(runs) if reduced]
        self.sizes = [self._size(dims) for _, dims in runs]
        self.strides = [self._product(self.sizes[k + 1:]) for k in range(len(runs))]
        self.red_runs = reduced_runs
        # The innermost run is reduced: its elements are adjacent in memory (float4 candidates).
        self.inner = self.sizes[-1] if runs and runs[-1][0] else None
        it = kb.index_type
        if not flat_ok:
            self.mode = "general"
            self.kidx = kb.delinearize(o, red.kept_shape, prefix="k")
        elif len(reduced_runs) <= 1 and (not reduced_runs or reduced_runs[0] == len(runs) - 1):
            self.mode = "contiguous"
            kb.emit(f"const {it} kw_obase = {o} * K;  // output {o}'s elements: one contiguous slab")
        else:
            self.mode = "runs"
            kept = [k for k, (reduced, _) in enumerate(runs) if not reduced]
            kidx = self._split(o, [self.sizes[k] for k in kept], "k")
            terms = [self._times(i, self.strides[k]) for i, k in zip(kidx, kept)]
            kb.emit(f"const {it} kw_obase = {' + '.join(terms) or '0'};  // output {o}'s first element")
        leaves: dict[str, Buffer] = {}
        if self.mode != "general":
            _flat_leaves(x, kb.buffers, leaves)
        vector_mode = self.mode == "contiguous" or (self.mode == "runs" and self.inner is not None)
        if self.inner is not None and self.inner.isdigit():  # a static run length: decided here
            vector_mode = vector_mode and (self.mode == "contiguous" or int(self.inner) % 4 == 0)
            self.inner_check = ""
        else:
            self.inner_check = f"({self.inner}) % 4 == 0 && " if self.mode == "runs" else ""
        self.vector = [b for b in leaves.values() if b.ctype == "float"] if vector_mode else []

    @property
    def layout(self) -> str:
        if self.mode == "general":
            return "general index math"
        text = "contiguous slab per output" if self.mode == "contiguous" else "contiguous runs per output"
        return text + (", float4 loads" if self.vector else "")

    # -- index text --
    def _size(self, dims: list[Dim]) -> str:
        static = math.prod(d.c for d in dims if d.is_static)
        dyn = [self.kb.dim(d) for d in dims if not d.is_static]
        return " * ".join(dyn + ([str(static)] if static != 1 or not dyn else []))

    @staticmethod
    def _product(sizes: list[str]) -> str:
        return " * ".join(f"({s})" if "*" in s and len(sizes) > 1 else s for s in sizes) or "1"

    @staticmethod
    def _times(i: str, stride: str) -> str:
        return i if stride == "1" else f"{i} * {stride}" if "*" not in stride else f"{i} * ({stride})"

    def _split(self, flat: str, sizes: list[str], prefix: str) -> list[str]:
        """Row-major indices of ``flat`` over ``sizes`` (statements emitted)."""
        if not sizes:
            return []
        out, rest, it = [""] * len(sizes), _paren(flat), self.kb.index_type
        for k in range(len(sizes) - 1, 0, -1):
            i, q = self.kb.fresh(prefix), self.kb.fresh("q")
            self.kb.emit(f"const {it} {i} = {rest} % ({sizes[k]});")
            self.kb.emit(f"const {it} {q} = {rest} / ({sizes[k]});")
            out[k], rest = i, q
        out[0] = rest
        return out

    def flat(self, r: str) -> str:
        """The input's flat offset of element ``r`` (not in general mode)."""
        if r == "0":
            return "kw_obase"
        if self.mode == "contiguous":
            return f"kw_obase + {r}"
        ridx = self._split(r, [self.sizes[k] for k in self.red_runs], "m")
        terms = [self._times(i, self.strides[k]) for i, k in zip(ridx, self.red_runs)]
        f = self.kb.fresh("f")
        self.kb.emit(f"const {self.kb.index_type} {f} = kw_obase + {' + '.join(terms) or '0'};")
        return f

    # -- values --
    def value(self, r: str) -> str:
        """Element ``r``'s value (statements emitted)."""
        if self.mode == "general":
            return self._general_value(r)
        return self.value_at(self.flat(r), {})

    def value_at(self, flat: str, lanes: dict[str, str]) -> str:
        """The element at input offset ``flat``; ``lanes``: buffer name -> its value there, already loaded."""
        return _flat_value(self.kb, self.red.x, flat, lanes, {})

    def _general_value(self, r: str) -> str:
        x, dims, kb = self.red.x, self.red.dims, self.kb
        assert x.shape is not None
        ridx, kidx = iter(kb.delinearize(r, self.red.red_shape, prefix="m")), iter(self.kidx)
        return kb.value(x, tuple(next(ridx) if d in dims else next(kidx) for d in range(len(x.shape))))


def _flat_value(kb: KernelBuilder, node: GNode, flat: str, lanes: dict[str, str], memo: dict[int, str]) -> str:
    """C text of ``node``'s element at row-major offset ``flat`` (statements emitted)."""
    node = _through_flat_views(node, kb.buffers)
    buf = kb.buffers.get(id(node))
    if buf is not None:
        return lanes.get(buf.name) or kb.load_flat(buf, flat)
    if id(node) in memo:
        return memo[id(node)]
    assert node.shape is not None
    op = cexpr.base_op(node.op)
    if op in cexpr.POINTWISE:
        idx: tuple[str, ...] | None = None  # the multi-index, built only for a broadcast operand

        def operand(a: object) -> str | None:
            nonlocal idx
            if not isinstance(a, GNode):
                return kb.scalar(a)
            assert a.shape is not None and node.shape is not None
            if a.shape == node.shape:
                return _flat_value(kb, a, flat, lanes, memo)
            if idx is None:
                idx = kb.delinearize(_paren(flat), node.shape, prefix="b")
            return kb.value(a, kb._broadcast_idx(idx, node.shape, a.shape))

        expr = cexpr.pointwise_expr(node, lambda i: operand(node.args[i]) if i < len(node.args) else None,
                                    lambda k: operand(node.kwargs[k]) if k in node.kwargs else None)
        ctype = cexpr.CTYPES.get(node.dtype)
        if ctype is None:
            raise LoweringError(f"op {node.op}: dtype {node.dtype} not supported")
        v = kb.fresh("t")
        kb.emit(f"const {ctype} {v} = ({ctype})({expr});  // {op}")
        kb.fused_ops.append(op.split(".", 1)[1])
    elif op in _UNIFORM_CONSTANTS:
        v = kb.value(node, tuple("0" for _ in node.shape))
    else:
        v = kb.value(node, kb.delinearize(_paren(flat), node.shape, prefix="b"))
    memo[id(node)] = v
    return v


def _paren(expr: str) -> str:
    return f"({expr})" if " " in expr else expr


def _plus(a: str, b: str) -> str:
    return b if a == "0" else a if b == "0" else f"{a} + {b}"


def _range_loop(kb: KernelBuilder, reader: _Reader, lo: str, hi: str, first: str, step: str,
                body) -> None:
    """``body(value, r)`` for this thread's elements ``r`` of ``[lo, hi)``: ``lo + first``, then
    every ``step``-th. With float4 loads, first the aligned groups of 4 (a thread takes every
    ``step``-th group), then the scalar head (before the first 16-byte boundary) and tail."""
    it = kb.index_type
    if not reader.vector:
        kb.open(f"for ({it} r = {_plus(lo, first)}; r < {hi}; r += {step})")
        body(reader.value("r"), "r")
        kb.close()
        return
    ptrs = " | ".join(f"reinterpret_cast<unsigned long long>({b.name})" for b in reader.vector)
    aligned = f"(({ptrs}) & 15) == 0"
    # In runs the offset of r is r modulo the innermost run's length: aligned like r when that
    # length is a multiple of 4 (checked here when it follows the batch).
    aligned = f"{reader.inner_check}{aligned}"
    phase = f"({lo}) & 3" if reader.mode == "runs" else f"({_plus('kw_obase', lo)}) & 3"
    kb.emit(f"const bool kw_aligned = {aligned};  // float4 loads: every pointer 16-byte aligned")
    kb.emit(f"const {it} kw_len = {hi} - {lo};" if lo != "0" else f"const {it} kw_len = {hi};")
    head = "0" if phase == "(0) & 3" else f"min(kw_len, ({it})((4 - ({phase})) & 3))"
    kb.emit(f"const {it} kw_head = kw_aligned ? {head} : kw_len;  // scalar elements before the first aligned one")
    kb.emit(f"const {it} kw_nvec = (kw_len - kw_head) / 4;")
    kb.open(f"for ({it} kw_q = {first}; kw_q < kw_nvec; kw_q += {step})")
    kb.emit(f"const {it} r = {_plus(lo, 'kw_head')} + 4 * kw_q;")
    f = reader.flat("r")
    lanes: list[dict[str, str]] = [{}, {}, {}, {}]
    for b in reader.vector:
        kb.reads.setdefault(b.name, b.ctype)
        v4 = kb.fresh("x4_")
        kb.emit(f"const float4 {v4} = *reinterpret_cast<const float4*>({b.name} + {f});")
        for j, c in enumerate("xyzw"):
            lanes[j][b.name] = f"{v4}.{c}"
    for j in range(4):
        body(reader.value_at(_plus(f, str(j)), lanes[j]), _plus("r", str(j)))
    kb.close()
    kb.open(f"for ({it} kw_i = {first}; kw_i < kw_len - 4 * kw_nvec; kw_i += {step})")
    kb.emit(f"const {it} r = {_plus(lo, '(kw_i < kw_head ? kw_i : kw_i + 4 * kw_nvec)')};")
    body(reader.value("r"), "r")
    kb.close()


# -- accumulating -------------------------------------------------------------------------------
def _accumulate(kb: KernelBuilder, group: ReduceGroup, reader: _Reader, rng: tuple[str, str, str, str],
                across: str, count: str) -> None:
    """Emit ``acc`` (``acci`` for arg kinds) over the range ``rng`` = (lo, hi, first, step), then
    combined ``across`` the "block", the "warp" (every lane ends with the result) or "" (one
    thread: nothing to combine); with a var among the members ``acc`` is the plain sum and
    ``acc2`` the squared deviations around the mean of the ``count`` elements read."""
    red = group.red
    if group.has_var:
        _accumulate_moments(kb, reader, rng, across, count)
        return

    def combine(v: str, r: str) -> None:
        if red.arg:
            kb.emit(f"if (kw_arg_better_s<{red.is_max}>({v}, {r}, acc, acci)) {{ acc = {v}; acci = {r}; }}")
        elif red.kind == "prod":
            kb.emit(f"acc *= {v};")
        elif red.kind in ("max", "min"):
            cmp = ">" if red.kind == "max" else "<"
            kb.emit(f"if ({v} {cmp} acc || {v} != {v}) acc = {v};")
        else:
            kb.emit(f"acc += {v};")

    kb.emit(f"{red.acc_t} acc = {red.init};")
    if red.arg:
        kb.emit("long long acci = 0x7fffffffffffffffLL;")
    _range_loop(kb, reader, *rng, combine)
    if across == "block":
        if red.arg:
            kb.emit(f"kw_block_arg<{red.is_max}>(acc, acci, kw_sm, kw_si);")
        else:
            kb.emit(f"acc = kw_block_reduce<{red.op_struct}>((float)acc, kw_sm);")
    elif across == "warp":
        # The same combine operators as the block tree (kw_arg_better: torch's first index on
        # ties, NaN wins; KwMax/KwMin propagate NaN); sums and products stay in double.
        if red.arg:
            kb.emit(f"kw_warp_arg<{red.is_max}>(acc, acci);")
        else:
            op = {"prod": "KwProdD", "max": "KwMax", "min": "KwMin"}.get(red.kind, "KwSumD")
            kb.emit(f"acc = kw_warp_reduce<{op}>(acc);")


def _accumulate_moments(kb: KernelBuilder, reader: _Reader, rng: tuple[str, str, str, str], across: str,
                        count: str) -> None:
    """One pass for sum, mean and var: sums of ``d = x - shift`` and ``d * d`` in double. The shift
    (the range's first element) is near the mean, so ``sum(d^2) - sum(d)^2 / n`` does not cancel
    even when the mean is large against the spread."""
    lo, hi = rng[0], rng[1]
    kb.emit("float kw_shift = 0.0f;  // the range's first element (0 for an empty range)")
    kb.open(f"if ({lo} < {hi})")
    kb.emit(f"kw_shift = (float)({reader.value(lo)});")
    kb.close()
    kb.emit("double acc = 0.0, acc2 = 0.0;  // sums of d = x - kw_shift and of d * d")

    def add(v: str, r: str) -> None:
        d = kb.fresh("d")
        kb.emit(f"const double {d} = (double){v} - (double)kw_shift;")
        kb.emit(f"acc += {d};")
        kb.emit(f"acc2 += {d} * {d};")

    _range_loop(kb, reader, *rng, add)
    if across == "block":
        kb.emit("kw_block_sum2(acc, acc2, kw_smd);")
    elif across == "warp":  # every lane shifted by the same element: the sums add up directly
        kb.emit("acc = kw_warp_reduce<KwSumD>(acc);")
        kb.emit("acc2 = kw_warp_reduce<KwSumD>(acc2);")
    kb.emit(f"acc2 = max(acc2 - acc * acc / (double){count}, 0.0);  // squared deviations around the mean")
    kb.emit(f"acc += (double){count} * (double)kw_shift;  // the plain sum")


def _shared(kb: KernelBuilder, group: ReduceGroup) -> None:
    if group.has_var:
        kb.emit("__shared__ double kw_smd[66];")
        return
    kb.emit("__shared__ float kw_sm[33];")
    if group.red.arg:
        kb.emit("__shared__ long long kw_si[33];")


def _comment(group: ReduceGroup, what: str, how: str, reader: _Reader, ops: str) -> str:
    red = group.red
    fused = " (sibling reductions, one kernel)" if len(group.members) > 1 else ""
    one_pass = "one pass, " if group.has_var else ""
    return (f"{group.kinds}{fused} over dims {red.dims} of {red.x.name}{what} ({how}) [{one_pass}{reader.layout}]; "
            f"fused input ops: {ops}")


def _emit_whole(prog: Program, s: LoweringSchedule, name: str, group: ReduceGroup, strategy: str) -> KernelSpec:
    """One kernel for the whole reduction: a block, a warp or a thread per output (``strategy``)."""
    red = group.red
    kb = _builder(prog, name)
    for _, out in group.members:
        kb.writes[out.name] = out.ctype
    it = kb.index_type
    kb.emit(f"const {it} M = {kb.numel(red.kept_shape)};")
    kb.emit(f"const {it} K = {kb.numel(red.red_shape)};")
    warps = s.reduce_block // 32  # outputs per block of the warp strategy
    if strategy == "block":
        _shared(kb, group)
        kb.open(f"for ({it} o = blockIdx.x; o < M; o += gridDim.x)")
        rng, leader, how = ("0", "K", "threadIdx.x", "blockDim.x"), "threadIdx.x == 0", "block per output, warp shuffles"
    elif strategy == "warp":
        # Warp-uniform loop: all 32 lanes of a warp take the same outputs, so every lane reaches
        # each shuffle; warps of a block run independently (no barrier).
        kb.emit(f"const {it} kw_warps = blockDim.x >> 5;  // outputs per block: one per warp")
        kb.emit("const int kw_lane = threadIdx.x & 31;")
        kb.open(f"for ({it} o = ({it})blockIdx.x * kw_warps + (threadIdx.x >> 5); o < M; o += ({it})gridDim.x * kw_warps)")
        rng, leader = ("0", "K", "kw_lane", "32"), "kw_lane == 0"
        how = f"warp per output, {warps} outputs per block, shuffles only"
    else:
        kb.emit(f"const {it} nthreads = ({it})gridDim.x * blockDim.x;")
        kb.open(f"for ({it} o = ({it})blockIdx.x * blockDim.x + threadIdx.x; o < M; o += nthreads)")
        rng, leader, how = ("0", "K", "0", "1"), "", "thread per output"
    reader = _Reader(kb, red, "o")
    _accumulate(kb, group, reader, rng, "" if strategy == "thread" else strategy, "K")
    stores = group.stores("o", "K")
    if not leader:
        for line in stores:
            kb.emit(line)
    else:
        kb.emit(f"if ({leader}) {{ {' '.join(stores)} }}" if len(stores) > 1 else f"if ({leader}) {stores[0]}")
    kb.close()
    ops = ", ".join(dict.fromkeys(kb.fused_ops)) or "none"
    comment = _comment(group, f" -> {group.outs}", how, reader, ops)
    _, args = kb.signature()
    m_expr = numel_expr(red.kept_shape, prog.graph.batch_expr)
    if strategy == "block":
        grid, blk = (f"max(1, min({m_expr}, {1 << 20}))",), (str(s.reduce_block),)
    elif strategy == "warp":
        grid, blk = (f"max(1, min(ceil_div({m_expr}, {warps}), {1 << 20}))",), (str(s.reduce_block),)
    else:
        grid, blk = (grid_expr(m_expr, s.block_size),), (str(s.block_size),)
    return KernelSpec(name, kb.function(comment), grid, blk, args, comment, uses_block_reduce=strategy != "thread")


SCRATCH_CTYPES = {"float32": "float", "float64": "double", "int64": "long long"}


def _scratch_dtypes(group: ReduceGroup) -> tuple[str, str | None]:
    """The partials' dtypes: the value's, and the second one's (var: M2, arg kinds: the index).
    Moments keep double: a part's sum in fp32 would place a large mean (1e3 times the spread)
    only to ~1e-4 of the spread, and the combine's (mean_j - mean)^2 terms would inherit that."""
    if group.has_var:
        return "float64", "float64"
    return "float32", "int64" if group.red.arg else None


def _split_prologue(prog: Program, name: str, group: ReduceGroup, parts: int, size: str):
    """What both split layouts share: the partials' scratch (``size`` is its element count, an
    expression of ``M`` and ``P``), the kernel builder writing them, and M, K and the part length."""
    red = group.red
    m_expr = numel_expr(red.kept_shape, prog.graph.batch_expr)
    n = size.format(M=m_expr, P=parts)
    part, part2 = f"{name}_part", f"{name}_part2"
    first, second = _scratch_dtypes(group)
    scratch = [(part, (n,), first)]
    if second:
        scratch.append((part2, (n,), second))
    kb = _builder(prog, name)
    kb.writes[part] = SCRATCH_CTYPES[first]
    if second:
        kb.writes[part2] = SCRATCH_CTYPES[second]
    it = kb.index_type
    kb.emit(f"const {it} M = {kb.numel(red.kept_shape)};")
    kb.emit(f"const {it} K = {kb.numel(red.red_shape)};")
    kb.emit(f"const {it} kw_chunk = (K + {parts - 1}) / {parts};")
    return kb, scratch, part, part2, m_expr


def _partial_stores(group: ReduceGroup, part: str, part2: str, slot: str) -> list[str]:
    if group.has_var:
        return [f"{part}[{slot}] = acc;", f"{part2}[{slot}] = acc2;"]
    stores = [f"{part}[{slot}] = (float)acc;"]
    if group.red.arg:
        stores.append(f"{part2}[{slot}] = acci;")
    return stores


def _combine_kernel(prog: Program, name: str, group: ReduceGroup, parts: int, part: str, part2: str):
    """The combine kernel's builder with M, K (and, for var, the part length) declared."""
    red = group.red
    kb = _builder(prog, f"{name}_combine")
    first, second = _scratch_dtypes(group)
    kb.reads[part] = SCRATCH_CTYPES[first]
    if second:
        kb.reads[part2] = SCRATCH_CTYPES[second]
    for _, out in group.members:
        kb.writes[out.name] = out.ctype
    it = kb.index_type
    kb.emit(f"const {it} M = {kb.numel(red.kept_shape)};")
    kb.emit(f"const {it} K = {kb.numel(red.red_shape)};")
    if group.has_var:
        kb.emit(f"const {it} kw_chunk = (K + {parts - 1}) / {parts};")
    return kb


def _emit_split(prog: Program, s: LoweringSchedule, name: str, group: ReduceGroup, parts: int) -> list[KernelSpec]:
    """Kernel 1: block ``p`` reduces part ``p % parts`` (a contiguous range of the flat reduced
    index, whatever the layout) of output ``p / parts`` into partials: the value (the part's
    sum for var) and, for var, the squared deviations around the part's own mean, for arg kinds
    the index. Kernel 2: one warp per output combines its partials in a fixed order (lanes
    stride over the parts in double, then a shuffle tree), var by Chan's parallel formula, and
    stores the stage's results. No atomics: the result does not depend on the order of blocks."""
    red = group.red
    kb, scratch, part, part2, m_expr = _split_prologue(prog, name, group, parts, "{M} * {P}")
    it = kb.index_type
    _shared(kb, group)
    kb.open(f"for ({it} kw_p = blockIdx.x; kw_p < M * {parts}; kw_p += gridDim.x)")
    kb.emit(f"const {it} o = kw_p / {parts};")
    kb.emit(f"const {it} kw_r0 = (kw_p - o * {parts}) * kw_chunk;")
    kb.emit(f"const {it} kw_r1 = min(kw_r0 + kw_chunk, K);")
    kb.emit(f"const {it} kw_n = max(kw_r1 - kw_r0, ({it})1);  // an empty part (kw_r0 >= K) stores the identity")
    reader = _Reader(kb, red, "o")
    _accumulate(kb, group, reader, ("kw_r0", "kw_r1", "threadIdx.x", "blockDim.x"), "block", "kw_n")
    kb.emit(f"if (threadIdx.x == 0) {{ {' '.join(_partial_stores(group, part, part2, 'kw_p'))} }}")
    kb.close()
    ops = ", ".join(dict.fromkeys(kb.fused_ops)) or "none"
    comment = _comment(group, f": {parts} partials per output of {group.outs}",
                       "split reduction, block per part", reader, ops)
    _, args = kb.signature()
    first = KernelSpec(name, kb.function(comment), (f"max(1, min({m_expr} * {parts}, {1 << 20}))",),
                       (str(s.reduce_block),), args, comment, uses_block_reduce=True, scratch=scratch)

    kb = _combine_kernel(prog, name, group, parts, part, part2)
    kb.open(f"for ({it} o = blockIdx.x; o < M; o += gridDim.x)")
    kb.emit(f"const {it} kw_base = o * {parts};")
    _combine_partials(kb, group, part, part2, f"for (int j = threadIdx.x; j < {parts}; j += 32)",
                      "kw_base + j", warp=True)
    stores = group.stores("o", "K")
    kb.emit(f"if (threadIdx.x == 0) {{ {' '.join(stores)} }}" if len(stores) > 1
            else f"if (threadIdx.x == 0) {stores[0]}")
    kb.close()
    comment2 = (f"combine the {parts} partials per output of {group.kinds} -> {group.outs} "
                f"(warp per output, fixed order); fused input ops: {ops}")
    _, args = kb.signature()
    combine = KernelSpec(f"{name}_combine", kb.function(comment2), (f"max(1, min({m_expr}, 65535))",), ("32",),
                         args, comment2, uses_block_reduce=True)
    return [first, combine]


def _combine_partials(kb: KernelBuilder, group: ReduceGroup, part: str, part2: str, loop: str, slot: str,
                      *, warp: bool) -> None:
    """Emit ``acc`` / ``acc2`` / ``acci`` of output ``o`` from its partials: ``loop`` runs ``j`` over
    the parts this thread combines (in increasing order), ``slot`` is part ``j``'s index in the
    scratch; ``warp``: the 32 lanes of a warp split the parts and a fixed xor tree joins them (every
    lane ends with the result), else one thread reads all of them. ``kw_chunk`` (var) is the part
    length the partial kernel used."""
    it = kb.index_type
    red = group.red

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
    if group.has_var:
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


def _emit_column_split(prog: Program, s: LoweringSchedule, name: str, group: ReduceGroup,
                       parts: int) -> list[KernelSpec]:
    """Kernel 1: thread ``t`` of ``M * parts`` reduces part ``j = t / M`` (a contiguous range of the
    flat reduced index) of output ``o = t % M`` serially, with the thread strategy's accumulators
    (double for sums), and stores partials at ``t`` — the layout is [part][output], so both
    the reads (adjacent ``o``, same ``r``) and the writes of a warp are coalesced. What a partial
    holds is what the block split stores (var: the part's sum and squared deviations around the
    part's own mean; arg kinds: the flat index too). Kernel 2: a thread per output combines its
    ``parts`` partials in order ``j = 0, 1, ...`` (adjacent threads read adjacent slots) and
    stores the stage's results. No atomics: the result does not depend on the order of blocks."""
    red = group.red
    kb, scratch, part, part2, m_expr = _split_prologue(prog, name, group, parts, "{P} * {M}")
    it = kb.index_type
    kb.emit(f"const {it} nthreads = ({it})gridDim.x * blockDim.x;")
    kb.open(f"for ({it} kw_t = ({it})blockIdx.x * blockDim.x + threadIdx.x; kw_t < M * {parts}; kw_t += nthreads)")
    kb.emit(f"const {it} kw_j = kw_t / M;")
    kb.emit(f"const {it} o = kw_t - kw_j * M;")
    kb.emit(f"const {it} kw_r0 = kw_j * kw_chunk;")
    kb.emit(f"const {it} kw_r1 = min(kw_r0 + kw_chunk, K);")
    kb.emit(f"const {it} kw_n = max(kw_r1 - kw_r0, ({it})1);  // an empty part (kw_r0 >= K) stores the identity")
    reader = _Reader(kb, red, "o")
    _accumulate(kb, group, reader, ("kw_r0", "kw_r1", "0", "1"), "", "kw_n")
    for line in _partial_stores(group, part, part2, "kw_t"):
        kb.emit(line)
    kb.close()
    ops = ", ".join(dict.fromkeys(kb.fused_ops)) or "none"
    comment = _comment(group, f": {parts} partials per output of {group.outs}",
                       "column split, thread per (output, part)", reader, ops)
    _, args = kb.signature()
    first = KernelSpec(name, kb.function(comment), (grid_expr(f"{parts} * {m_expr}", s.block_size),),
                       (str(s.block_size),), args, comment, scratch=scratch)

    kb = _combine_kernel(prog, name, group, parts, part, part2)
    kb.emit(f"const {it} nthreads = ({it})gridDim.x * blockDim.x;")
    kb.open(f"for ({it} o = ({it})blockIdx.x * blockDim.x + threadIdx.x; o < M; o += nthreads)")
    _combine_partials(kb, group, part, part2, f"for (int j = 0; j < {parts}; ++j)", f"({it})j * M + o", warp=False)
    for line in group.stores("o", "K"):
        kb.emit(line)
    kb.close()
    comment2 = (f"combine the {parts} partials per output of {group.kinds} -> {group.outs} "
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
