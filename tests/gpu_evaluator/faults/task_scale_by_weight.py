import torch
import torch.nn as nn


class Model(nn.Module):
    """out = x * weight (a tiny task with a parameter, for the parameter-write case)."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(1 << 16))

    def forward(self, x):
        return x * self.weight


def get_inputs():
    return [torch.rand(64, 1 << 16)]


def get_init_inputs():
    return []
