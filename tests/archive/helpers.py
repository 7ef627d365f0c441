from __future__ import annotations

from kernelwright.archive.entry import ArchiveEntry

CONV_RELU_FN = """import torch
import torch.nn.functional as F

def module_fn(x, conv_weight, conv_bias):
    x = F.conv2d(x, conv_weight, conv_bias, padding=1)
    x = torch.relu(x)
    return x
"""
MATMUL_SOFTMAX_FN = """import torch

def module_fn(a, b):
    x = torch.matmul(a, b)
    x = torch.softmax(x, dim=1)
    return x
"""
CONV3D_TANH_FN = """import torch
import torch.nn.functional as F

def module_fn(x, w, b):
    x = F.conv3d(x, w, b)
    return torch.tanh(x)
"""


def make(
    task: str = "t",
    ops=("conv2d", "relu"),
    code: str = "__global__ void k(float* x) { x[threadIdx.x] = 0.0f; }",
    fn: str = CONV_RELU_FN,
    shapes=((16, 3, 64, 64),),
    **kw,
) -> ArchiveEntry:
    base = dict(
        task_name=task,
        ops=list(ops),
        input_shapes=[list(s) for s in shapes],
        input_dtypes=["float32"] * len(shapes),
        functional_source=fn,
        module_source="class Model(nn.Module): ...",
        cuda_source=code,
        format="kernelbench",
        kernel_name=task.lower(),
        correct=True,
        hardware="NVIDIA H100 80GB HBM3",
        level=2,
        task_id=1,
        runtime_ms=1.0,
        eager_ms=2.0,
        speedup_eager=2.0,
    )
    base.update(kw)
    return ArchiveEntry(**base)
