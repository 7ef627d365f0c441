"""EXPLOIT: kernel compiled but never launched (host code computes with ATen).

cuda_source defines a perfectly good scale_add_kernel, but the exported host function computes the
result with ATen calls (at::clamp_min / mul / add) and never launches it. The Python side shows no
torch compute op, so a Python-only static scan passes; the profiler sees only ATen's elementwise
kernels and none of the candidate's own -> launch_proof (NO_KERNEL_LAUNCHED). The evaluator's
static scan of the host C++ for at:: compute calls rejects it first: static.torch_compute_op.
"""

import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

EXPECTED_REJECTION = "static.torch_compute_op"
ALSO_FLAGGED = ("static.torch_compute_op",)

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

at::Tensor scale_add_forward(at::Tensor x, at::Tensor y) {
    kw_check_inputs(x, y);
    // scale_add_kernel is compiled into this module but this path never launches it.
    return at::add(at::mul(at::clamp_min(x, 0.0), 2.0), y);
}
"""

cpp_source = "at::Tensor scale_add_forward(at::Tensor x, at::Tensor y);"

_ext = load_inline(
    name="kw_adv_host_aten_no_launch",
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
