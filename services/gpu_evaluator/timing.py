"""Timing by CUDA events around the whole forward, closed by a device-wide synchronize.

The synchronize before the end event means work a candidate leaves on other streams is counted.
L2 is flushed before every trial by writing a buffer larger than L2, and input sets are rotated so
no trial sees the previous trial's data in cache. The same function times eager, torch.compile and
the candidate back to back in one process.

``refill=True`` (what the evaluator uses) hands every call the *same* input tensors and rewrites
their contents in place before each call with one of the input sets, chosen at random: a candidate
that caches its result by input pointer (however it spells the cache) then returns a stale output.
``keep=k`` keeps the outputs of k trials chosen at random (cloned after the trial's end event, so
outside the timed window) with the index of the input set each one was computed from, for the caller
to check against the reference; a kept trial's contents differ from the first call's and the previous
call's (with three or more input sets), so a result computed once and reused cannot match. The refill copy and the clone are outside the events, before the L2
flush, for all three timed callables alike.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass
class TimingResult:
    times_ms: list[float]
    # (input set index, output) of the trials kept for checking (time_forward's ``keep``).
    kept: list[tuple[int, Any]] = field(default_factory=list)

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


def _clone_output(out: Any) -> Any:
    if isinstance(out, torch.Tensor):
        return out.clone()
    if isinstance(out, (tuple, list)):
        return type(out)(_clone_output(o) for o in out)
    return out


def time_forward(
    fn: Callable[..., object],
    input_sets: Sequence[Sequence[object]],
    *,
    trials: int,
    warmup: int,
    flusher: L2Flusher,
    refill: bool = False,
    keep: int = 0,
    rng: random.Random | None = None,
) -> TimingResult:
    if trials < 1:
        raise ValueError("trials must be >= 1")
    # Not seeded from anything a candidate can read: which content each call sees, and which trials
    # are checked, must not be predictable.
    rng = rng or random.SystemRandom()
    n = len(input_sets)
    buffers = [x.clone() if isinstance(x, torch.Tensor) else x for x in input_sets[0]] if refill else None
    kept_at = set(rng.sample(range(trials), min(keep, trials)))
    kept: list[tuple[int, Any]] = []

    history: list[int] = []  # input set of every call so far

    def args_for(i: int, checked: bool = False) -> tuple[int, Sequence[object]]:
        if buffers is None:
            return i % n, input_sets[i % n]
        choices = list(range(n))
        if checked and history:
            # A checked trial sees contents that differ from the first call's and the previous call's,
            # so a result computed once, or on the previous call, and reused is wrong here.
            choices = ([k for k in choices if k not in (history[0], history[-1])]
                       or [k for k in choices if k != history[-1]] or choices)
        k = rng.choice(choices)
        for b, x in zip(buffers, input_sets[k]):
            if isinstance(b, torch.Tensor):
                b.copy_(x)
        history.append(k)
        return k, buffers

    with torch.no_grad():
        for i in range(warmup):
            fn(*args_for(i)[1])
        torch.cuda.synchronize()
        starts = [torch.cuda.Event(enable_timing=True) for _ in range(trials)]
        ends = [torch.cuda.Event(enable_timing=True) for _ in range(trials)]
        for i in range(trials):
            k, args = args_for(i, checked=i in kept_at)
            flusher.flush()
            starts[i].record()
            out = fn(*args)
            torch.cuda.synchronize()  # device-wide: side-stream work lands inside the bracket
            ends[i].record()
            if i in kept_at:
                kept.append((k, _clone_output(out)))
            del out
        torch.cuda.synchronize()
    return TimingResult([s.elapsed_time(e) for s, e in zip(starts, ends)], kept)
