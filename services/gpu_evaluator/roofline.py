"""A lower bound on a forward's run time from its compulsory bytes and FLOPs.

Compulsory bytes: every input and parameter read once and every output written once (L2 is flushed
before each trial, so they come from DRAM). FLOPs: torch's FlopCounterMode on the reference (it
counts matmul/conv/attention; elementwise work is ignored, which only lowers the bound). Peaks are
the vendor's dense tensor-core bf16 figure and DRAM bandwidth — deliberately optimistic, so a
candidate under the bound is physically implausible, not merely fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Peak:
    bytes_per_s: float
    flops_per_s: float


# Public datasheet figures (dense, no sparsity).
_PEAKS = {
    "H200": Peak(4.8e12, 989e12),
    "H100 PCIe": Peak(2.0e12, 756e12),
    "H100 NVL": Peak(3.9e12, 835e12),
    "H100": Peak(3.35e12, 989e12),
    "A100": Peak(2.04e12, 312e12),
    "L40S": Peak(0.864e12, 362e12),
    "L4": Peak(0.3e12, 121e12),
}
# Unknown GPUs get peaks no current part reaches, so they are never falsely flagged.
_UNKNOWN = Peak(20e12, 5e15)


def peak_for(gpu_name: str) -> Peak:
    for key, peak in _PEAKS.items():  # ordered: specific variants before the family name
        if key in gpu_name:
            return peak
    return _UNKNOWN


def tensor_bytes(values: Sequence[object]) -> int:
    total = 0
    for v in values:
        if isinstance(v, torch.Tensor):
            total += v.numel() * v.element_size()
        elif isinstance(v, (list, tuple)):
            total += tensor_bytes(v)
    return total


def count_flops(model: torch.nn.Module, inputs: Sequence[object]) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(*inputs)
    return int(counter.get_total_flops())


def bound_ms(gpu_name: str, nbytes: int, flops: int) -> float:
    peak = peak_for(gpu_name)
    return 1e3 * max(nbytes / peak.bytes_per_s, flops / peak.flops_per_s)
