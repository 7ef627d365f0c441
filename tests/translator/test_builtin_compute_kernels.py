"""Our GEMM and convolution kernels (``kernelwright.translator.builtin.compute_kernels``).

* every schedule compiles (NVRTC, else nvcc; compile only) and its launches make a valid plan;
* numerics on the CPU against torch for small odd shapes: the CUDA source is compiled as host C++
  by g++ and run by a cooperative emulator in this file: every CUDA thread of a block is a fiber
  (``ucontext``) and ``__syncthreads`` switches back to a scheduler that runs all threads of the
  block up to their next barrier, so shared-memory kernels see CUDA's barrier semantics.
  ``__shared__`` becomes a function-local ``static`` (one copy, blocks run one after another).
"""

from __future__ import annotations

import ctypes
import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from kernelwright.common.v1 import kernel_pb2
from kernelwright.gpu_evaluator import plan as plan_mod
from kernelwright.translator.builtin.compute_kernels import (
    CONV_SCHEDULES,
    GEMM_SCHEDULES,
    ConvSchedule,
    Emitted,
    GemmSchedule,
    append_to_plan,
    emit_conv,
    emit_matmul,
)

# ---------------------------------------------------------------------------------------------
# Fiber emulator
# ---------------------------------------------------------------------------------------------

_PRELUDE = r"""
#include <ucontext.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <vector>
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __restrict__ __restrict
#define __launch_bounds__(...)
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))
struct alignas(8) float2 { float x, y; };
struct alignas(16) float4 { float x, y, z, w; };
static inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
struct kw_uint3 { unsigned x, y, z; };
static kw_uint3 blockIdx, threadIdx, blockDim, gridDim;
static inline int min(int a, int b) { return a < b ? a : b; }
static inline int max(int a, int b) { return a > b ? a : b; }

static ucontext_t kw_sched;
static std::vector<ucontext_t> kw_ctx;
static std::vector<char*> kw_stacks;
static std::vector<char> kw_done;
static unsigned kw_cur;
static unsigned long long kw_barriers;
static void (*kw_fn)(void*);
static void* kw_fn_args;
static const size_t KW_STACK = 1 << 16;

static void __syncthreads() { ++kw_barriers; swapcontext(&kw_ctx[kw_cur], &kw_sched); }
static void kw_tramp() { kw_fn(kw_fn_args); kw_done[kw_cur] = 1; }

static void kw_run(void (*fn)(void*), void* args, unsigned gx, unsigned gy, unsigned gz,
                   unsigned bx, unsigned by, unsigned bz) {
    const unsigned nt = bx * by * bz;
    kw_fn = fn; kw_fn_args = args;
    if (kw_ctx.size() < nt) kw_ctx.resize(nt);
    while (kw_stacks.size() < nt) kw_stacks.push_back((char*)malloc(KW_STACK));
    kw_done.assign(nt, 0);
    gridDim = {gx, gy, gz}; blockDim = {bx, by, bz};
    for (unsigned z = 0; z < gz; ++z) for (unsigned y = 0; y < gy; ++y) for (unsigned x = 0; x < gx; ++x) {
        blockIdx = {x, y, z};
        for (unsigned t = 0; t < nt; ++t) {
            getcontext(&kw_ctx[t]);
            kw_ctx[t].uc_stack.ss_sp = kw_stacks[t];
            kw_ctx[t].uc_stack.ss_size = KW_STACK;
            kw_ctx[t].uc_link = &kw_sched;
            makecontext(&kw_ctx[t], kw_tramp, 0);
            kw_done[t] = 0;
        }
        unsigned live = nt;
        while (live) {  // one round = every live thread runs to its next barrier (or exits)
            for (unsigned t = 0; t < nt; ++t) {
                if (kw_done[t]) continue;
                kw_cur = t;
                threadIdx = {t % bx, (t / bx) % by, t / (bx * by)};
                swapcontext(&kw_sched, &kw_ctx[t]);
                if (kw_done[t]) --live;
            }
        }
    }
}
extern "C" unsigned long long kw_barrier_count() { return kw_barriers; }
"""

_BUILD_DIR = Path(tempfile.mkdtemp(prefix="kw_fiber_emu_"))
_LIBS: dict[str, tuple[ctypes.CDLL, dict]] = {}


def _ctype(p: plan_mod.KernelParam) -> tuple[str, type]:
    if p.is_pointer:
        return "void*", ctypes.c_void_p
    if p.ctype == "float":
        return "float", ctypes.c_float
    if p.ctype in ("int", "unsigned", "unsigned int"):
        return p.ctype, ctypes.c_int
    return "long long", ctypes.c_longlong


def _build(source: str) -> tuple[ctypes.CDLL, dict]:
    sigs = plan_mod.parse_kernel_signatures(source)
    entries = []
    for name, params in sigs.items():
        fields, decl, call, pass_ = [], [], [], []
        for j, p in enumerate(params):
            ct, _ = _ctype(p)
            fields.append(f"{ct} a{j};")
            decl.append(f"{ct} a{j}")
            pass_.append(f"a{j}")
            call.append(f"({'const ' if 'const' in p.text.split('*')[0] else ''}{p.ctype}*)a->a{j}"
                        if p.is_pointer else f"a->a{j}")
        entries.append(
            f"struct kw_args_{name} {{ {' '.join(fields)} }};\n"
            f"static void kw_body_{name}(void* p) {{ kw_args_{name}* a = (kw_args_{name}*)p; "
            f"{name}({', '.join(call)}); }}\n"
            f'extern "C" void kw_launch_{name}(unsigned gx, unsigned gy, unsigned gz, unsigned bx, '
            f'unsigned by, unsigned bz{"".join(", " + d for d in decl)}) {{\n'
            f"    kw_args_{name} args = {{{', '.join(pass_)}}};\n"
            f"    kw_run(kw_body_{name}, &args, gx, gy, gz, bx, by, bz);\n}}\n")
    full = _PRELUDE + "\n" + source + "\n" + "\n".join(entries)
    key = hashlib.sha256(full.encode()).hexdigest()[:24]
    if key not in _LIBS:
        src, lib = _BUILD_DIR / f"{key}.cpp", _BUILD_DIR / f"{key}.so"
        src.write_text(full)
        proc = subprocess.run(["g++", "-O1", "-std=c++17", "-shared", "-fPIC", "-w", "-o", str(lib), str(src)],
                              capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            raise RuntimeError(f"g++ failed:\n{proc.stderr[-4000:]}")
        _LIBS[key] = (ctypes.CDLL(str(lib)), sigs)
    return _LIBS[key]


def _plan(emitted: Emitted, out_shape_exprs: tuple[str, ...], out: str = "out") -> kernel_pb2.LaunchPlan:
    plan = kernel_pb2.LaunchPlan()
    alloc = plan.allocations.add(name=out, dtype="float32", is_output=True)
    for d in out_shape_exprs:
        alloc.shape.add(expr=d)
    append_to_plan(plan, emitted)
    return plan


def run_emitted(emitted: Emitted, out_shape: tuple[str, ...], inputs: list[torch.Tensor],
                params: dict[str, torch.Tensor] | None = None, *, shrink_grid: bool = False) -> torch.Tensor:
    """Resolve the plan for these inputs and run every launch on the CPU; returns ``out``.

    ``shrink_grid``: launch a 1x1x1 grid whatever the plan says, to prove that the kernels'
    grid-stride / grid.y / grid.z loops cover all the work (as when a dimension hits 65535).
    """
    params = params or {}
    dll, sigs = _build(emitted.source)
    plan = _plan(emitted, out_shape)
    bindings = {f"in{i}": plan_mod.ShapeInfo(tuple(t.shape)) for i, t in enumerate(inputs)}
    pinfo = {k: plan_mod.ShapeInfo(tuple(v.shape)) for k, v in params.items()}
    rp = plan_mod.resolve(plan, bindings, pinfo, signatures=sigs)
    tensors: dict[str, torch.Tensor] = {f"in{i}": t.contiguous() for i, t in enumerate(inputs)}
    tensors.update({k: v.contiguous() for k, v in params.items()})
    for a in rp.allocations:
        tensors[a.name] = torch.full(a.shape, float("nan"), dtype=torch.float32)
    for st in rp.steps:
        assert isinstance(st, plan_mod.ResolvedLaunch)
        fn = getattr(dll, f"kw_launch_{st.kernel}")
        grid = (1, 1, 1) if shrink_grid else st.grid
        argtypes: list[type] = [ctypes.c_uint] * 6
        values: list[object] = [*grid, *st.block]
        for p, a in zip(sigs[st.kernel], st.args):
            _, ct = _ctype(p)
            argtypes.append(ct)
            values.append(tensors[a.value].data_ptr() if p.is_pointer else a.value)
        fn.argtypes, fn.restype = argtypes, None
        fn(*values)
    return tensors["out"]


needs_gxx = pytest.mark.skipif(shutil.which("g++") is None, reason="g++ not on PATH")


def _close(got: torch.Tensor, want: torch.Tensor) -> None:
    assert not torch.isnan(got).any(), "unwritten (NaN-poisoned) output elements"
    torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)


# ---------------------------------------------------------------------------------------------
# GEMM
# ---------------------------------------------------------------------------------------------


def _gemm(schedule: GemmSchedule, *, batch_b: bool = False, trans_a: bool = False, trans_b: bool = False,
          bias: bool = False, alpha: float = 1.0, split_k_chunk: int | None = None) -> Emitted:
    """A 3-d batched GEMM over in0 [B, M, K] (or [B, K, M] when trans_a) and in1 ([B, K, N],
    [B, N, K] when trans_b, or 2-d when broadcast over the batch)."""
    a_strides = ("in0.shape[1] * in0.shape[2]", "1", "in0.shape[2]") if trans_a else \
        ("in0.shape[1] * in0.shape[2]", "in0.shape[2]", "1")
    m = "in0.shape[2]" if trans_a else "in0.shape[1]"
    k = "in0.shape[1]" if trans_a else "in0.shape[2]"
    if batch_b:
        b_strides = ("0", "1", "in1.shape[1]") if trans_b else ("0", "in1.shape[1]", "1")
        n = "in1.shape[0]" if trans_b else "in1.shape[1]"
    else:
        b_strides = (("in1.shape[1] * in1.shape[2]", "1", "in1.shape[2]") if trans_b
                     else ("in1.shape[1] * in1.shape[2]", "in1.shape[2]", "1"))
        n = "in1.shape[1]" if trans_b else "in1.shape[2]"
    kw = {} if split_k_chunk is None else {"split_k_chunk": split_k_chunk}
    return emit_matmul("kwg", a="in0", b="in1", out="out", batch="in0.shape[0]", m=m, n=n, k=k,
                       a_strides=a_strides, b_strides=b_strides, bias="lin_bias" if bias else None,
                       alpha=alpha, schedule=schedule, **kw)


def _gemm_case(schedule: GemmSchedule, B: int, M: int, N: int, K: int, seed: int = 0, **opts) -> None:
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(B, M, K, generator=g)
    b = torch.randn(N, K, generator=g).T if opts.get("batch_b") else torch.randn(B, K, N, generator=g)
    a_in = a.transpose(1, 2).contiguous() if opts.get("trans_a") else a
    if opts.get("batch_b"):
        b_in = b.T.contiguous() if opts.get("trans_b") else b.contiguous()
    else:
        b_in = b.transpose(1, 2).contiguous() if opts.get("trans_b") else b
    bias = torch.randn(N, generator=g)
    params = {"lin_bias": bias} if opts.get("bias") else {}
    em = _gemm(schedule, **opts)
    got = run_emitted(em, ("in0.shape[0]", "in0.shape[2]" if opts.get("trans_a") else "in0.shape[1]",
                           "in1.shape[0]" if (opts.get("batch_b") and opts.get("trans_b")) else
                           "in1.shape[1]" if opts.get("batch_b") or opts.get("trans_b") else "in1.shape[2]"),
                      [a_in, b_in], params)
    want = opts.get("alpha", 1.0) * torch.matmul(a.double(), b.double())
    if opts.get("bias"):
        want = want + bias.double()
    _close(got, want.float())


@needs_gxx
@pytest.mark.parametrize("schedule", GEMM_SCHEDULES, ids=lambda s: f"{s.tile_m}x{s.tile_n}x{s.tile_k}")
def test_gemm_odd_shapes_every_schedule(schedule: GemmSchedule) -> None:
    _gemm_case(schedule, 2, 37, 45, 53)
    _gemm_case(schedule, 1, 1, 1, 1, seed=1)
    _gemm_case(schedule, 1, schedule.tile_m + 3, schedule.tile_n - 1, 2 * schedule.tile_k + 1, seed=2)
    # n % 4 == 0: whole column groups take the float4 store, past the first column tile too.
    _gemm_case(schedule, 1, 5, schedule.tile_n + 4, 17, seed=3, bias=True)


@needs_gxx
@pytest.mark.parametrize("opts", [
    {"trans_a": True},
    {"trans_b": True},
    {"trans_a": True, "trans_b": True},
    {"batch_b": True},
    {"batch_b": True, "trans_b": True},
    {"bias": True, "alpha": -0.75},
], ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
def test_gemm_layouts_bias_alpha(opts: dict) -> None:
    _gemm_case(GEMM_SCHEDULES[1], 3, 19, 27, 41, **opts)


@needs_gxx
@pytest.mark.parametrize("schedule", [GEMM_SCHEDULES[0], GEMM_SCHEDULES[4]], ids=["128x128", "32x32"])
def test_gemm_split_k_matches_and_adds_bias_once(schedule: GemmSchedule) -> None:
    em = _gemm(schedule, split_k_chunk=2 * schedule.tile_k, bias=True, alpha=0.5)
    plan = _plan(em, ("in0.shape[0]", "in0.shape[1]", "in1.shape[2]"))
    rp = plan_mod.resolve(plan, {"in0": plan_mod.ShapeInfo((2, 9, 203)), "in1": plan_mod.ShapeInfo((2, 203, 11))},
                          {"lin_bias": plan_mod.ShapeInfo((11,))})
    split_launch = rp.steps[1]
    assert split_launch.args[-3].value > 1, "this shape must take the split-K path"
    assert rp.steps[0].grid == (1, 1, 1) and _batch_arg(rp.steps[0]) == 0, "direct launch must be a no-op"
    _gemm_case(schedule, 2, 9, 11, 203, bias=True, alpha=0.5, split_k_chunk=2 * schedule.tile_k)


@needs_gxx
def test_gemm_loops_cover_a_clamped_grid() -> None:
    # grid.y / grid.z capped at 65535 on real shapes; a 1x1x1 grid must still produce everything.
    for chunk in (None, 16):
        em = _gemm(GEMM_SCHEDULES[4], split_k_chunk=chunk) if chunk else _gemm(GEMM_SCHEDULES[4])
        g = torch.Generator().manual_seed(5)
        a, b = torch.randn(3, 70, 64, generator=g), torch.randn(3, 64, 20, generator=g)
        got = run_emitted(em, ("in0.shape[0]", "in0.shape[1]", "in1.shape[2]"), [a, b], shrink_grid=True)
        # grid.x is not looped (never capped); N=20 fits in the one 32-wide column tile.
        _close(got, (a.double() @ b.double()).float())


def _batch_arg(launch: plan_mod.ResolvedLaunch) -> int:
    """The GEMM's batch argument (its first integer); 0 marks the launch as a no-op."""
    return next(a.value for a in launch.args if a.kind != "tensor")


def test_gemm_split_count_on_kernelbench_shapes() -> None:
    em = _gemm(GEMM_SCHEDULES[0])
    plan = _plan(em, ("in0.shape[0]", "in0.shape[1]", "in1.shape[2]"))
    big_k = plan_mod.resolve(plan, {"in0": plan_mod.ShapeInfo((1, 256, 524288)),
                                    "in1": plan_mod.ShapeInfo((1, 524288, 256))}, {})
    assert big_k.steps[1].args[-3].value == 64  # 6_Matmul_with_large_K_dimension_: 8192 k per split
    assert _batch_arg(big_k.steps[0]) == 0
    square = plan_mod.resolve(plan, {"in0": plan_mod.ShapeInfo((1, 4096, 4096)),
                                     "in1": plan_mod.ShapeInfo((1, 4096, 4096))}, {})
    assert _batch_arg(square.steps[1]) == 0 and _batch_arg(square.steps[0]) == 1  # no split
    assert square.allocations[1].shape == (1,)  # no scratch to speak of
    assert square.steps[2].grid == (1, 1, 1)


# ---------------------------------------------------------------------------------------------
# Convolution
# ---------------------------------------------------------------------------------------------

# (dims, n, c_in, c_out, in_sizes, kernel, stride, padding, dilation, groups, transposed, output_padding, bias)
CONV_CASES = {
    "1d_plain": (1, 2, 3, 5, (17,), (3,), 1, 0, 1, 1, False, 0, True),
    "1d_dilated_strided": (1, 2, 4, 6, (23,), (3,), 3, 2, 2, 2, False, 0, False),
    "2d_asym": (2, 2, 3, 7, (9, 11), (3, 5), (2, 1), (1, 2), (1, 2), 1, False, 0, True),
    "2d_depthwise": (2, 1, 6, 6, (8, 7), (3, 3), 1, 1, 1, 6, False, 0, False),
    "2d_depthwise_mult": (2, 2, 3, 6, (7, 8), (3, 2), (2, 2), 0, 1, 3, False, 0, True),
    "2d_pointwise_gemm": (2, 2, 5, 7, (6, 5), (1, 1), 1, 0, 1, 1, False, 0, True),
    "2d_pointwise_strided": (2, 2, 5, 3, (6, 5), (1, 1), 2, 0, 1, 1, False, 0, False),
    "3d_asym": (3, 1, 2, 3, (5, 6, 7), (2, 3, 1), (1, 2, 1), (0, 1, 0), 1, 1, False, 0, True),
    "1d_transposed": (1, 2, 4, 3, (9,), (3,), 1, 0, 1, 1, True, 0, True),
    "1d_transposed_s_p_d": (1, 2, 4, 6, (7,), (3,), 3, 2, 2, 2, True, 1, False),
    "2d_transposed_grouped": (2, 2, 4, 6, (5, 6), (3, 2), (2, 3), (1, 0), (2, 1), 2, True, (1, 2), True),
    "3d_transposed": (3, 1, 2, 4, (3, 4, 3), (3, 3, 2), (2, 1, 2), (1, 1, 0), 1, 2, True, (1, 0, 1), False),
}


def _pad(v, dims):
    return (v,) * dims if isinstance(v, int) else tuple(v)


def _conv_case(case: tuple, schedule: ConvSchedule, *, shrink_grid: bool = False, seed: int = 0) -> None:
    dims, n, c_in, c_out, in_sizes, ks, stride, pad, dil, groups, transposed, out_pad, has_bias = case
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, c_in, *in_sizes, generator=g)
    wshape = (c_in, c_out // groups, *ks) if transposed else (c_out, c_in // groups, *ks)
    w = torch.randn(*wshape, generator=g)
    bias = torch.randn(c_out, generator=g) if has_bias else None
    s_, p_, d_, op_ = (_pad(v, dims) for v in (stride, pad, dil, out_pad))
    if transposed:
        fn = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[dims]
        want = fn(x.double(), w.double(), None if bias is None else bias.double(), s_, p_, op_, groups, d_)
        out_sizes = tuple(f"(in0.shape[{2 + i}] - 1) * {s_[i]} - 2 * {p_[i]} + {d_[i]} * ({ks[i]} - 1) + {op_[i]} + 1"
                          for i in range(dims))
    else:
        fn = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[dims]
        want = fn(x.double(), w.double(), None if bias is None else bias.double(), s_, p_, d_, groups)
        out_sizes = tuple(f"(in0.shape[{2 + i}] + 2 * {p_[i]} - {d_[i]} * ({ks[i]} - 1) - 1) // {s_[i]} + 1"
                          for i in range(dims))
    em = emit_conv("kwc", x="in0", weight="conv_weight", bias="conv_bias" if has_bias else None, out="out",
                   dims=dims, n="in0.shape[0]", c_in=c_in, in_sizes=tuple(f"in0.shape[{2 + i}]" for i in range(dims)),
                   c_out=c_out, out_sizes=out_sizes, kernel_size=ks, stride=stride, padding=pad, dilation=dil,
                   groups=groups, transposed=transposed, output_padding=out_pad, schedule=schedule,
                   gemm_schedule=GEMM_SCHEDULES[4])
    params = {"conv_weight": w, **({"conv_bias": bias} if bias is not None else {})}
    got = run_emitted(em, ("in0.shape[0]", str(c_out), *out_sizes), [x], params, shrink_grid=shrink_grid)
    assert got.shape == want.shape
    _close(got, want.float())


@needs_gxx
@pytest.mark.parametrize("case", list(CONV_CASES), ids=list(CONV_CASES))
def test_conv_matches_torch(case: str) -> None:
    _conv_case(CONV_CASES[case], CONV_SCHEDULES[0])


@needs_gxx
@pytest.mark.parametrize("schedule", CONV_SCHEDULES, ids=lambda s: f"b{s.block}_opt{s.out_per_thread}")
def test_conv_every_schedule_ragged_channel_blocks(schedule: ConvSchedule) -> None:
    # 5 channels per group: out_per_thread 2/4/8 leave a ragged last block.
    _conv_case((2, 2, 4, 10, (6, 7), (3, 3), 2, 1, 1, 2, False, 0, True), schedule, seed=3)
    _conv_case((2, 2, 4, 10, (4, 5), (3, 3), 2, 1, 1, 2, True, 1, True), schedule, seed=4)


@needs_gxx
def test_conv_grid_stride_covers_a_clamped_grid() -> None:
    _conv_case(CONV_CASES["2d_asym"], ConvSchedule(64, 2), shrink_grid=True)


def test_pointwise_conv_routes_to_gemm_and_others_do_not() -> None:
    common = dict(x="in0", weight="w", bias=None, out="out", n="in0.shape[0]", c_in=4, c_out=8,
                  in_sizes=("in0.shape[2]", "in0.shape[3]"), out_sizes=("in0.shape[2]", "in0.shape[3]"),
                  stride=1, padding=0, dilation=1, groups=1, transposed=False, output_padding=0,
                  schedule=CONV_SCHEDULES[0], dims=2)
    pw = emit_conv("p", kernel_size=1, **common)
    assert [ln.kernel for ln in pw.launches] == ["p_gemm", "p_gemm", "p_splitk_reduce"]
    direct = emit_conv("p", kernel_size=1, **{**common, "pointwise_as_gemm": False})
    assert [ln.kernel for ln in direct.launches] == ["p_conv"]


def test_bad_arguments_are_rejected() -> None:
    with pytest.raises(ValueError):
        GemmSchedule(128, 128, 8, 3, 8)
    with pytest.raises(ValueError):
        ConvSchedule(100, 4)
    with pytest.raises(ValueError):
        emit_conv("c", x="in0", weight="w", bias=None, out="out", dims=2, n="1", c_in=3, in_sizes=("4", "4"),
                  c_out=4, out_sizes=("2", "2"), kernel_size=3, stride=1, padding=0, dilation=1, groups=2,
                  transposed=False, output_padding=0, schedule=CONV_SCHEDULES[0])
    with pytest.raises(ValueError):
        emit_matmul("9bad", a="in0", b="in1", out="out", batch="1", m="1", n="1", k="1",
                    a_strides=("0", "1", "1"), b_strides=("0", "1", "1"), schedule=GEMM_SCHEDULES[0])


# ---------------------------------------------------------------------------------------------
# Compile (no GPU) and plan validity
# ---------------------------------------------------------------------------------------------


def _compiler_ok() -> bool:
    from kernelwright.gpu_evaluator.nvrtc_build import nvcc_path, nvrtc_available

    return nvrtc_available() or nvcc_path() is not None


def _all_emitted() -> list[tuple[str, Emitted, tuple[str, ...]]]:
    out = []
    for s in GEMM_SCHEDULES:
        out.append((f"gemm_{s.tile_m}x{s.tile_n}x{s.tile_k}", _gemm(s, bias=True),
                    ("in0.shape[0]", "in0.shape[1]", "in1.shape[2]")))
    for s in CONV_SCHEDULES:
        for name in ("3d_asym", "2d_transposed_grouped", "1d_dilated_strided"):
            dims, n, c_in, c_out, in_sizes, ks, st, pd, dl, gr, tr, op, hb = CONV_CASES[name]
            em = emit_conv("kwc", x="in0", weight="conv_weight", bias="conv_bias" if hb else None, out="out",
                           dims=dims, n="in0.shape[0]", c_in=c_in,
                           in_sizes=tuple(f"in0.shape[{2 + i}]" for i in range(dims)), c_out=c_out,
                           out_sizes=tuple(f"in0.shape[{2 + i}]" for i in range(dims)), kernel_size=ks,
                           stride=st, padding=pd, dilation=dl, groups=gr, transposed=tr, output_padding=op,
                           schedule=s)
            out.append((f"conv_{name}_b{s.block}_{s.out_per_thread}", em,
                        ("in0.shape[0]", str(c_out), *(f"in0.shape[{2 + i}]" for i in range(dims)))))
    return out


@pytest.mark.skipif(not _compiler_ok(), reason="neither NVRTC nor nvcc is usable")
def test_every_schedule_compiles_for_sm90() -> None:
    from kernelwright.gpu_evaluator.nvrtc_build import compile_cuda

    failures = []
    for name, em, _ in _all_emitted():
        res = compile_cuda(em.source, arch="sm_90a", use_cache=False)
        if not res.ok:
            failures.append(f"{name}:\n{res.log}")
        else:
            assert set(plan_mod.parse_kernel_signatures(em.source)) <= set(res.kernels) | {
                ln.kernel for ln in em.launches}
    assert not failures, "\n\n".join(failures)


def test_every_emitted_plan_validates() -> None:
    for name, em, out_shape in _all_emitted():
        plan = _plan(em, out_shape)
        plan_mod.validate_plan(plan, input_names=["in0", "in1"], param_names=["conv_weight", "conv_bias", "lin_bias"],
                               kernels=plan_mod.parse_kernel_signatures(em.source))
        assert all(ln.kernel.startswith("kw") for ln in em.launches), name


def test_evaluator_static_checks_accept_every_emitted_candidate() -> None:
    from kernelwright.gpu_evaluator.static_checks import static_verdict_checks

    for name, em, out_shape in _all_emitted():
        cand = kernel_pb2.KernelCandidate(format=kernel_pb2.CANDIDATE_FORMAT_FAST, cuda_source=em.source,
                                          proposer="builtin")
        cand.plan.CopyFrom(_plan(em, out_shape))
        findings = static_verdict_checks(cand, fp32_task=True, input_names=["in0", "in1"],
                                         param_names=["conv_weight", "conv_bias", "lin_bias"])
        failed = [f for f in findings if not f.passed]
        assert not failed, (name, failed)
