"""Fault: the extension's host code dereferences a null pointer -> SIGSEGV kills the worker."""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cuda_source = r"""
#include <torch/extension.h>
__global__ void vector_add_kernel(const float* x, const float* y, float* out, long long n) {
    long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (i < n) out[i] = x[i] + y[i];
}
torch::Tensor vector_add(torch::Tensor x, torch::Tensor y) {
    auto out = torch::empty_like(x);
    long long n = x.numel();
    vector_add_kernel<<<(n + 255) / 256, 256>>>(x.data_ptr<float>(), y.data_ptr<float>(), out.data_ptr<float>(), n);
    volatile int* p = nullptr;
    if (n > 0) *p = 1;
    return out;
}
"""
cpp_source = "torch::Tensor vector_add(torch::Tensor x, torch::Tensor y);"

ext = load_inline(name="kw_fault_segfault", cpp_sources=cpp_source, cuda_sources=cuda_source,
                  functions=["vector_add"], verbose=False)


class ModelNew(nn.Module):
    def forward(self, x, y):
        return ext.vector_add(x, y)
