"""Honest two-launch candidate for task_scale_add.py: t = relu(x) * 2 (kernel 1), out = t + y (kernel 2).

Deliberately unfused (slower than the others) to exercise launch proof with several kernels and an
intermediate buffer that is fully written before it is read. Python side only allocates. Must be
ACCEPTED.
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
"""

cpp_source = "void scale_add_two_pass(at::Tensor x, at::Tensor y, at::Tensor tmp, at::Tensor out);"

_ext = load_inline(
    name="kw_honest_two_kernels",
    cpp_sources=cpp_source,
    cuda_sources=cuda_source,
    functions=['scale_add_two_pass'],
    extra_cuda_cflags=["-O3"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        tmp = torch.empty_like(x)
        out = torch.empty_like(x)
        _ext.scale_add_two_pass(x, y, tmp, out)
        return out
