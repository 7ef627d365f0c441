"""Run simple fast-format CUDA candidates on the CPU (tests only; no GPU needed).

Supported kernels: grid-stride style code using only the x components of ``blockIdx``,
``blockDim``, ``threadIdx`` and ``gridDim``; no shared memory, ``__syncthreads`` or warp
intrinsics (threads run one after another, so inter-thread communication would be wrong).
Library calls of the plan run through torch on the CPU; parameters are bound by name.

Block-cooperative kernels (``__shared__``, ``__syncthreads``, ``__shfl_xor_sync``) run in a
second mode: one OS thread per CUDA thread of a block (blocks one after another), ``__shared__``
as function statics (one block at a time, so that is the block's shared memory), a block-wide
barrier for ``__syncthreads`` and a per-warp exchange (two barriers) for ``__shfl_xor_sync``.
The ``.cu`` is compiled as host C++ with g++ behind a prelude that defines the CUDA keywords,
``float4`` and the thread-index globals; a generated ``extern "C"`` entry per kernel loops
``blockIdx.x`` over the grid and ``threadIdx.x`` over the block. The plan is resolved with
``kernelwright.gpu_evaluator.plan.resolve``; outputs are allocated NaN-filled like the evaluator's.
"""

from __future__ import annotations

import ctypes
import hashlib
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import torch

from kernelwright.gpu_evaluator import plan as plan_mod

_FORBIDDEN = re.compile(r"atomic[A-Z]|blockIdx\.[yz]|threadIdx\.[yz]|__shfl_(?!xor_sync)|__shfl_xor_sync\(0x(?!ffffffff)")
_COOPERATIVE = re.compile(r"__shared__|__syncthreads|__shfl")

PRELUDE = r"""
#include <cmath>
#include <cstdint>
#include <cstring>
#include <barrier>
#include <thread>
#include <vector>
#include <memory>
using std::isnan;
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __restrict__ __restrict
#define __launch_bounds__(...)
struct float4 { float x, y, z, w; };
struct kw_uint3 { unsigned int x, y, z; };
static kw_uint3 blockIdx, blockDim, gridDim;
static thread_local kw_uint3 threadIdx;
#define __shared__ static
static std::barrier<>* kw_block_barrier = nullptr;
static std::vector<std::unique_ptr<std::barrier<>>> kw_warp_barriers;
static long long kw_lane_slots[1024];
static inline void __syncthreads() { kw_block_barrier->arrive_and_wait(); }
template <class T>
static inline T __shfl_xor_sync(unsigned, T v, int lane_mask) {
    static_assert(sizeof(T) <= 8, "shuffle of a wide type");
    const unsigned t = threadIdx.x, base = t & ~31u;
    std::barrier<>& wb = *kw_warp_barriers[t >> 5];
    long long bits = 0; std::memcpy(&bits, &v, sizeof(T));
    kw_lane_slots[t] = bits;
    wb.arrive_and_wait();
    const long long other = kw_lane_slots[base + ((t & 31u) ^ (unsigned)lane_mask)];
    wb.arrive_and_wait();
    T r; std::memcpy(&r, &other, sizeof(T));
    return r;
}
static inline float rsqrtf(float v) { return 1.0f / std::sqrt(v); }
static inline float __int_as_float(unsigned int u) { float f; std::memcpy(&f, &u, 4); return f; }
using std::min;
using std::max;
"""

_CTYPES = {"pointer": ctypes.c_void_p, "int": ctypes.c_longlong, "float": ctypes.c_double}
_CACHE: dict[str, ctypes.CDLL] = {}
_BUILD_DIR = Path(tempfile.mkdtemp(prefix="kw_cuda_emu_"))


def available() -> bool:
    return shutil.which("g++") is not None


def _c_scalar(ctype: str) -> tuple[str, type]:
    if ctype in ("float",):
        return "float", ctypes.c_float
    if ctype in ("double",):
        return "double", ctypes.c_double
    if ctype in ("int", "int32_t", "unsigned", "unsigned int", "uint32_t"):
        return ctype, ctypes.c_int
    return ctype, ctypes.c_longlong


def _threaded_entry(name: str, params: list[plan_mod.KernelParam]) -> str:
    decl, call = [], []
    for j, p in enumerate(params):
        if p.is_pointer:
            decl.append(f"void* a{j}")
            qual = "const " if "const" in p.text.split("*")[0] else ""
            call.append(f"({qual}{p.ctype}*)a{j}")
        else:
            ct, _ = _c_scalar(p.ctype)
            decl.append(f"{ct} a{j}")
            call.append(f"a{j}")
    return (
        f'extern "C" void kw_launch_{name}(unsigned grid, unsigned block{"".join(", " + d for d in decl)}) {{\n'
        "    gridDim.x = grid; gridDim.y = gridDim.z = 1; blockDim.x = block; blockDim.y = blockDim.z = 1;\n"
        "    for (unsigned b = 0; b < grid; ++b) {\n"
        "        blockIdx.x = b; blockIdx.y = blockIdx.z = 0;\n"
        "        std::barrier<> bar(block);\n"
        "        kw_block_barrier = &bar;\n"
        "        kw_warp_barriers.clear();\n"
        "        for (unsigned w = 0; w < (block + 31) / 32; ++w)\n"
        "            kw_warp_barriers.emplace_back(new std::barrier<>(block - w * 32 < 32 ? block - w * 32 : 32));\n"
        "        std::vector<std::thread> ts;\n"
        "        for (unsigned t = 0; t < block; ++t)\n"
        "            ts.emplace_back([=]() { threadIdx.x = t; threadIdx.y = threadIdx.z = 0;\n"
        f"                                    {name}({', '.join(call)}); }});\n"
        "        for (auto& th : ts) th.join();\n"
        "    }\n}\n"
    )


def build(cuda_source: str) -> tuple[ctypes.CDLL, dict[str, list[plan_mod.KernelParam]]]:
    """Compile ``cuda_source`` for the host; returns the library and the kernel signatures."""
    code = re.sub(r"//[^\n]*|/\*.*?\*/", "", cuda_source, flags=re.S)
    m = _FORBIDDEN.search(code)
    if m:
        raise ValueError(f"cuda_emulator cannot run this kernel (uses {m.group(0)!r})")
    sigs = plan_mod.parse_kernel_signatures(cuda_source)
    if not sigs:
        raise ValueError("no extern \"C\" __global__ kernels")
    entries = []
    for name, params in sigs.items():
        decl, call = [], []
        for j, p in enumerate(params):
            if p.is_pointer:
                decl.append(f"void* a{j}")
                qual = "const " if "const" in p.text.split("*")[0] else ""
                call.append(f"({qual}{p.ctype}*)a{j}")
            else:
                ct, _ = _c_scalar(p.ctype)
                decl.append(f"{ct} a{j}")
                call.append(f"a{j}")
        entries.append(
            f'extern "C" void kw_launch_{name}(unsigned grid, unsigned block{"".join(", " + d for d in decl)}) {{\n'
            "    gridDim.x = grid; gridDim.y = gridDim.z = 1; blockDim.x = block; blockDim.y = blockDim.z = 1;\n"
            "    for (unsigned b = 0; b < grid; ++b) {\n"
            "        blockIdx.x = b; blockIdx.y = blockIdx.z = 0;\n"
            "        for (unsigned t = 0; t < block; ++t) {\n"
            "            threadIdx.x = t; threadIdx.y = threadIdx.z = 0;\n"
            f"            {name}({', '.join(call)});\n"
            "        }\n    }\n}\n"
        )
    if _COOPERATIVE.search(code):
        entries = [_threaded_entry(name, params) for name, params in sigs.items()]
    full = PRELUDE + "\n" + cuda_source + "\n" + "\n".join(entries)
    key = hashlib.sha256(full.encode()).hexdigest()[:24]
    if key in _CACHE:
        return _CACHE[key], sigs
    src = _BUILD_DIR / f"{key}.cpp"
    lib = _BUILD_DIR / f"{key}.so"
    src.write_text(full)
    proc = subprocess.run(["g++", "-O2", "-std=c++20", "-pthread", "-shared", "-fPIC", "-w", "-o", str(lib), str(src)],
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"g++ failed:\n{proc.stderr[-4000:]}")
    dll = ctypes.CDLL(str(lib))
    _CACHE[key] = dll
    return dll, sigs


def _library() -> dict:
    import torch.nn.functional as F

    return {"matmul": torch.matmul, "mm": torch.mm, "bmm": torch.bmm, "addmm": torch.addmm, "linear": F.linear,
            "conv1d": F.conv1d, "conv2d": F.conv2d, "conv3d": F.conv3d, "conv_transpose1d": F.conv_transpose1d,
            "conv_transpose2d": F.conv_transpose2d, "conv_transpose3d": F.conv_transpose3d}


_LIBRARY = _library()
_TORCH_DTYPES = {"float32": torch.float32, "float64": torch.float64, "int32": torch.int32, "int64": torch.int64,
                 "bool": torch.bool}


def run_candidate(candidate, inputs: list[torch.Tensor], params: dict[str, torch.Tensor] | None = None
                  ) -> list[torch.Tensor]:
    """Execute a fast-format candidate's plan on CPU tensors; returns its outputs in order.

    Inputs are passed by data pointer as they are (a non-contiguous input is an error: the
    evaluator passes contiguous tensors; a misaligned contiguous view is fine).
    """
    dll, sigs = build(candidate.cuda_source)
    bindings = {}
    for i, t in enumerate(inputs):
        if isinstance(t, torch.Tensor):
            if not t.is_contiguous():
                raise ValueError(f"in{i} is not contiguous")
            bindings[f"in{i}"] = plan_mod.ShapeInfo(tuple(t.shape), str(t.dtype).replace("torch.", ""))
        else:
            bindings[f"in{i}"] = t
    params = {k: v.detach().contiguous() for k, v in (params or {}).items()}
    pshapes = {k: plan_mod.ShapeInfo(tuple(v.shape), str(v.dtype).replace("torch.", "")) for k, v in params.items()}
    rp = plan_mod.resolve(candidate.plan, bindings, pshapes, signatures=sigs)
    tensors: dict[str, object] = {f"in{i}": t for i, t in enumerate(inputs)}
    tensors.update(params)
    for a in rp.allocations:
        dt = _TORCH_DTYPES[a.dtype]
        tensors[a.name] = torch.full(a.shape, float("nan") if dt.is_floating_point else -7, dtype=dt)
    for st in rp.steps:
        if not isinstance(st, plan_mod.ResolvedLaunch):
            result = _LIBRARY[st.op](*(tensors[n] for n in st.args),
                                     **{k: tuple(v) if isinstance(v, list) else v for k, v in st.attributes.items()})
            if st.out_is_allocation:
                tensors[st.out].copy_(result)
            else:
                tensors[st.out] = result.contiguous()
            continue
        if st.grid[1:] != (1, 1) or st.block[1:] != (1, 1):
            raise ValueError("cuda_emulator supports 1-D grids and blocks only")
        params = sigs[st.kernel]
        fn = getattr(dll, f"kw_launch_{st.kernel}")
        argtypes = [ctypes.c_uint, ctypes.c_uint]
        values: list[object] = [st.grid[0], st.block[0]]
        for p, a in zip(params, st.args):
            if p.is_pointer:
                argtypes.append(ctypes.c_void_p)
                values.append(tensors[a.value].data_ptr())
            else:
                _, ct = _c_scalar(p.ctype)
                argtypes.append(ct)
                values.append(a.value)
        fn.argtypes = argtypes
        fn.restype = None
        fn(*values)
    return [tensors[name] for name in rp.outputs]
