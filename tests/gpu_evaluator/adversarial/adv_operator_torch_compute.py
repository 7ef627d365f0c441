"""EXPLOIT: PyTorch does part of the work, spelled so the static scan does not see it.

The candidate's own kernel computes relu(x) * 2; the `+ y` runs as a PyTorch op written as
a plain Python operator, which no torch-op name list catches (a static scan cannot enumerate every spelling).
The output is correct and the candidate's kernel really runs, so correctness and the plain launch
proof pass; the profiler also sees ATen's add kernel -> launch_proof.foreign_compute
(FOREIGN_COMPUTE): in the KernelBench format only memory housekeeping may run besides the
candidate's own kernels.
"""

import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

EXPECTED_REJECTION = "launch_proof.foreign_compute"
ALSO_FLAGGED = ()

cuda_source = r"""
#include <ATen/ATen.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAException.h>

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

cpp_source = "at::Tensor relu2(at::Tensor x);"

_ext = load_inline(
    name="kw_adv_operator_torch_compute",
    cpp_sources=cpp_source,
    cuda_sources=cuda_source,
    functions=['relu2'],
    extra_cuda_cflags=["-O3"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return _ext.relu2(x) + y
