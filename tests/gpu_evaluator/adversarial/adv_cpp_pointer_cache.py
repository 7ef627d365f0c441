"""EXPLOIT: result cached by input pointer in the C++ host code, switched on after the first calls.

The host function keeps a static map from (x, y) data pointers to the output it computed. It only
starts using it after 40 calls, so the correctness trials (a handful of calls on fresh tensors) see
an honest kernel; the timing loop then measures a map lookup. The cache lives in C++, where the
Python scan for caches does not look, and keeps a result per pointer pair (the old rotation over
three input sets would have been served from it). -> timing.outputs_audited: the evaluator times
with the same tensors whose contents it rewrites in place before every call, and checks the outputs
of randomly chosen timed trials against the reference.
"""

import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

EXPECTED_REJECTION = "timing.outputs_audited"
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
"""

cpp_source = "at::Tensor scale_add_forward(at::Tensor x, at::Tensor y);"

_ext = load_inline(
    name="kw_adv_cpp_pointer_cache",
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
