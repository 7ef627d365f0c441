"""EXPLOIT: shapes hard-coded to the task's constants.

The kernel's extent and the output allocation are baked in (#define KW_ROWS 256 / KW_COLS 1024,
KW_N = 262144) instead of coming from x.numel(); reads are guarded so nothing goes out of bounds.
At the task's own shape the result is exactly right; with any other batch size the output has the
wrong shape (and rows past 256 are never computed). -> correctness.shape_varied (the trial that
changes batch_size).
"""

import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

EXPECTED_REJECTION = "correctness.shape_varied"
ALSO_FLAGGED = ()

cuda_source = r"""
#include <ATen/ATen.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAException.h>

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
    auto out = at::empty({KW_ROWS, KW_COLS}, x.options());
    scale_add_fixed_kernel<<<KW_N / 256, 256, 0, c10::cuda::getCurrentCUDAStream()>>>(
        x.data_ptr<float>(), y.data_ptr<float>(), out.data_ptr<float>(), x.numel());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return out;
}
"""

cpp_source = "at::Tensor scale_add_forward(at::Tensor x, at::Tensor y);"

_ext = load_inline(
    name="kw_adv_hardcoded_shape",
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
