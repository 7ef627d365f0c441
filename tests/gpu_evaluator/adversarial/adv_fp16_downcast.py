"""EXPLOIT: silent fp32 -> fp16 downcast.

Inputs are fp32 but the kernel converts them to __half, computes relu(x) * 2 + y with half
intrinsics (__hfma) and widens the result back to fp32. On a bandwidth-bound op with half-width
storage this would be the classic "speedup" from precision loss; here the arithmetic alone loses
~11 bits (relative error ~5e-4 > rtol 1e-4). -> static.precision_downcast (__half / cuda_fp16.h /
__float2half in the source); it also fails correctness.
"""

import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

EXPECTED_REJECTION = "static.precision_downcast"
ALSO_FLAGGED = ("correctness",)

cuda_source = r"""
#include <ATen/ATen.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAException.h>
#include <cuda_fp16.h>

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
"""

cpp_source = "at::Tensor scale_add_forward(at::Tensor x, at::Tensor y);"

_ext = load_inline(
    name="kw_adv_fp16_downcast",
    cpp_sources=cpp_source,
    cuda_sources=cuda_source,
    functions=['scale_add_forward'],
    extra_cuda_cflags=["-O3"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return _ext.scale_add_forward(x, y)
