"""Timing by CUDA events around the whole forward, closed by a device-wide synchronize.

The synchronize before the end event means work a candidate leaves on other streams is counted.
L2 is flushed before every trial by writing a buffer larger than L2, and input sets are rotated so
no trial sees the previous trial's data in cache. The same function times eager, torch.compile and
the candidate back to back in one process.

``refill=True`` (what the evaluator uses) hands every call the *same* input tensors and rewrites
their contents in place before each call with one of the input sets, chosen at random: a candidate
that caches its result by input pointer (however it spells the cache) then returns a stale output.
``audit_sets`` (with ``refill``): one trial per audit set, at a random place in its own stretch of the
trials, gets that set's contents
(which no earlier call has seen), and its output is kept (cloned after the trial's end event, so
outside the timed window) for the caller to check against the reference: a result reused from any
earlier call cannot match. The refill copy and the clone are outside the events, before the L2
flush, for all three timed callables alike. ``on_audited(j, output)`` (a task whose inputs are
gigabytes: eight kept outputs would not fit next to the reference's) hands each audited output to the
caller right after its trial instead of keeping it, still outside the timed window; ``audit_sets``
may then be a :class:`LazySets` that makes each set only when its trial comes.
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
    # (audit set index, output) of the audited trials (time_forward's ``audit_sets``).
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


class LazySets(Sequence):
    """``count`` input sets made by ``make(j)`` when first asked for; only the latest is kept (the
    audited trials use them in order, and the caller checks each right after its trial)."""

    def __init__(self, count: int, make: Callable[[int], Sequence[object]]) -> None:
        self._count, self._make = count, make
        self._last: tuple[int, Sequence[object]] | None = None

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, j):  # type: ignore[override]
        if not 0 <= j < self._count:
            raise IndexError(j)
        if self._last is None or self._last[0] != j:
            self._last = None  # free the previous set before making the next
            self._last = (j, self._make(j))
        return self._last[1]


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
    audit_sets: Sequence[Sequence[object]] = (),
    rng: random.Random | None = None,
    on_audited: Callable[[int, Any], None] | None = None,
) -> TimingResult:
    if trials < 1:
        raise ValueError("trials must be >= 1")
    if audit_sets and not refill:
        raise ValueError("audit_sets need refill=True")
    # Not seeded from anything a candidate can read: which content each call sees, and which trials
    # are checked, must not be predictable.
    rng = rng or random.SystemRandom()
    n = len(input_sets)
    buffers = [x.clone() if isinstance(x, torch.Tensor) else x for x in input_sets[0]] if refill else None
    # One audited trial at a random place in each of len(audit_sets) equal stretches of the trials: a
    # reused result that runs for a stretch (enough to move the median) is audited with certainty; one
    # used on every other call escapes k audits with probability 2**-k.
    k = min(len(audit_sets), trials)
    audited = {rng.randrange(j * trials // k, (j + 1) * trials // k): j for j in range(k)}
    kept: list[tuple[int, Any]] = []

    def args_for(i: int, contents: Sequence[object] | None = None) -> Sequence[object]:
        if buffers is None:
            return input_sets[i % n]
        for b, x in zip(buffers, contents if contents is not None else input_sets[rng.randrange(n)]):
            if isinstance(b, torch.Tensor):
                b.copy_(x)
        return buffers

    with torch.no_grad():
        for i in range(warmup):
            fn(*args_for(i))
        torch.cuda.synchronize()
        starts = [torch.cuda.Event(enable_timing=True) for _ in range(trials)]
        ends = [torch.cuda.Event(enable_timing=True) for _ in range(trials)]
        for i in range(trials):
            j = audited.get(i)
            # An audited trial gets contents no earlier call has seen: a reused result cannot match.
            args = args_for(i, audit_sets[j] if j is not None else None)
            flusher.flush()
            starts[i].record()
            out = fn(*args)
            torch.cuda.synchronize()  # device-wide: side-stream work lands inside the bracket
            ends[i].record()
            if j is not None:
                if on_audited is not None:
                    on_audited(j, out)
                else:
                    kept.append((j, _clone_output(out)))
            del out
        torch.cuda.synchronize()
    return TimingResult([s.elapsed_time(e) for s, e in zip(starts, ends)], kept)
