import torch
import torch.nn as nn


class Model(nn.Module):
    """out = x + y (a tiny task for fault-injection runs)."""

    def forward(self, x, y):
        return x + y


def get_inputs():
    return [torch.rand(1 << 20), torch.rand(1 << 20)]


def get_init_inputs():
    return []
