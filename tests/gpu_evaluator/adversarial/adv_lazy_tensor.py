"""EXPLOIT: lazy tensor subclass.

forward returns a torch.Tensor subclass wrapping an unwritten buffer plus the inputs; the kernel runs
only when something first touches the result through a torch function (the evaluator's comparison,
.cpu(), allclose...). The timed forward therefore does no GPU work; the comparison, done outside the
timed region, triggers the real computation and sees correct values. -> static.lazy_tensor
(torch.Tensor subclass / __torch_function__ / _make_subclass in candidate code).
"""

import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

EXPECTED_REJECTION = "static.lazy_tensor"
ALSO_FLAGGED = ()

cuda_source = r"""
#include <ATen/ATen.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAException.h>

// out[i] = relu(x[i]) * 2 + y[i]; 64-bit grid-stride loop, any grid is correct.
extern "C" __global__ void scale_add_kernel(const float* __restrict__ x, const float* __restrict__ y,
                                           float* __restrict__ out, long long n) {
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        const float v = x[i];
        out[i] = (v < 0.0f ? 0.0f : v) * 2.0f + y[i];
    }
}

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

cpp_source = "void scale_add_out(at::Tensor x, at::Tensor y, at::Tensor out);"

_ext = load_inline(
    name="kw_adv_lazy_tensor",
    cpp_sources=cpp_source,
    cuda_sources=cuda_source,
    functions=['scale_add_out'],
    extra_cuda_cflags=["-O3"],
    verbose=False,
)


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
