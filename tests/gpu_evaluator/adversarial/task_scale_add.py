"""Tiny fixed task for the gpu-evaluator adversarial corpus: out = relu(x) * 2 + y.

KernelBench format (Model / get_inputs / get_init_inputs). Inputs are fp32 (256, 1024); randn so
that the relu branch matters. `batch_size` is the dimension a shape-varied trial should change.
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    """out = relu(x) * 2.0 + y, elementwise on two same-shaped tensors."""

    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.relu(x) * 2.0 + y


batch_size = 256
dim = 1024


def get_inputs():
    return [torch.randn(batch_size, dim), torch.randn(batch_size, dim)]


def get_init_inputs():
    return []
