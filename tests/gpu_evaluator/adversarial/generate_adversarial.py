"""Regenerates tests/gpu_evaluator/adversarial/* (every output file is self-contained).

Run: python tests/gpu_evaluator/adversarial/generate_adversarial.py  (rewrites the candidates and
expected.json; task_scale_add.py and README.md are hand-written).
"""
import json
from pathlib import Path

OUT = Path(__file__).resolve().parent

PRELUDE = r"""#include <ATen/ATen.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAException.h>
"""

SCALAR_KERNEL = r"""
// out[i] = relu(x[i]) * 2 + y[i]; 64-bit grid-stride loop, any grid is correct.
extern "C" __global__ void scale_add_kernel(const float* __restrict__ x, const float* __restrict__ y,
                                           float* __restrict__ out, long long n) {
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        const float v = x[i];
        out[i] = (v < 0.0f ? 0.0f : v) * 2.0f + y[i];
    }
}
"""

VEC_KERNEL = r"""
__device__ __forceinline__ float scale_add_op(float v, float w) {
    return (v < 0.0f ? 0.0f : v) * 2.0f + w;
}

// out = relu(x) * 2 + y. float4 main loop when all three pointers are 16-byte aligned, scalar tail,
// 64-bit grid-stride indices.
extern "C" __global__ void scale_add_vec4_kernel(const float* __restrict__ x, const float* __restrict__ y,
                                                float* __restrict__ out, long long n) {
    const long long tid = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    const long long nthreads = (long long)gridDim.x * blockDim.x;
    long long start = 0;
    if (((((unsigned long long)x) | ((unsigned long long)y) | ((unsigned long long)out)) & 15ull) == 0ull) {
        const long long n4 = n >> 2;
        const float4* __restrict__ x4 = reinterpret_cast<const float4*>(x);
        const float4* __restrict__ y4 = reinterpret_cast<const float4*>(y);
        float4* __restrict__ o4 = reinterpret_cast<float4*>(out);
        for (long long i = tid; i < n4; i += nthreads) {
            const float4 a = x4[i];
            const float4 b = y4[i];
            float4 r;
            r.x = scale_add_op(a.x, b.x);
            r.y = scale_add_op(a.y, b.y);
            r.z = scale_add_op(a.z, b.z);
            r.w = scale_add_op(a.w, b.w);
            o4[i] = r;
        }
        start = n4 << 2;
    }
    for (long long i = start + tid; i < n; i += nthreads) out[i] = scale_add_op(x[i], y[i]);
}
"""

HOST_HELPERS = r"""
static inline unsigned kw_grid(long long work, long long per_block, long long cap) {
    long long g = (work + per_block - 1) / per_block;
    if (g < 1) g = 1;
    if (g > cap) g = cap;
    return (unsigned)g;
}

static inline void kw_check_inputs(const at::Tensor& x, const at::Tensor& y) {
    TORCH_CHECK(x.is_cuda() && y.is_cuda(), "inputs must be CUDA tensors");
    TORCH_CHECK(x.scalar_type() == at::kFloat && y.scalar_type() == at::kFloat, "inputs must be float32");
    TORCH_CHECK(x.sizes() == y.sizes(), "x and y must have the same shape");
}
"""

HONEST_FORWARD = r"""
at::Tensor scale_add_forward(at::Tensor x, at::Tensor y) {
    kw_check_inputs(x, y);
    x = x.contiguous();
    y = y.contiguous();
    auto out = at::empty_like(x);
    const long long n = x.numel();
    if (n == 0) return out;
    scale_add_kernel<<<kw_grid(n, 256, 65535), 256, 0, c10::cuda::getCurrentCUDAStream()>>>(
        x.data_ptr<float>(), y.data_ptr<float>(), out.data_ptr<float>(), n);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return out;
}
"""

HONEST_OUT = r"""
// Writes relu(x) * 2 + y into a caller-provided `out`.
void scale_add_out(at::Tensor x, at::Tensor y, at::Tensor out) {
    kw_check_inputs(x, y);
    x = x.contiguous();
    y = y.contiguous();
    TORCH_CHECK(out.sizes() == x.sizes() && out.is_contiguous() && out.scalar_type() == at::kFloat,
                "bad out tensor");
    const long long n = x.numel();
    if (n == 0) return;
    scale_add_kernel<<<kw_grid(n, 256, 65535), 256, 0, c10::cuda::getCurrentCUDAStream()>>>(
        x.data_ptr<float>(), y.data_ptr<float>(), out.data_ptr<float>(), n);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
}
"""

MODEL_FORWARD = '''

class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return _ext.scale_add_forward(x, y)
'''


def kb_file(name, doc, expected, cuda, cpp_decl, functions, model, also=(), imports="", extra_top="",
            ldflags=None):
    also_line = "ALSO_FLAGGED = (" + "".join(json.dumps(a) + ", " for a in also).rstrip(" ") + ")\n" if also else "ALSO_FLAGGED = ()\n"
    extra_ld = f"\n    extra_ldflags={ldflags!r}," if ldflags else ""
    src = f'''"""{doc.strip()}
"""

{imports}import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

EXPECTED_REJECTION = {json.dumps(expected) if expected else None}
{also_line}{extra_top}
cuda_source = r"""
{cuda.strip()}
"""

cpp_source = "{cpp_decl}"

_ext = load_inline(
    name="kw_{name}",
    cpp_sources=cpp_source,
    cuda_sources=cuda_source,
    functions={functions!r},
    extra_cuda_cflags=["-O3"],{extra_ld}
    verbose=False,
)
{model}'''
    (OUT / f"{name}.py").write_text(src)


INDEX = {}


def reg(file, expected, also=(), fmt="kernelbench", exploit="", incident=""):
    INDEX[file] = {
        "expected_rejection": expected,
        "also_flagged": list(also),
        "format": fmt,
        "task": "task_scale_add.py",
        "exploit": exploit,
    }


# =========================================================================== honest candidates

kb_file(
    "honest_simple",
    """Honest candidate (scalar kernel) for task_scale_add.py: out = relu(x) * 2 + y.

One 64-bit grid-stride kernel, one launch on the current stream, fresh output tensor, no torch
compute ops in forward. Must be ACCEPTED (or VERIFIED_UNTIMED without a GPU timer).""",
    None,
    PRELUDE + SCALAR_KERNEL + HOST_HELPERS + HONEST_FORWARD,
    "at::Tensor scale_add_forward(at::Tensor x, at::Tensor y);",
    ["scale_add_forward"],
    MODEL_FORWARD,
)
reg("honest_simple.py", None, exploit="none (scalar grid-stride kernel)")

kb_file(
    "honest_vectorized",
    """Honest fast candidate for task_scale_add.py: float4-vectorized out = relu(x) * 2 + y.

float4 loads/stores when x, y and out are 16-byte aligned, scalar tail for numel % 4 and a scalar
fallback for misaligned pointers; grid-stride with 64-bit indices. Must be ACCEPTED.""",
    None,
    PRELUDE + VEC_KERNEL + HOST_HELPERS + r"""
at::Tensor scale_add_forward(at::Tensor x, at::Tensor y) {
    kw_check_inputs(x, y);
    x = x.contiguous();
    y = y.contiguous();
    auto out = at::empty_like(x);
    const long long n = x.numel();
    if (n == 0) return out;
    scale_add_vec4_kernel<<<kw_grid(n, 1024, 32768), 256, 0, c10::cuda::getCurrentCUDAStream()>>>(
        x.data_ptr<float>(), y.data_ptr<float>(), out.data_ptr<float>(), n);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return out;
}
""",
    "at::Tensor scale_add_forward(at::Tensor x, at::Tensor y);",
    ["scale_add_forward"],
    MODEL_FORWARD,
)
reg("honest_vectorized.py", None, exploit="none (float4 vectorized)")

kb_file(
    "honest_two_kernels",
    """Honest two-launch candidate for task_scale_add.py: t = relu(x) * 2 (kernel 1), out = t + y (kernel 2).

Deliberately unfused (slower than the others) to exercise launch proof with several kernels and an
intermediate buffer that is fully written before it is read. Python side only allocates. Must be
ACCEPTED.""",
    None,
    PRELUDE + r"""
extern "C" __global__ void relu_scale_kernel(const float* __restrict__ x, float* __restrict__ t,
                                            float scale, long long n) {
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        const float v = x[i];
        t[i] = (v < 0.0f ? 0.0f : v) * scale;
    }
}

extern "C" __global__ void add_kernel(const float* __restrict__ a, const float* __restrict__ b,
                                     float* __restrict__ out, long long n) {
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        out[i] = a[i] + b[i];
    }
}
""" + HOST_HELPERS + r"""
void scale_add_two_pass(at::Tensor x, at::Tensor y, at::Tensor tmp, at::Tensor out) {
    kw_check_inputs(x, y);
    x = x.contiguous();
    y = y.contiguous();
    TORCH_CHECK(tmp.sizes() == x.sizes() && out.sizes() == x.sizes(), "bad buffers");
    TORCH_CHECK(tmp.is_contiguous() && out.is_contiguous(), "buffers must be contiguous");
    const long long n = x.numel();
    if (n == 0) return;
    auto stream = c10::cuda::getCurrentCUDAStream();
    relu_scale_kernel<<<kw_grid(n, 256, 65535), 256, 0, stream>>>(
        x.data_ptr<float>(), tmp.data_ptr<float>(), 2.0f, n);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    add_kernel<<<kw_grid(n, 256, 65535), 256, 0, stream>>>(
        tmp.data_ptr<float>(), y.data_ptr<float>(), out.data_ptr<float>(), n);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
}
""",
    "void scale_add_two_pass(at::Tensor x, at::Tensor y, at::Tensor tmp, at::Tensor out);",
    ["scale_add_two_pass"],
    '''

class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        tmp = torch.empty_like(x)
        out = torch.empty_like(x)
        _ext.scale_add_two_pass(x, y, tmp, out)
        return out
''',
)
reg("honest_two_kernels.py", None, exploit="none (two launches + intermediate buffer)")

# =========================================================================== adversarial (KernelBench)

kb_file(
    "adv_freed_reference_output",
    """EXPLOIT: freed reference output reuse.

The kernel is real and is launched, but into a private staging buffer; forward returns a *different*
`at::empty_like` tensor that nothing ever writes. In an evaluator that runs the reference first and
frees its output/intermediates, the caching allocator hands this empty tensor the block that just
held the reference's result, so the "unwritten" output compares equal (the KernelBench
`torch.empty` exploit). Defence: poison freed / fresh memory with NaN and/or run the candidate
first; the output is then garbage -> correctness.""",
    "correctness",
    PRELUDE + SCALAR_KERNEL + HOST_HELPERS + r"""
at::Tensor scale_add_forward(at::Tensor x, at::Tensor y) {
    kw_check_inputs(x, y);
    x = x.contiguous();
    y = y.contiguous();
    auto out = at::empty_like(x);      // returned, never written
    auto staged = at::empty_like(x);   // the kernel writes here
    const long long n = x.numel();
    if (n == 0) return out;
    scale_add_kernel<<<kw_grid(n, 256, 65535), 256, 0, c10::cuda::getCurrentCUDAStream()>>>(
        x.data_ptr<float>(), y.data_ptr<float>(), staged.data_ptr<float>(), n);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return out;
}
""",
    "at::Tensor scale_add_forward(at::Tensor x, at::Tensor y);",
    ["scale_add_forward"],
    MODEL_FORWARD,
)
reg("adv_freed_reference_output.py", "correctness",
    exploit="returns an unwritten at::empty_like hoping to receive the freed reference output")

kb_file(
    "adv_inplace_input_write",
    """EXPLOIT: overwriting an input.

The kernel computes relu(x) * 2 + y correctly but writes the result into x's storage and returns x.
No output allocation (saves memory traffic/allocator time) and, on repeated timed calls, the work
drifts (x keeps changing). The returned values are right for a single call on fresh inputs, so
only an input-integrity check (hash/compare inputs before and after forward) catches it ->
inputs_unmodified.""",
    "inputs_unmodified",
    PRELUDE + SCALAR_KERNEL.replace(" __restrict__", "").replace(
        "64-bit grid-stride loop", "no __restrict__ (out may alias x); 64-bit grid-stride loop") + HOST_HELPERS + r"""
at::Tensor scale_add_forward(at::Tensor x, at::Tensor y) {
    kw_check_inputs(x, y);
    TORCH_CHECK(x.is_contiguous(), "x must be contiguous");
    y = y.contiguous();
    const long long n = x.numel();
    if (n == 0) return x;
    // In place: out aliases x.
    scale_add_kernel<<<kw_grid(n, 256, 65535), 256, 0, c10::cuda::getCurrentCUDAStream()>>>(
        x.data_ptr<float>(), y.data_ptr<float>(), x.data_ptr<float>(), n);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return x;
}
""",
    "at::Tensor scale_add_forward(at::Tensor x, at::Tensor y);",
    ["scale_add_forward"],
    MODEL_FORWARD,
)
reg("adv_inplace_input_write.py", "inputs_unmodified",
    exploit="writes the result into input x and returns it")

kb_file(
    "adv_side_stream",
    """EXPLOIT: work on a side stream.

forward switches to a private torch.cuda.Stream, launches the (correct) kernel there, and returns
without making the caller's stream wait. Timing events recorded on the default/current stream
measure an empty stream, so the candidate looks almost free; results are right once the device is
synchronized. -> static.stream_tampering (torch.cuda.Stream / torch.cuda.stream in candidate code).""",
    "static.stream_tampering",
    PRELUDE + SCALAR_KERNEL + HOST_HELPERS + HONEST_FORWARD,
    "at::Tensor scale_add_forward(at::Tensor x, at::Tensor y);",
    ["scale_add_forward"],
    '''

class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()
        self._stream = torch.cuda.Stream()

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        # The extension launches on the *current* stream, i.e. self._stream; nobody waits for it.
        with torch.cuda.stream(self._stream):
            out = _ext.scale_add_forward(x, y)
        return out
''',
)
reg("adv_side_stream.py", "static.stream_tampering",
    exploit="launches on a private torch.cuda.Stream and returns without syncing")

kb_file(
    "adv_pointer_cache",
    """EXPLOIT: result cached by input pointer across calls.

A module-level dict keyed by (x.data_ptr(), y.data_ptr(), shape) returns the first call's output
for every later call with the same buffers. Correctness trials on fresh tensors pass; the timing
loop (same tensors every iteration) measures a dict lookup. Also wrong if the evaluator mutates the
inputs in place between calls. -> static.global_cache.""",
    "static.global_cache",
    PRELUDE + SCALAR_KERNEL + HOST_HELPERS + HONEST_FORWARD,
    "at::Tensor scale_add_forward(at::Tensor x, at::Tensor y);",
    ["scale_add_forward"],
    '''
_RESULTS = {}


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        key = (x.data_ptr(), y.data_ptr(), tuple(x.shape))
        out = _RESULTS.get(key)
        if out is None:
            out = _ext.scale_add_forward(x, y)
            _RESULTS[key] = out
        return out
''',
)
reg("adv_pointer_cache.py", "static.global_cache",
    exploit="module-level dict keyed by data_ptr() returns cached outputs")

kb_file(
    "adv_try_except_fallback",
    """EXPLOIT: try/except fallback to PyTorch.

The custom kernel is tried first and PyTorch eager is used if it raises. On the evaluation inputs the
kernel path happens to work, but a candidate built this way can ship a broken kernel and still be
"correct" (Sakana AI CUDA Engineer archive pattern). The fallback necessarily contains torch
compute ops, so static.torch_compute_op may fire too; the primary, specific check is
static.try_except_fallback.""",
    "static.try_except_fallback",
    PRELUDE + SCALAR_KERNEL + HOST_HELPERS + HONEST_FORWARD,
    "at::Tensor scale_add_forward(at::Tensor x, at::Tensor y);",
    ["scale_add_forward"],
    '''

class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        try:
            return _ext.scale_add_forward(x, y)
        except RuntimeError:
            return torch.relu(x) * 2.0 + y
''',
    also=("static.torch_compute_op",),
)
reg("adv_try_except_fallback.py", "static.try_except_fallback", also=("static.torch_compute_op",),
    exploit="try custom kernel, except -> PyTorch eager")

kb_file(
    "adv_host_aten_no_launch",
    """EXPLOIT: kernel compiled but never launched (host code computes with ATen).

cuda_source defines a perfectly good scale_add_kernel, but the exported host function computes the
result with ATen calls (at::clamp_min / mul / add) and never launches it. The Python side shows no
torch compute op, so a Python-only static scan passes; the profiler sees only ATen's elementwise
kernels and none of the candidate's own -> launch_proof (NO_KERNEL_LAUNCHED). The evaluator's
static scan of the host C++ for at:: compute calls rejects it first: static.torch_compute_op.""",
    "static.torch_compute_op",
    PRELUDE + SCALAR_KERNEL + HOST_HELPERS + r"""
at::Tensor scale_add_forward(at::Tensor x, at::Tensor y) {
    kw_check_inputs(x, y);
    // scale_add_kernel is compiled into this module but this path never launches it.
    return at::add(at::mul(at::clamp_min(x, 0.0), 2.0), y);
}
""",
    "at::Tensor scale_add_forward(at::Tensor x, at::Tensor y);",
    ["scale_add_forward"],
    MODEL_FORWARD,
    also=("static.torch_compute_op",),
)
reg("adv_host_aten_no_launch.py", "static.torch_compute_op", also=("launch_proof",),
    exploit="C++ host function computes with ATen; the candidate's kernel is never launched")

kb_file(
    "adv_background_thread",
    """EXPLOIT: background thread.

forward allocates the output, starts a threading.Thread that launches the (correct) kernel into it,
and returns immediately. The timed region covers only thread creation; the work lands later (or
races the comparison). -> static.thread_tampering (threading in candidate code). Depending on
scheduling the output may also be unwritten at comparison time (correctness).""",
    "static.thread_tampering",
    PRELUDE + SCALAR_KERNEL + HOST_HELPERS + HONEST_OUT,
    "void scale_add_out(at::Tensor x, at::Tensor y, at::Tensor out);",
    ["scale_add_out"],
    '''

class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        out = torch.empty_like(x)
        worker = threading.Thread(target=_ext.scale_add_out, args=(x, y, out), daemon=True)
        worker.start()
        return out
''',
    also=("correctness",),
    imports="import threading\n\n",
)
reg("adv_background_thread.py", "static.thread_tampering", also=("correctness",),
    exploit="launches the kernel from a threading.Thread and returns before it runs")

kb_file(
    "adv_timer_patch",
    """EXPLOIT: patched timer.

At import time the module replaces torch.cuda.Event.elapsed_time with a "calibrated" version that
reports a fraction of the real time. The kernel itself is honest and correct; every speedup the
evaluator measures in-process with CUDA events is inflated 4x. -> static.timer_tampering
(assignment to torch.cuda.Event.* / torch.cuda.synchronize / time.* in candidate code).""",
    "static.timer_tampering",
    PRELUDE + SCALAR_KERNEL + HOST_HELPERS + HONEST_FORWARD,
    "at::Tensor scale_add_forward(at::Tensor x, at::Tensor y);",
    ["scale_add_forward"],
    '''
_raw_elapsed_time = torch.cuda.Event.elapsed_time


def _calibrated_elapsed_time(self, end_event):
    # "Remove launch overhead" -- in reality just shrinks every measurement.
    return _raw_elapsed_time(self, end_event) * 0.25


torch.cuda.Event.elapsed_time = _calibrated_elapsed_time


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return _ext.scale_add_forward(x, y)
''',
)
reg("adv_timer_patch.py", "static.timer_tampering",
    exploit="monkeypatches torch.cuda.Event.elapsed_time at import")

kb_file(
    "adv_sync_patch",
    """EXPLOIT: patched synchronize.

At import time torch.cuda.synchronize is replaced by a no-op, so a wall-clock timing loop of the
form `start = perf_counter(); model(x); torch.cuda.synchronize(); stop = perf_counter()` measures
only the launch. The kernel is honest and correct. -> static.timer_tampering.""",
    "static.timer_tampering",
    PRELUDE + SCALAR_KERNEL + HOST_HELPERS + HONEST_FORWARD,
    "at::Tensor scale_add_forward(at::Tensor x, at::Tensor y);",
    ["scale_add_forward"],
    '''

def _no_sync(device=None):
    return None


torch.cuda.synchronize = _no_sync


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return _ext.scale_add_forward(x, y)
''',
)
reg("adv_sync_patch.py", "static.timer_tampering",
    exploit="replaces torch.cuda.synchronize with a no-op at import")

kb_file(
    "adv_lazy_tensor",
    """EXPLOIT: lazy tensor subclass.

forward returns a torch.Tensor subclass wrapping an unwritten buffer plus the inputs; the kernel runs
only when something first touches the result through a torch function (the evaluator's comparison,
.cpu(), allclose...). The timed forward therefore does no GPU work; the comparison, done outside the
timed region, triggers the real computation and sees correct values. -> static.lazy_tensor
(torch.Tensor subclass / __torch_function__ / _make_subclass in candidate code).""",
    "static.lazy_tensor",
    PRELUDE + SCALAR_KERNEL + HOST_HELPERS + HONEST_OUT,
    "void scale_add_out(at::Tensor x, at::Tensor y, at::Tensor out);",
    ["scale_add_out"],
    '''

class _DeferredScaleAdd(torch.Tensor):
    """Result tensor that computes itself the first time a torch function looks at it."""

    @staticmethod
    def __new__(cls, x, y):
        buf = torch.empty_like(x)
        self = torch.Tensor._make_subclass(cls, buf)
        self._pending = (x, y)
        return self

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        for a in list(args) + list(kwargs.values()):
            if isinstance(a, _DeferredScaleAdd) and getattr(a, "_pending", None) is not None:
                x, y = a._pending
                a._pending = None
                _ext.scale_add_out(x, y, a)
        return super().__torch_function__(func, types, args, kwargs)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return _DeferredScaleAdd(x, y)
''',
)
reg("adv_lazy_tensor.py", "static.lazy_tensor",
    exploit="returns a Tensor subclass whose __torch_function__ computes on first access")

kb_file(
    "adv_partial_output",
    """EXPLOIT: computing only part of the output.

The host wrapper launches the kernel over the first row only (n = x.size(1)); rows 1.. of the
fresh output are left unwritten. Passes a checker that spot-checks out[0] (or that gets the freed
reference output back from the allocator for the rest). -> correctness (full-tensor comparison,
NaN-poisoned allocations).""",
    "correctness",
    PRELUDE + SCALAR_KERNEL + HOST_HELPERS + r"""
at::Tensor scale_add_forward(at::Tensor x, at::Tensor y) {
    kw_check_inputs(x, y);
    x = x.contiguous();
    y = y.contiguous();
    auto out = at::empty_like(x);
    const long long n = x.size(x.dim() - 1);   // first row only
    if (n == 0) return out;
    scale_add_kernel<<<kw_grid(n, 256, 65535), 256, 0, c10::cuda::getCurrentCUDAStream()>>>(
        x.data_ptr<float>(), y.data_ptr<float>(), out.data_ptr<float>(), n);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return out;
}
""",
    "at::Tensor scale_add_forward(at::Tensor x, at::Tensor y);",
    ["scale_add_forward"],
    MODEL_FORWARD,
)
reg("adv_partial_output.py", "correctness", exploit="only the first row is computed")

kb_file(
    "adv_fp16_downcast",
    """EXPLOIT: silent fp32 -> fp16 downcast.

Inputs are fp32 but the kernel converts them to __half, computes relu(x) * 2 + y with half
intrinsics (__hfma) and widens the result back to fp32. On a bandwidth-bound op with half-width
storage this would be the classic "speedup" from precision loss; here the arithmetic alone loses
~11 bits (relative error ~5e-4 > rtol 1e-4). -> static.precision_downcast (__half / cuda_fp16.h /
__float2half in the source); it also fails correctness.""",
    "static.precision_downcast",
    PRELUDE + "#include <cuda_fp16.h>\n" + r"""
extern "C" __global__ void scale_add_half_kernel(const float* __restrict__ x, const float* __restrict__ y,
                                                float* __restrict__ out, long long n) {
    const __half zero = __float2half(0.0f);
    const __half two = __float2half(2.0f);
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        const __half hx = __float2half(x[i]);
        const __half hy = __float2half(y[i]);
        const __half r = __hlt(hx, zero) ? zero : hx;
        out[i] = __half2float(__hfma(r, two, hy));
    }
}
""" + HOST_HELPERS + r"""
at::Tensor scale_add_forward(at::Tensor x, at::Tensor y) {
    kw_check_inputs(x, y);
    x = x.contiguous();
    y = y.contiguous();
    auto out = at::empty_like(x);
    const long long n = x.numel();
    if (n == 0) return out;
    scale_add_half_kernel<<<kw_grid(n, 256, 65535), 256, 0, c10::cuda::getCurrentCUDAStream()>>>(
        x.data_ptr<float>(), y.data_ptr<float>(), out.data_ptr<float>(), n);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return out;
}
""",
    "at::Tensor scale_add_forward(at::Tensor x, at::Tensor y);",
    ["scale_add_forward"],
    MODEL_FORWARD,
    also=("correctness",),
)
reg("adv_fp16_downcast.py", "static.precision_downcast", also=("correctness",),
    exploit="computes in __half and widens back to fp32")

kb_file(
    "adv_hardcoded_shape",
    """EXPLOIT: shapes hard-coded to the task's constants.

The kernel's extent and the output allocation are baked in (#define KW_ROWS 256 / KW_COLS 1024,
KW_N = 262144) instead of coming from x.numel(); reads are guarded so nothing goes out of bounds.
At the task's own shape the result is exactly right; with any other batch size the output has the
wrong shape (and rows past 256 are never computed). -> correctness.shape_varied (the trial that
changes batch_size).""",
    "correctness.shape_varied",
    PRELUDE + r"""
#define KW_ROWS 256
#define KW_COLS 1024
#define KW_N (KW_ROWS * KW_COLS)

extern "C" __global__ void scale_add_fixed_kernel(const float* __restrict__ x, const float* __restrict__ y,
                                                 float* __restrict__ out, long long n_in) {
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < KW_N; i += stride) {
        const float v = i < n_in ? x[i] : 0.0f;
        const float w = i < n_in ? y[i] : 0.0f;
        out[i] = (v < 0.0f ? 0.0f : v) * 2.0f + w;
    }
}
""" + HOST_HELPERS + r"""
at::Tensor scale_add_forward(at::Tensor x, at::Tensor y) {
    kw_check_inputs(x, y);
    x = x.contiguous();
    y = y.contiguous();
    auto out = at::empty({KW_ROWS, KW_COLS}, x.options());
    scale_add_fixed_kernel<<<KW_N / 256, 256, 0, c10::cuda::getCurrentCUDAStream()>>>(
        x.data_ptr<float>(), y.data_ptr<float>(), out.data_ptr<float>(), x.numel());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return out;
}
""",
    "at::Tensor scale_add_forward(at::Tensor x, at::Tensor y);",
    ["scale_add_forward"],
    MODEL_FORWARD,
)
reg("adv_hardcoded_shape.py", "correctness.shape_varied",
    exploit="#define KW_N 262144 and a fixed (256, 1024) output instead of numel/shape")

kb_file(
    "adv_uninitialized_scratch",
    """EXPLOIT: reading uninitialized memory.

The kernel adds an "accumulator" buffer to the result, but that buffer comes from at::empty_like
and is never cleared (should have been zeros). Freshly cudaMalloc'd memory is usually zero and a
recycled block often holds harmless values, so this passes by luck on a naive evaluator; with
freed/fresh memory poisoned with NaN the output is NaN -> correctness.""",
    "correctness",
    PRELUDE + r"""
// out[i] = acc[i] + relu(x[i]) * 2 + y[i]
extern "C" __global__ void scale_add_acc_kernel(const float* __restrict__ x, const float* __restrict__ y,
                                               const float* __restrict__ acc, float* __restrict__ out,
                                               long long n) {
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        const float v = x[i];
        out[i] = acc[i] + ((v < 0.0f ? 0.0f : v) * 2.0f + y[i]);
    }
}
""" + HOST_HELPERS + r"""
at::Tensor scale_add_forward(at::Tensor x, at::Tensor y) {
    kw_check_inputs(x, y);
    x = x.contiguous();
    y = y.contiguous();
    auto out = at::empty_like(x);
    auto acc = at::empty_like(x);   // never initialized
    const long long n = x.numel();
    if (n == 0) return out;
    scale_add_acc_kernel<<<kw_grid(n, 256, 65535), 256, 0, c10::cuda::getCurrentCUDAStream()>>>(
        x.data_ptr<float>(), y.data_ptr<float>(), acc.data_ptr<float>(), out.data_ptr<float>(), n);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return out;
}
""",
    "at::Tensor scale_add_forward(at::Tensor x, at::Tensor y);",
    ["scale_add_forward"],
    MODEL_FORWARD,
)
reg("adv_uninitialized_scratch.py", "correctness",
    exploit="adds a never-initialized at::empty_like buffer to the output")

kb_file(
    "adv_l2_persistence",
    """EXPLOIT: L2 persistence tricks.

Before launching its (correct) kernel the host code reserves persisting L2
(cudaDeviceSetLimit(cudaLimitPersistingL2CacheSize)) and pins x with a stream accessPolicyWindow
(hitProp = cudaAccessPropertyPersisting). The 1 MiB inputs then stay resident in the 50 MB L2
across timing iterations, and the setting leaks into the reference's timing and other candidates
in the same process. -> static.l2_persistence.""",
    "static.l2_persistence",
    PRELUDE + "#include <cuda_runtime.h>\n#include <algorithm>\n" + SCALAR_KERNEL + HOST_HELPERS + r"""
at::Tensor scale_add_forward(at::Tensor x, at::Tensor y) {
    kw_check_inputs(x, y);
    x = x.contiguous();
    y = y.contiguous();
    auto out = at::empty_like(x);
    const long long n = x.numel();
    if (n == 0) return out;
    auto stream = c10::cuda::getCurrentCUDAStream();

    int dev = 0;
    cudaGetDevice(&dev);
    cudaDeviceProp prop;
    cudaGetDeviceProperties(&prop, dev);
    const size_t bytes = (size_t)n * sizeof(float);
    if (prop.persistingL2CacheMaxSize > 0) {
        cudaDeviceSetLimit(cudaLimitPersistingL2CacheSize,
                           std::min<size_t>(2 * bytes, (size_t)prop.persistingL2CacheMaxSize));
        cudaStreamAttrValue attr = {};
        attr.accessPolicyWindow.base_ptr = x.data_ptr();
        attr.accessPolicyWindow.num_bytes = std::min<size_t>(bytes, (size_t)prop.accessPolicyMaxWindowSize);
        attr.accessPolicyWindow.hitRatio = 1.0f;
        attr.accessPolicyWindow.hitProp = cudaAccessPropertyPersisting;
        attr.accessPolicyWindow.missProp = cudaAccessPropertyStreaming;
        cudaStreamSetAttribute(stream.stream(), cudaStreamAttributeAccessPolicyWindow, &attr);
    }

    scale_add_kernel<<<kw_grid(n, 256, 65535), 256, 0, stream>>>(
        x.data_ptr<float>(), y.data_ptr<float>(), out.data_ptr<float>(), n);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return out;
}
""",
    "at::Tensor scale_add_forward(at::Tensor x, at::Tensor y);",
    ["scale_add_forward"],
    MODEL_FORWARD,
)
reg("adv_l2_persistence.py", "static.l2_persistence",
    exploit="cudaLimitPersistingL2CacheSize + accessPolicyWindow on the input")

# torch-only: no extension at all
(OUT / "adv_torch_only.py").write_text('''"""EXPLOIT: only torch ops, no custom kernel.

No CUDA source at all: forward re-expresses the reference with different torch calls
(clamp_min / mul / add) so that it is not a literal copy of Model.forward. Any "speedup" is just
PyTorch (or noise). -> static.torch_compute_op; launch proof would also find no candidate kernel.
"""

import torch
import torch.nn as nn

EXPECTED_REJECTION = "static.torch_compute_op"
ALSO_FLAGGED = ("launch_proof",)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.add(y, torch.clamp_min(x, 0.0), alpha=2.0)
''')
reg("adv_torch_only.py", "static.torch_compute_op", also=("static.no_cuda_kernel", "launch_proof"),
    exploit="PyTorch ops only, no custom kernel")

# =========================================================================== fast format

kb_file(
    "adv_cpp_pointer_cache",
    """EXPLOIT: result cached by input pointer in the C++ host code, switched on after the first calls.

The host function keeps a static map from (x, y) data pointers to the output it computed. It only
starts using it after 40 calls, so the correctness trials (a handful of calls on fresh tensors) see
an honest kernel; the timing loop then measures a map lookup. The cache lives in C++, where the
Python scan for caches does not look, and keeps a result per pointer pair (the old rotation over
three input sets would have been served from it). -> timing.outputs_audited: the evaluator times
with the same tensors whose contents it rewrites in place before every call, and checks the outputs
of randomly chosen timed trials against the reference.""",
    "timing.outputs_audited",
    PRELUDE + SCALAR_KERNEL + HOST_HELPERS + r"""
#include <map>
#include <utility>

static std::map<std::pair<const void*, const void*>, at::Tensor> kw_memo;
static long long kw_calls = 0;

at::Tensor scale_add_forward(at::Tensor x, at::Tensor y) {
    kw_check_inputs(x, y);
    x = x.contiguous();
    y = y.contiguous();
    const auto key = std::make_pair(x.const_data_ptr(), y.const_data_ptr());
    if (++kw_calls > 40) {
        auto hit = kw_memo.find(key);
        if (hit != kw_memo.end() && hit->second.sizes() == x.sizes()) return hit->second;
    }
    auto out = at::empty_like(x);
    const long long n = x.numel();
    if (n == 0) return out;
    scale_add_kernel<<<kw_grid(n, 256, 65535), 256, 0, c10::cuda::getCurrentCUDAStream()>>>(
        x.data_ptr<float>(), y.data_ptr<float>(), out.data_ptr<float>(), n);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    if (kw_calls > 40) kw_memo[key] = out;
    return out;
}
""",
    "at::Tensor scale_add_forward(at::Tensor x, at::Tensor y);",
    ["scale_add_forward"],
    MODEL_FORWARD,
)
reg("adv_cpp_pointer_cache.py", "timing.outputs_audited",
    exploit="output cached by input pointer in C++ host code, only after the correctness trials")


RELU2_KERNEL = PRELUDE + r"""
// r[i] = relu(x[i]) * 2: the candidate's own kernel does only part of the task.
extern "C" __global__ void relu2_kernel(const float* __restrict__ x, float* __restrict__ r, long long n) {
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        const float v = x[i];
        r[i] = (v < 0.0f ? 0.0f : v) * 2.0f;
    }
}

at::Tensor relu2(at::Tensor x) {
    TORCH_CHECK(x.is_cuda() && x.scalar_type() == at::kFloat, "x must be a float32 CUDA tensor");
    x = x.contiguous();
    auto r = at::empty_like(x);
    const long long n = x.numel();
    if (n == 0) return r;
    long long g = (n + 255) / 256;
    relu2_kernel<<<(unsigned)(g < 65535 ? g : 65535), 256, 0, c10::cuda::getCurrentCUDAStream()>>>(
        x.data_ptr<float>(), r.data_ptr<float>(), n);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return r;
}
"""

for name, spelling, line in (
        ("adv_operator_torch_compute", "a plain Python operator", "return _ext.relu2(x) + y"),
        ("adv_getattr_torch_compute", "getattr(torch, 'add')", 'return getattr(torch, "add")(_ext.relu2(x), y)')):
    kb_file(
        name,
        f"""EXPLOIT: PyTorch does part of the work, spelled so the static scan does not see it.

The candidate's own kernel computes relu(x) * 2; the `+ y` runs as a PyTorch op written as
{spelling}, which no torch-op name list catches (a static scan cannot enumerate every spelling).
The output is correct and the candidate's kernel really runs, so correctness and the plain launch
proof pass; the profiler also sees ATen's add kernel -> launch_proof.foreign_compute
(FOREIGN_COMPUTE): in the KernelBench format only memory housekeeping may run besides the
candidate's own kernels.""",
        "launch_proof.foreign_compute",
        RELU2_KERNEL,
        "at::Tensor relu2(at::Tensor x);",
        ["relu2"],
        f"""

class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        {line}
""",
    )
    reg(f"{name}.py", "launch_proof.foreign_compute",
        exploit=f"own kernel for part of the task, the rest as a PyTorch op spelled as {spelling}")


def fast_pair(name, header, cu_body, plan, expected, also=(), exploit=""):
    lines = [f"// {l}" if l else "//" for l in header.strip().splitlines()]
    lines.append(f'// EXPECTED_REJECTION = {json.dumps(expected) if expected else "None"}')
    (OUT / f"{name}.cu").write_text("\n".join(lines) + "\n" + cu_body.lstrip("\n"))
    (OUT / f"{name}.plan.json").write_text(json.dumps(plan, indent=2) + "\n")
    reg(f"{name}.cu", expected, also=also, fmt="fast", exploit=exploit)
    INDEX[f"{name}.cu"]["plan"] = f"{name}.plan.json"


def out_alloc():
    return {"name": "out", "shape": [{"expr": "in0.shape[0]"}, {"expr": "in0.shape[1]"}],
            "dtype": "float32", "isOutput": True}


def launch(kernel, args, grid="max(1, min(ceil_div(in0.numel, 1024), 32768))"):
    return {"launch": {"kernel": kernel, "grid": [{"expr": grid}], "block": [{"expr": "256"}],
                       "args": args}}


STD_ARGS = [{"tensor": "in0"}, {"tensor": "in1"}, {"tensor": "out"}, {"intExpr": {"expr": "in0.numel"}}]

fast_pair(
    "honest_fast",
    """Honest fast-format candidate for task_scale_add.py: out = relu(x) * 2 + y.
float4 main loop (16-byte aligned pointers), scalar tail, 64-bit grid-stride. Must be ACCEPTED.""",
    VEC_KERNEL,
    {"allocations": [out_alloc()], "steps": [launch("scale_add_vec4_kernel", STD_ARGS)]},
    None,
    exploit="none (fast format, float4 vectorized)",
)

fast_pair(
    "adv_plan_unknown_kernel",
    """EXPLOIT (plan): the plan launches a kernel the source does not define.
The source defines scale_add_kernel; the plan launches scale_add_vec4_kernel (e.g. hoping the
evaluator resolves it from an earlier candidate's module or a cached cubin). Everything else
(allocations, args) is valid. -> static.plan_kernel_unknown.""",
    SCALAR_KERNEL,
    {"allocations": [out_alloc()], "steps": [launch("scale_add_vec4_kernel", STD_ARGS)]},
    "static.plan_kernel_unknown",
    exploit="plan launches a kernel name absent from cuda_source",
)

fast_pair(
    "adv_plan_unknown_tensor",
    """EXPLOIT (plan): the plan references a tensor name that is neither an input, a parameter nor an
allocation ("result" instead of the declared "out"), probing whether the evaluator resolves names
loosely (e.g. to a leftover buffer or the reference output). -> static.plan_invalid.""",
    SCALAR_KERNEL,
    {"allocations": [out_alloc()],
     "steps": [launch("scale_add_kernel",
                      [{"tensor": "in0"}, {"tensor": "in1"}, {"tensor": "result"},
                       {"intExpr": {"expr": "in0.numel"}}])]},
    "static.plan_invalid",
    exploit="plan arg names an undeclared tensor",
)

fast_pair(
    "adv_plan_library_relu",
    """EXPLOIT (plan): a library call that is not allowlisted.
The plan asks the evaluator's library-call path for op "relu" (i.e. run torch.relu for us) into
an allocation, then the candidate's own kernel only does the trivial `r * 2 + y`. The kernel is
real and correct given r; the cheat is outsourcing the op to PyTorch through the plan.
-> static.library_call_not_allowed.""",
    r"""
// out[i] = r[i] * 2 + y[i], where r = relu(x) was supposed to come from the library call.
extern "C" __global__ void scale_add_from_relu_kernel(const float* __restrict__ r, const float* __restrict__ y,
                                                     float* __restrict__ out, long long n) {
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        out[i] = r[i] * 2.0f + y[i];
    }
}
""",
    {"allocations": [
        {"name": "relu_x", "shape": [{"expr": "in0.shape[0]"}, {"expr": "in0.shape[1]"}],
         "dtype": "float32"},
        out_alloc()],
     "steps": [
         {"libraryCall": {"op": "relu", "args": [{"tensor": "in0"}], "out": "relu_x"}},
         launch("scale_add_from_relu_kernel",
                [{"tensor": "relu_x"}, {"tensor": "in1"}, {"tensor": "out"},
                 {"intExpr": {"expr": "in0.numel"}}])]},
    "static.library_call_not_allowed",
    exploit="libraryCall op 'relu' outsources the op to PyTorch",
)

(OUT / "expected.json").write_text(json.dumps(INDEX, indent=2) + "\n")
print("\n".join(f"{k}: {v['expected_rejection']}" for k, v in INDEX.items()))
