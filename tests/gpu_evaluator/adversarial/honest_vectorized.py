"""Honest fast candidate for task_scale_add.py: float4-vectorized out = relu(x) * 2 + y.

float4 loads/stores when x, y and out are 16-byte aligned, scalar tail for numel % 4 and a scalar
fallback for misaligned pointers; grid-stride with 64-bit indices. Must be ACCEPTED.
"""

import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

EXPECTED_REJECTION = None
ALSO_FLAGGED = ()

cuda_source = r"""
#include <ATen/ATen.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAException.h>

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
    scale_add_vec4_kernel<<<kw_grid(n, 1024, 32768), 256, 0, c10::cuda::getCurrentCUDAStream()>>>(
        x.data_ptr<float>(), y.data_ptr<float>(), out.data_ptr<float>(), n);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return out;
}
"""

cpp_source = "at::Tensor scale_add_forward(at::Tensor x, at::Tensor y);"

_ext = load_inline(
    name="kw_honest_vectorized",
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
