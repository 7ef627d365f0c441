"""Timing by CUDA events around the whole forward, closed by a device-wide synchronize.

The synchronize before the end event means work a candidate leaves on other streams is counted.
L2 is flushed before every trial by writing a buffer larger than L2, and input sets are rotated so
no trial sees the previous trial's data in cache. The same function times eager, torch.compile and
the candidate back to back in one process.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch


@dataclass
class TimingResult:
    times_ms: list[float]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def iqr_ms(self) -> float:
        q = statistics.quantiles(self.times_ms, n=4)
        return q[2] - q[0]

    @property
    def min_ms(self) -> float:
        return min(self.times_ms)

    @property
    def mean_ms(self) -> float:
        return statistics.fmean(self.times_ms)


class L2Flusher:
    def __init__(self, device: torch.device) -> None:
        l2 = getattr(torch.cuda.get_device_properties(device), "L2_cache_size", 50 * 2**20) or 50 * 2**20
        self._buffer = torch.empty(max(4 * l2, 256 * 2**20) // 4, dtype=torch.int32, device=device)

    def flush(self) -> None:
        self._buffer.zero_()


def time_forward(
    fn: Callable[..., object],
    input_sets: Sequence[Sequence[object]],
    *,
    trials: int,
    warmup: int,
    flusher: L2Flusher,
) -> TimingResult:
    if trials < 1:
        raise ValueError("trials must be >= 1")
    with torch.no_grad():
        for i in range(warmup):
            fn(*input_sets[i % len(input_sets)])
        torch.cuda.synchronize()
        starts = [torch.cuda.Event(enable_timing=True) for _ in range(trials)]
        ends = [torch.cuda.Event(enable_timing=True) for _ in range(trials)]
        for i in range(trials):
            args = input_sets[i % len(input_sets)]
            flusher.flush()
            starts[i].record()
            fn(*args)
            torch.cuda.synchronize()  # device-wide: side-stream work lands inside the bracket
            ends[i].record()
        torch.cuda.synchronize()
    return TimingResult([s.elapsed_time(e) for s, e in zip(starts, ends)])
