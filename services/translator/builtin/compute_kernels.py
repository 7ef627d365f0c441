"""Our own fp32 CUDA kernels for GEMM and convolution, emitted as fast-format pieces (no LLM).

The built-in generator's lowering calls :func:`emit_matmul` and :func:`emit_conv`; each returns an
:class:`Emitted`: NVRTC-compilable CUDA (no includes, ``extern "C"`` kernels named
``f"{prefix}_..."``), the launches (grid/block/args as plan ShapeExpr strings) and any scratch
float32 allocations the launches need. Sizes that vary with the batch at run time stay ShapeExpr
strings; everything fixed by the module (kernel size, stride, channels, ...) is baked into the
source as constants so the compiler can unroll.

Numerics: plain fp32 FFMA with fp32 accumulators (no TF32, no fast math). Long reductions are
split (split-K for GEMM, see ``SPLIT_K_CHUNK``) so no single running sum grows over more than a
few thousand terms; partial sums are combined by a second kernel in a fixed order (deterministic).

GEMM: shared-memory tiles ``tile_m x tile_k`` of A and ``tile_k x tile_n`` of B, double-buffered
(the next tile is fetched into registers while the current one is multiplied), each thread owning
``thread_m x thread_n`` outputs laid out with a stride of the thread grid (conflict-free shared
reads, coalesced stores). Global loads pick a coalesced mapping at run time from the strides (k
contiguous or m/n contiguous), so transposed operands need no copy. Tiles are bounds-checked for
any m/n/k; offsets are 64-bit; batch x split runs on grid.z and tile rows on grid.y, both looped
when they exceed 65535.

Convolution: a direct kernel for 1d/2d/3d (stride, padding, dilation, groups, depthwise) and its
transposed variant written as a gather (each output sums the inputs that map onto it), grid-stride
over (batch, block of ``out_per_thread`` output channels of one group, output position); each
input value is loaded once and used for all the thread's channels. A 1x1 / stride 1 / unpadded /
ungrouped convolution is routed to the GEMM (``pointwise_as_gemm``).
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass

__all__ = [
    "CONV_SCHEDULES",
    "GEMM_SCHEDULES",
    "SPLIT_K_CHUNK",
    "ConvSchedule",
    "Emitted",
    "GemmSchedule",
    "Launch",
    "emit_conv",
    "emit_matmul",
    "append_to_plan",
    "float_literal",
]

# Grid caps: y/z are hardware-limited to 65535; x we keep moderate for grid-stride kernels.
GRID_YZ_CAP = 65535
GRID_X_CAP = 1048576
# Split-K: one split per this many k (a multiple of every tile_k); capped by MAX_SPLITS, by the
# scratch budget and so that splitting only happens when the tile grid alone would not fill the GPU.
SPLIT_K_CHUNK = 4096
MAX_SPLITS = 64
SPLIT_SCRATCH_ELEMS = 1 << 25  # 128 MiB of fp32 partial sums at most
TARGET_BLOCKS = 528  # ~4 resident blocks on each of 132 SMs (H100 SXM)
REDUCE_BLOCK = 256


@dataclass(frozen=True)
class Launch:
    kernel: str  # extern "C" name in Emitted.source
    grid: tuple[str, ...]  # plan ShapeExpr strings
    block: tuple[str, ...]
    args: tuple[tuple[str, object], ...]  # ("tensor", name) | ("int", shape_expr_str) | ("float", float)
    dynamic_shared_bytes: int = 0


@dataclass(frozen=True)
class Emitted:
    source: str  # NVRTC-compilable CUDA, no includes, kernels named f"{prefix}_..."
    launches: tuple[Launch, ...]
    scratch: tuple[tuple[str, tuple[str, ...]], ...] = ()  # extra float32 allocations (name, shape exprs)


@dataclass(frozen=True)
class GemmSchedule:
    tile_m: int
    tile_n: int
    tile_k: int
    thread_m: int
    thread_n: int

    def __post_init__(self) -> None:
        if self.tile_m % self.thread_m or self.tile_n % self.thread_n:
            raise ValueError(f"tile must be a multiple of the per-thread block: {self}")
        if self.tile_m % 4 or self.tile_n % 4:
            raise ValueError(f"tile_m and tile_n must be multiples of 4 (16-byte aligned shared rows): {self}")
        if not 32 <= self.threads <= 1024 or self.threads % 32:
            raise ValueError(f"{self.threads} threads per block (need a multiple of 32 in 32..1024): {self}")
        if SPLIT_K_CHUNK % self.tile_k:
            raise ValueError(f"tile_k must divide SPLIT_K_CHUNK={SPLIT_K_CHUNK}: {self}")
        if (self.tile_m * self.tile_k) % self.threads or (self.tile_k * self.tile_n) % self.threads:
            raise ValueError(f"tiles must split evenly over the threads: {self}")
        if self.shared_bytes > 48 * 1024:
            raise ValueError(f"{self.shared_bytes} bytes of static shared memory > 48 KiB: {self}")

    @property
    def threads(self) -> int:
        return (self.tile_m // self.thread_m) * (self.tile_n // self.thread_n)

    @property
    def shared_bytes(self) -> int:
        return 2 * self.tile_k * (self.tile_m + self.tile_n + 8) * 4

    def as_map(self) -> dict[str, int]:
        return {**asdict(self), "threads": self.threads}


GEMM_SCHEDULES: tuple[GemmSchedule, ...] = (
    GemmSchedule(128, 128, 8, 8, 8),
    GemmSchedule(64, 64, 16, 4, 4),
    GemmSchedule(128, 64, 8, 8, 4),
    GemmSchedule(64, 128, 8, 4, 8),
    GemmSchedule(32, 32, 16, 2, 2),
)


@dataclass(frozen=True)
class ConvSchedule:
    block: int
    out_per_thread: int

    def __post_init__(self) -> None:
        if self.block not in (64, 128, 256, 512):
            raise ValueError(f"block must be 64, 128, 256 or 512, got {self.block}")
        if not 1 <= self.out_per_thread <= 16:
            raise ValueError(f"out_per_thread must be in 1..16, got {self.out_per_thread}")

    def as_map(self) -> dict[str, int]:
        return asdict(self)


CONV_SCHEDULES: tuple[ConvSchedule, ...] = (
    ConvSchedule(256, 4),
    ConvSchedule(128, 8),
    ConvSchedule(256, 1),
    ConvSchedule(256, 2),
)


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------


def float_literal(v: float) -> str:
    """A C float literal that round-trips ``v`` (``1.0f``, ``(-0.5f)``)."""
    f = float(v)
    if not math.isfinite(f):
        raise ValueError(f"non-finite constant {f}")
    r = repr(f)
    if "e" not in r and "." not in r:
        r += ".0"
    return f"({r}f)" if r.startswith("-") else f"{r}f"


def _p(expr: str) -> str:
    """Parenthesize a ShapeExpr so it can be embedded in a larger one."""
    return f"({str(expr).strip()})"


def _check_prefix(prefix: str) -> None:
    if not prefix or not (prefix[0].isalpha() or prefix[0] == "_") or not all(c.isalnum() or c == "_" for c in prefix):
        raise ValueError(f"prefix must be a C identifier, got {prefix!r}")


# Guarded: several emitted pieces may share one translation unit.
_COMMON_DEVICE = r"""
#ifndef KW_COMPUTE_COMMON_DEVICE
#define KW_COMPUTE_COMMON_DEVICE
__device__ __forceinline__ long long kw_min_ll(long long a, long long b) { return a < b ? a : b; }
__device__ __forceinline__ long long kw_max_ll(long long a, long long b) { return a > b ? a : b; }
#endif
"""

# ---------------------------------------------------------------------------------------------
# GEMM
# ---------------------------------------------------------------------------------------------

_GEMM_TEMPLATE = r"""
// C[bt, i, j] = alpha * sum_k A[bt, i, k] * B[bt, k, j] (+ bias); fp32 FFMA, fp32 accumulators.
// A(bt,i,k) = A[bt*sab + i*sam + k*sak], B(bt,k,j) = B[bt*sbb + k*sbk + j*sbn] (64-bit offsets).
// splits > 1: grid.z runs batch*splits; split s sums k in [s*kps, min(K, (s+1)*kps)) and stores
// raw partial sums to C laid out [splits, batch, M, N]; PREFIX_splitk_reduce finishes.
#define PREFIX_TM TILE_M
#define PREFIX_TN TILE_N
#define PREFIX_TK TILE_K
#define PREFIX_RM THREAD_M
#define PREFIX_RN THREAD_N
#define PREFIX_NTX (PREFIX_TN / PREFIX_RN)
#define PREFIX_NTY (PREFIX_TM / PREFIX_RM)
#define PREFIX_NT (PREFIX_NTX * PREFIX_NTY)
#define PREFIX_A_PER_T ((PREFIX_TM * PREFIX_TK) / PREFIX_NT)
#define PREFIX_B_PER_T ((PREFIX_TK * PREFIX_TN) / PREFIX_NT)
// A thread owns PREFIX_RM rows in groups of PREFIX_VM consecutive ones, group g at g * NTY * VM (same for
// columns): the compute loop reads each group with one vector load, conflict-free across the warp.
#define PREFIX_VM VEC_M
#define PREFIX_VN VEC_N
#define PREFIX_VTM VEC_TYPE_M
#define PREFIX_VTN VEC_TYPE_N
#define PREFIX_ROW(g, u) ((g) * (PREFIX_NTY * PREFIX_VM) + ty * PREFIX_VM + (u))
#define PREFIX_COL(g, u) ((g) * (PREFIX_NTX * PREFIX_VN) + tx * PREFIX_VN + (u))

extern "C" __global__ void __launch_bounds__(PREFIX_NT) PREFIX_gemm(
    const float* __restrict__ A, const float* __restrict__ B, BIAS_PARAM float* __restrict__ C,
    long long batch, long long M, long long N, long long K,
    long long sab, long long sam, long long sak, long long sbb, long long sbk, long long sbn,
    long long splits, long long kps, float alpha)
{
    // +4 padding keeps the transposed stores of the k-contiguous load path off one bank.
    __shared__ __align__(16) float As[2][PREFIX_TK][PREFIX_TM + 4];
    __shared__ __align__(16) float Bs[2][PREFIX_TK][PREFIX_TN + 4];
    const int tid = threadIdx.x;
    const int tx = tid % PREFIX_NTX;
    const int ty = tid / PREFIX_NTX;
    // Coalesced global loads: consecutive threads walk the operand's unit-stride dimension.
    const bool a_k_contig = (sak == 1);
    const bool b_n_contig = (sbn == 1) || (sbk != 1);
    const long long m_tiles = (M + PREFIX_TM - 1) / PREFIX_TM;
    const long long col0 = (long long)blockIdx.x * PREFIX_TN;
    for (long long z = blockIdx.z; z < batch * splits; z += gridDim.z) {
        const long long bt = z / splits;
        const long long sp = z - bt * splits;
        const long long k_begin = sp * kps;
        const long long k_end = kw_min_ll(K, k_begin + kps);
        const float* __restrict__ Ab = A + bt * sab;
        const float* __restrict__ Bb = B + bt * sbb;
        for (long long mt = blockIdx.y; mt < m_tiles; mt += gridDim.y) {
            const long long row0 = mt * PREFIX_TM;
            float acc[PREFIX_RM][PREFIX_RN];
#pragma unroll
            for (int r = 0; r < PREFIX_RM; ++r)
#pragma unroll
                for (int c = 0; c < PREFIX_RN; ++c) acc[r][c] = 0.0f;
            float a_reg[PREFIX_A_PER_T];
            float b_reg[PREFIX_B_PER_T];
            // Each thread always loads the same (row, k-offset) slots of a tile: set their pointers once.
            const float* a_ptr[PREFIX_A_PER_T];
            const float* b_ptr[PREFIX_B_PER_T];
            bool a_ok[PREFIX_A_PER_T], b_ok[PREFIX_B_PER_T];
            int a_kk[PREFIX_A_PER_T], b_kk[PREFIX_B_PER_T];
            const long long a_step = (long long)PREFIX_TK * sak;
            const long long b_step = (long long)PREFIX_TK * sbk;
#pragma unroll
            for (int q = 0; q < PREFIX_A_PER_T; ++q) {
                const int e = tid + q * PREFIX_NT;
                const int ii = a_k_contig ? e / PREFIX_TK : e % PREFIX_TM;
                a_kk[q] = a_k_contig ? e % PREFIX_TK : e / PREFIX_TM;
                a_ok[q] = row0 + ii < M;
                a_ptr[q] = Ab + (a_ok[q] ? (row0 + ii) * sam : 0) + (k_begin + a_kk[q]) * sak;
            }
#pragma unroll
            for (int q = 0; q < PREFIX_B_PER_T; ++q) {
                const int e = tid + q * PREFIX_NT;
                const int jj = b_n_contig ? e % PREFIX_TN : e / PREFIX_TK;
                b_kk[q] = b_n_contig ? e / PREFIX_TN : e % PREFIX_TK;
                b_ok[q] = col0 + jj < N;
                b_ptr[q] = Bb + (b_ok[q] ? (col0 + jj) * sbn : 0) + (k_begin + b_kk[q]) * sbk;
            }
            int buf = 0;
            if (k_begin < k_end) {
                const long long kf = k_begin;
                FETCH_BLOCK
                const int sb = 0;
                STORE_BLOCK
            }
            __syncthreads();
            for (long long k0 = k_begin; k0 < k_end; k0 += PREFIX_TK) {
                const bool has_next = k0 + PREFIX_TK < k_end;
                if (has_next) {
                    const long long kf = k0 + PREFIX_TK;
                    FETCH_BLOCK
                }
#pragma unroll
                for (int kk = 0; kk < PREFIX_TK; ++kk) {
                    float av[PREFIX_RM], bv[PREFIX_RN];
                    // Vector shared reads: PREFIX_VM (PREFIX_VN) consecutive rows (columns) per load.
#pragma unroll
                    for (int g = 0; g < PREFIX_RM / PREFIX_VM; ++g) {
                        const PREFIX_VTM v = *reinterpret_cast<const PREFIX_VTM*>(&As[buf][kk][PREFIX_ROW(g, 0)]);
                        PREFIX_UNPACK_M
                    }
#pragma unroll
                    for (int g = 0; g < PREFIX_RN / PREFIX_VN; ++g) {
                        const PREFIX_VTN v = *reinterpret_cast<const PREFIX_VTN*>(&Bs[buf][kk][PREFIX_COL(g, 0)]);
                        PREFIX_UNPACK_N
                    }
#pragma unroll
                    for (int r = 0; r < PREFIX_RM; ++r)
#pragma unroll
                        for (int c = 0; c < PREFIX_RN; ++c) acc[r][c] = fmaf(av[r], bv[c], acc[r][c]);
                }
                if (has_next) {
                    const int sb = buf ^ 1;
                    STORE_BLOCK
                }
                // One barrier per tile: the other buffer was last read before the previous one.
                __syncthreads();
                buf ^= 1;
            }
            const long long out_base = (splits > 1 ? (sp * batch + bt) : bt) * M * N;
            // Whole 4-column groups go out as one float4 store when rows are 16-byte aligned.
            const bool vec_store = PREFIX_VN == 4 && (N & 3) == 0 && (((unsigned long long)C) & 15) == 0;
#pragma unroll
            for (int r = 0; r < PREFIX_RM; ++r) {
                const long long gi = row0 + PREFIX_ROW(r / PREFIX_VM, r % PREFIX_VM);
                if (gi >= M) continue;
                float* __restrict__ crow = C + out_base + gi * N;
#pragma unroll
                for (int c = 0; c < PREFIX_RN; ++c) {
                    const long long gj = col0 + PREFIX_COL(c / PREFIX_VN, c % PREFIX_VN);
                    float v = acc[r][c];
                    if (splits == 1) { if (gj < N) { v = alpha * v BIAS_EPILOGUE; } }
                    acc[r][c] = v;
                }
#pragma unroll
                for (int c = 0; c < PREFIX_RN; c += PREFIX_VN) {
                    const long long gj = col0 + PREFIX_COL(c / PREFIX_VN, 0);
                    if (vec_store && gj + 3 < N) {
                        PREFIX_STORE_VEC
                    } else {
#pragma unroll
                        for (int u = 0; u < PREFIX_VN; ++u)
                            if (gj + u < N) crow[gj + u] = acc[r][c + u];
                    }
                }
            }
        }
    }
}

// out = alpha * (sum over splits of the partials, in split order) (+ bias); a no-op for splits == 1.
extern "C" __global__ void PREFIX_splitk_reduce(
    const float* __restrict__ P, BIAS_PARAM float* __restrict__ C,
    long long batch, long long M, long long N, long long splits, float alpha)
{
    if (splits <= 1) return;
    const long long total = batch * M * N;
    const long long step = (long long)gridDim.x * blockDim.x;
    for (long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x; idx < total; idx += step) {
        float s = 0.0f;
        for (long long sp = 0; sp < splits; ++sp) s += P[sp * total + idx];
        const long long gj = idx % N;
        const long long gi = (idx / N) % M;
        float v = alpha * s BIAS_EPILOGUE;
        C[idx] = v;
    }
}
"""


# Global -> registers for the tile starting at kf (zeros outside the matrix or the split); the
# per-element pointers advance one tile per fetch, so the loop carries no 64-bit multiplies.
_GEMM_FETCH = r"""
#pragma unroll
                for (int q = 0; q < PREFIX_A_PER_T; ++q) {
                    a_reg[q] = (a_ok[q] && kf + a_kk[q] < k_end) ? *a_ptr[q] : 0.0f;
                    a_ptr[q] += a_step;
                }
#pragma unroll
                for (int q = 0; q < PREFIX_B_PER_T; ++q) {
                    b_reg[q] = (b_ok[q] && kf + b_kk[q] < k_end) ? *b_ptr[q] : 0.0f;
                    b_ptr[q] += b_step;
                }"""
# Registers -> shared buffer sb (A stored k-major so the compute loop reads rows of m).
_GEMM_STORE = r"""
#pragma unroll
                for (int q = 0; q < PREFIX_A_PER_T; ++q) {
                    const int e = tid + q * PREFIX_NT;
                    const int ii = a_k_contig ? e / PREFIX_TK : e % PREFIX_TM;
                    const int kk = a_k_contig ? e % PREFIX_TK : e / PREFIX_TM;
                    As[sb][kk][ii] = a_reg[q];
                }
#pragma unroll
                for (int q = 0; q < PREFIX_B_PER_T; ++q) {
                    const int e = tid + q * PREFIX_NT;
                    const int jj = b_n_contig ? e % PREFIX_TN : e / PREFIX_TK;
                    const int kk = b_n_contig ? e / PREFIX_TN : e % PREFIX_TK;
                    Bs[sb][kk][jj] = b_reg[q];
                }"""


_VECTOR_TYPES = {1: "float", 2: "float2", 4: "float4"}


def _vector_width(per_thread: int) -> int:
    """Rows (columns) a thread reads from shared memory with one load: 4, 2 or 1."""
    return 4 if per_thread % 4 == 0 else 2 if per_thread % 2 == 0 else 1


def _unpack(dst: str, width: int) -> str:
    if width == 1:
        return f"{dst}[g] = v;"
    return " ".join(f"{dst}[g * {width} + {u}] = v.{'xyzw'[u]};" for u in range(width))


def emit_matmul(
    prefix: str,
    *,
    a: str,
    b: str,
    out: str,
    batch: str,
    m: str,
    n: str,
    k: str,
    a_strides: tuple[str, str, str],
    b_strides: tuple[str, str, str],
    bias: str | None = None,
    alpha: float = 1.0,
    schedule: GemmSchedule,
    bias_along: str = "n",
    split_k_chunk: int = SPLIT_K_CHUNK,
) -> Emitted:
    """``out`` (contiguous [batch, m, n]) = alpha * A @ B (+ bias); see the module docstring.

    ``bias_along``: ``"n"`` adds ``bias[j]`` (linear/addmm), ``"m"`` adds ``bias[i]`` (a pointwise
    convolution lowered to GEMM, where rows are output channels). ``split_k_chunk``: k per split
    (a multiple of ``schedule.tile_k``); splitting also needs a tile grid too small for the GPU.
    """
    _check_prefix(prefix)
    s = schedule
    if bias_along not in ("n", "m"):
        raise ValueError(f"bias_along must be 'n' or 'm', got {bias_along!r}")
    if split_k_chunk <= 0 or split_k_chunk % s.tile_k:
        raise ValueError(f"split_k_chunk={split_k_chunk} must be a positive multiple of tile_k={s.tile_k}")
    if len(a_strides) != 3 or len(b_strides) != 3:
        raise ValueError("a_strides and b_strides take three ShapeExprs (batch, row, column)")
    if bias is not None:
        bias_param = "const float* __restrict__ bias,"
        bias_epi = " + bias[gj]" if bias_along == "n" else " + bias[gi]"
    else:
        bias_param, bias_epi = "", ""
    src = _GEMM_TEMPLATE.replace("FETCH_BLOCK", _GEMM_FETCH).replace("STORE_BLOCK", _GEMM_STORE)
    vm, vn = _vector_width(s.thread_m), _vector_width(s.thread_n)
    src = (src.replace("PREFIX_UNPACK_M", _unpack("av", vm)).replace("PREFIX_UNPACK_N", _unpack("bv", vn))
              .replace("PREFIX_STORE_VEC", "*reinterpret_cast<float4*>(crow + gj) = make_float4("
                       + ", ".join(f"acc[r][c + {u}]" for u in range(4)) + ");"))
    for key, val in (("TILE_M", s.tile_m), ("TILE_N", s.tile_n), ("TILE_K", s.tile_k),
                     ("THREAD_M", s.thread_m), ("THREAD_N", s.thread_n), ("VEC_M", vm), ("VEC_N", vn),
                     ("VEC_TYPE_M", _VECTOR_TYPES[vm]), ("VEC_TYPE_N", _VECTOR_TYPES[vn])):
        src = src.replace(key, str(val))
    src = src.replace("BIAS_PARAM", bias_param).replace("BIAS_EPILOGUE", bias_epi).replace("PREFIX", prefix)
    source = (f"// kernelwright builtin GEMM ({prefix}): tile {s.tile_m}x{s.tile_n}x{s.tile_k}, "
              f"{s.thread_m}x{s.thread_n} per thread, {s.threads} threads.\n" + _COMMON_DEVICE + src)

    B_, M_, N_, K_ = _p(batch), _p(m), _p(n), _p(k)
    tiles = f"{B_} * ceil_div({M_}, {s.tile_m}) * ceil_div({N_}, {s.tile_n})"
    splits = (f"max(1, min(ceil_div({K_}, {split_k_chunk}), {MAX_SPLITS}, "
              f"{TARGET_BLOCKS} // max(1, {tiles}), {SPLIT_SCRATCH_ELEMS} // max(1, {B_} * {M_} * {N_})))")
    kps = f"ceil_div(ceil_div({K_}, {splits}), {s.tile_k}) * {s.tile_k}"
    split_on = f"min({splits} - 1, 1)"  # 0 or 1
    scratch_name = f"{prefix}_splitk_partials"
    scratch = ((scratch_name, (f"max(1, {split_on} * {splits} * {B_} * {M_} * {N_})",)),)
    bias_arg = (("tensor", bias),) if bias is not None else ()
    strides = tuple(("int", x) for x in (*a_strides, *b_strides))
    # A plan cannot choose a destination tensor by a condition, so two GEMM launches are emitted:
    # the direct one (writes `out`, epilogue applied) and the split one (writes partials to the
    # scratch); whichever does not apply gets zero batch work and a 1x1x1 grid.
    unsplit_on = f"(1 - {split_on})"

    def gemm_grid(on: str, z_work: str) -> tuple[str, ...]:
        return (f"max(1, {on} * ceil_div({N_}, {s.tile_n}))",
                f"max(1, {on} * min(ceil_div({M_}, {s.tile_m}), {GRID_YZ_CAP}))",
                f"max(1, {on} * min({z_work}, {GRID_YZ_CAP}))")

    direct = Launch(
        kernel=f"{prefix}_gemm",
        grid=gemm_grid(unsplit_on, B_),
        block=(str(s.threads),),
        args=(("tensor", a), ("tensor", b), *bias_arg, ("tensor", out),
              ("int", f"{unsplit_on} * {B_}"), ("int", m), ("int", n), ("int", k), *strides,
              ("int", "1"), ("int", k), ("float", float(alpha))),
    )
    split = Launch(
        kernel=f"{prefix}_gemm",
        grid=gemm_grid(split_on, f"{B_} * {splits}"),
        block=(str(s.threads),),
        args=(("tensor", a), ("tensor", b), *bias_arg, ("tensor", scratch_name),
              ("int", f"{split_on} * {B_}"), ("int", m), ("int", n), ("int", k), *strides,
              ("int", splits), ("int", kps), ("float", float(alpha))),
    )
    reduce_total = f"{B_} * {M_} * {N_}"
    reduce = Launch(
        kernel=f"{prefix}_splitk_reduce",
        grid=(f"max(1, {split_on} * min(ceil_div({reduce_total}, {REDUCE_BLOCK}), {GRID_X_CAP}))",),
        block=(str(REDUCE_BLOCK),),
        args=(("tensor", scratch_name), *bias_arg, ("tensor", out), ("int", batch), ("int", m), ("int", n),
              ("int", f"{split_on} * {splits}"), ("float", float(alpha))),
    )
    return Emitted(source=source, launches=(direct, split, reduce), scratch=scratch)


# ---------------------------------------------------------------------------------------------
# Convolution
# ---------------------------------------------------------------------------------------------

_CONV_TEMPLATE = r"""
// Direct @KIND@ convolution, @DIMS@-d, fp32 FFMA with fp32 accumulators.
// Work item w = ((b * CO_BLOCKS) + cob) * OUT_VOL + pos: consecutive threads take consecutive
// output positions (coalesced x loads and out stores; the weights are warp-uniform broadcasts).
// A thread sums @OPT@ output channels of one group at once, loading each input value once.
extern "C" __global__ void __launch_bounds__(@BLOCK@) @PREFIX@_conv(
    const float* __restrict__ x, const float* __restrict__ w, @BIAS_PARAM@ float* __restrict__ out,
    long long nbatch, @SIZE_PARAMS@)
{
    const long long CO_BLOCKS = (long long)@GROUPS@ * @CO_BLOCKS_PER_GROUP@;
    const long long in_vol = @IN_VOL_EXPR@;
    const long long out_vol = @OUT_VOL_EXPR@;
    const long long total = nbatch * CO_BLOCKS * out_vol;
    const long long step = (long long)gridDim.x * blockDim.x;
    for (long long wi = (long long)blockIdx.x * blockDim.x + threadIdx.x; wi < total; wi += step) {
        const long long pos = wi % out_vol;
        const long long rest = wi / out_vol;
        const int cob = (int)(rest % CO_BLOCKS);
        const long long b = rest / CO_BLOCKS;
        const int g = cob / @CO_BLOCKS_PER_GROUP@;
        const int co_local0 = (cob % @CO_BLOCKS_PER_GROUP@) * @OPT@;
        const int n_valid = min(@OPT@, @CPG_OUT@ - co_local0);
        @POS_DECODE@
        float acc[@OPT@];
#pragma unroll
        for (int p = 0; p < @OPT@; ++p) acc[p] = 0.0f;
        // Channels past the group's end (ragged last block) reuse a valid weight row; never stored.
        int wrow[@OPT@];
#pragma unroll
        for (int p = 0; p < @OPT@; ++p) wrow[p] = min(co_local0 + p, @CPG_OUT@ - 1);
        for (int ci = 0; ci < @CPG_IN@; ++ci) {
            const int c = g * @CPG_IN@ + ci;
            const float* __restrict__ xc = x + (b * @C_IN@ + c) * in_vol;
            @LOOPS_OPEN@
                const float xv = xc[@X_OFFSET@];
#pragma unroll
                for (int p = 0; p < @OPT@; ++p) acc[p] = fmaf(xv, w[@W_INDEX@], acc[p]);
            @LOOPS_CLOSE@
        }
#pragma unroll
        for (int p = 0; p < @OPT@; ++p) {
            if (p < n_valid) {
                const int co = g * @CPG_OUT@ + co_local0 + p;
                out[(b * @C_OUT@ + co) * out_vol + pos] = acc[p] @BIAS_EPILOGUE@;
            }
        }
    }
}
"""


def _tup(v: object, dims: int, what: str) -> tuple[int, ...]:
    t = (v,) * dims if isinstance(v, int) else tuple(v)  # type: ignore[arg-type]
    if len(t) == 1 and dims > 1:
        t = t * dims
    if len(t) != dims or not all(isinstance(x, int) for x in t):
        raise ValueError(f"{what} must be an int or {dims} ints, got {v!r}")
    return t


def emit_conv(
    prefix: str,
    *,
    x: str,
    weight: str,
    bias: str | None,
    out: str,
    dims: int,
    n: str,
    c_in: int,
    in_sizes: tuple[str, ...],
    c_out: int,
    out_sizes: tuple[str, ...],
    kernel_size: tuple[int, ...] | int,
    stride: tuple[int, ...] | int,
    padding: tuple[int, ...] | int,
    dilation: tuple[int, ...] | int,
    groups: int,
    transposed: bool,
    output_padding: tuple[int, ...] | int = 0,
    schedule: ConvSchedule,
    pointwise_as_gemm: bool = True,
    gemm_schedule: GemmSchedule | None = None,
) -> Emitted:
    """``out`` (contiguous [n, c_out, *out_sizes]) = conv / conv_transpose of ``x`` with ``weight``.

    ``weight`` is laid out as torch stores it (conv: [c_out, c_in/groups, *k]; transposed:
    [c_in, c_out/groups, *k]). ``output_padding`` only changes the output size, which arrives in
    ``out_sizes``. A pointwise conv goes to :func:`emit_matmul` (``gemm_schedule``, default the
    first of ``GEMM_SCHEDULES``) unless ``pointwise_as_gemm`` is false.
    """
    _check_prefix(prefix)
    if dims not in (1, 2, 3):
        raise ValueError(f"dims must be 1, 2 or 3, got {dims}")
    if len(in_sizes) != dims or len(out_sizes) != dims:
        raise ValueError(f"in_sizes/out_sizes need {dims} entries")
    ks = _tup(kernel_size, dims, "kernel_size")
    st = _tup(stride, dims, "stride")
    pd = _tup(padding, dims, "padding")
    dl = _tup(dilation, dims, "dilation")
    _tup(output_padding, dims, "output_padding")
    if groups < 1 or c_in % groups or c_out % groups:
        raise ValueError(f"groups={groups} must divide c_in={c_in} and c_out={c_out}")
    if min(ks) < 1 or min(st) < 1 or min(dl) < 1 or min(pd) < 0:
        raise ValueError(f"bad conv geometry: kernel {ks}, stride {st}, padding {pd}, dilation {dl}")

    if (pointwise_as_gemm and not transposed and groups == 1 and all(v == 1 for v in ks)
            and all(v == 1 for v in st) and all(v == 0 for v in pd)):
        vol = " * ".join(_p(sz) for sz in in_sizes)
        # out[b, co, s] = sum_ci W[co, ci] * x[b, ci, s]: batch b, rows co, columns s, k = ci.
        return emit_matmul(prefix, a=weight, b=x, out=out, batch=n, m=str(c_out), n=vol, k=str(c_in),
                           a_strides=("0", str(c_in), "1"), b_strides=(f"{c_in} * {_p(vol)}", vol, "1"),
                           bias=bias, schedule=gemm_schedule or GEMM_SCHEDULES[0], bias_along="m")

    opt = schedule.out_per_thread
    cpg_in, cpg_out = c_in // groups, c_out // groups
    co_blocks_per_group = -(-cpg_out // opt)
    kvol = math.prod(ks)
    axes = "dhw"[3 - dims:]
    size_params = ", ".join([f"long long I{a}" for a in axes] + [f"long long O{a}" for a in axes])

    # Output position -> per-axis coordinates.
    dec = []
    for i, a in enumerate(axes):
        inner = " * ".join(f"O{b_}" for b_ in axes[i + 1:]) or "1"
        wrap = f" % O{a}" if i else ""
        dec.append(f"const long long o{a} = (pos / ({inner})){wrap};")
    pos_decode = "\n        ".join(dec)

    opens, closes = [], []
    indent = "            "
    for i, a in enumerate(axes):
        opens.append(f"{indent}#pragma unroll\n{indent}for (int k{a} = 0; k{a} < {ks[i]}; ++k{a}) {{")
        if not transposed:
            opens.append(f"{indent}    const long long i{a} = o{a} * {st[i]} - {pd[i]} + (long long)k{a} * {dl[i]};")
            opens.append(f"{indent}    if (i{a} < 0 || i{a} >= I{a}) continue;")
        else:
            # Gather: input i feeds output o = i*stride - pad + k*dil, so i = (o + pad - k*dil) / stride.
            opens.append(f"{indent}    const long long t{a} = o{a} + {pd[i]} - (long long)k{a} * {dl[i]};")
            if st[i] == 1:
                opens.append(f"{indent}    const long long i{a} = t{a};")
            else:
                opens.append(f"{indent}    if (t{a} < 0 || t{a} % {st[i]} != 0) continue;")
                opens.append(f"{indent}    const long long i{a} = t{a} / {st[i]};")
            opens.append(f"{indent}    if (i{a} < 0 || i{a} >= I{a}) continue;")
        closes.append(f"{indent}}}")
    x_off = ""
    for i, a in enumerate(axes):
        x_off = f"i{a}" if i == 0 else f"({x_off}) * I{a} + i{a}"
    k_idx = ""
    for i, a in enumerate(axes):
        k_idx = f"k{a}" if i == 0 else f"({k_idx}) * {ks[i]} + k{a}"
    if not transposed:
        w_index = f"((long long)(g * {cpg_out} + wrow[p]) * {cpg_in} + ci) * {kvol} + {k_idx}"
    else:
        w_index = f"((long long)c * {cpg_out} + wrow[p]) * {kvol} + {k_idx}"
    in_vol = " * ".join(f"I{a}" for a in axes)
    out_vol = " * ".join(f"O{a}" for a in axes)

    subs = dict((
        ("POS_DECODE", pos_decode), ("LOOPS_OPEN", "\n".join(opens).strip()),
        ("LOOPS_CLOSE", "\n".join(reversed(closes)).strip()), ("X_OFFSET", x_off), ("W_INDEX", w_index),
        ("SIZE_PARAMS", size_params), ("IN_VOL_EXPR", in_vol), ("OUT_VOL_EXPR", out_vol),
        ("CO_BLOCKS_PER_GROUP", str(co_blocks_per_group)), ("GROUPS", str(groups)),
        ("CPG_IN", str(cpg_in)), ("CPG_OUT", str(cpg_out)), ("C_IN", str(c_in)), ("C_OUT", str(c_out)),
        ("OPT", str(opt)), ("BLOCK", str(schedule.block)), ("KIND", "transposed" if transposed else "forward"),
        ("DIMS", str(dims)),
        ("BIAS_PARAM", "const float* __restrict__ bias," if bias is not None else ""),
        ("BIAS_EPILOGUE", " + bias[co]" if bias is not None else ""),
        ("PREFIX", prefix),
    ))
    src = re.sub(r"@([A-Z_]+)@", lambda mt: subs[mt.group(1)], _CONV_TEMPLATE)
    header = (f"// kernelwright builtin conv ({prefix}): {'transposed ' if transposed else ''}{dims}d, "
              f"c_in={c_in} c_out={c_out} kernel={ks} stride={st} padding={pd} dilation={dl} groups={groups}; "
              f"block={schedule.block} out_per_thread={opt}.\n")
    total = f"{_p(n)} * {groups * co_blocks_per_group} * " + " * ".join(_p(o) for o in out_sizes)
    launch = Launch(
        kernel=f"{prefix}_conv",
        grid=(f"max(1, min(ceil_div({total}, {schedule.block}), {GRID_X_CAP}))",),
        block=(str(schedule.block),),
        args=(("tensor", x), ("tensor", weight), *((("tensor", bias),) if bias is not None else ()),
              ("tensor", out), ("int", n), *(("int", s_) for s_ in in_sizes), *(("int", s_) for s_ in out_sizes)),
    )
    return Emitted(source=header + src, launches=(launch,))


# ---------------------------------------------------------------------------------------------
# Plan assembly
# ---------------------------------------------------------------------------------------------


def append_to_plan(plan: object, emitted: Emitted) -> None:
    """Add ``emitted``'s scratch allocations and launch steps to a ``kernel_pb2.LaunchPlan``.

    The caller adds the output (and any other) allocations; scratch names are prefixed by the
    emitter, so several emitted pieces can share one plan.
    """
    for name, shape in emitted.scratch:
        alloc = plan.allocations.add(name=name, dtype="float32", is_output=False)  # type: ignore[attr-defined]
        for d in shape:
            alloc.shape.add(expr=d)
    for ln in emitted.launches:
        step = plan.steps.add()  # type: ignore[attr-defined]
        kl = step.launch
        kl.kernel = ln.kernel
        for g in ln.grid:
            kl.grid.add(expr=g)
        for b in ln.block:
            kl.block.add(expr=b)
        kl.dynamic_shared_bytes = ln.dynamic_shared_bytes
        for kind, value in ln.args:
            arg = kl.args.add()
            if kind == "tensor":
                arg.tensor = str(value)
            elif kind == "int":
                arg.int_expr.expr = str(value)
            elif kind == "float":
                arg.float_value = float(value)  # type: ignore[arg-type]
            else:
                raise ValueError(f"unknown launch argument kind {kind!r}")
