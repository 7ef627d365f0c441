from __future__ import annotations

import json

from kernelwright.common.v1 import kernel_pb2, task_pb2
from kernelwright.translator.proposers import ProposalRequest, SteppingStone

TASK_SOURCE = '''import torch
import torch.nn as nn

class Model(nn.Module):
    def forward(self, x):
        return torch.relu(x)

def get_inputs():
    return [torch.randn(16, 16384)]

def get_init_inputs():
    return []
'''
FUNCTIONAL = "def forward(x):\n    return torch.relu(x)\n"

MODEL_NEW = '''import torch
from torch.utils.cpp_extension import load_inline

src = "__global__ void relu_k(const float* x, float* y, long long n) {}"
ext = load_inline(name="relu", cpp_sources="", cuda_sources=src, functions=["relu"])

class ModelNew(torch.nn.Module):
    def forward(self, x):
        return ext.relu(x)
'''

CUDA = '''extern "C" __global__ void relu_kernel(const float* __restrict__ x, float* __restrict__ out, long long n) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = x[i] > 0.f ? x[i] : 0.f;
}
'''
PLAN = {
    "allocations": [{"name": "out", "shape": [{"expr": "in0.shape[0]"}, {"expr": "in0.shape[1]"}],
                     "dtype": "float32", "isOutput": True}],
    "steps": [{"launch": {"kernel": "relu_kernel", "grid": [{"expr": "ceil_div(in0.numel, 256)"}],
                          "block": [{"expr": "256"}],
                          "args": [{"tensor": "in0"}, {"tensor": "out"}, {"intExpr": {"expr": "in0.numel"}}]}}],
}
PLAN_JSON = json.dumps(PLAN, indent=1)

GOOD_KB_ANSWER = f"Here is the kernel.\n\n```python\n{MODEL_NEW}```\n\nIt fuses nothing; ReLU is elementwise."
GOOD_FAST_ANSWER = f"Plan:\n\n```cuda\n{CUDA}```\n\nand\n\n```json\n{PLAN_JSON}\n```\nDone."
NO_CODE_ANSWER = "I think you should use a grid-stride loop. Good luck!"
NO_MODELNEW_ANSWER = "```python\nimport torch\nclass Model(torch.nn.Module):\n    pass\n```"
BAD_PLAN_ANSWER = f"```cuda\n{CUDA}```\n```json\n{{\"allocations\": [oops]}}\n```"

KB = kernel_pb2.CANDIDATE_FORMAT_KERNELBENCH
FAST = kernel_pb2.CANDIDATE_FORMAT_FAST


def request(fmt: int = KB, **kw) -> ProposalRequest:
    base = dict(
        task_name="19_ReLU", task_source=TASK_SOURCE, functional_source=FUNCTIONAL, format=fmt, ops=["relu"],
        input_specs=[task_pb2.TensorSpec(shape=[16, 16384], dtype="float32")], target_gpu="NVIDIA H100",
        stepping_stones=[SteppingStone("__global__ void stone_kernel() {}", 2.5, "float4 loads")],
    )
    base.update(kw)
    return ProposalRequest(**base)
