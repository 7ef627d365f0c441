"""The population: a MAP-Elites grid of verified candidates.

Cells are keyed by two features of a candidate's *structure*, so a fast kernel of one shape does not
crowd out a slower one of a different shape that may be a better parent:

* launches — how many kernels (or library calls) the forward runs: fewer means more fusion;
* block — log2 of the threads per block of the first launch (the schedule's main knob).

Each cell keeps its fittest candidate: the lowest median time of the candidate itself. Within one
task that ranks exactly as the speedup vs eager would, but it needs no baseline, so it also works
when the search times candidates alone (``skip_baselines``). A verified but untimed candidate ranks
below every timed one; ties go to the older candidate.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass

from kernelwright.common.v1 import kernel_pb2, verdict_pb2
from kernelwright.evolver.store import VERIFIED

Cell = tuple[int, int]
_INT = re.compile(r"^\s*(\d+)\s*$")
_BLOCK_KEYS = ("block", "block_size", "threads", "block_x", "threads_per_block")


def launches(candidate: kernel_pb2.KernelCandidate) -> int:
    if candidate.format == kernel_pb2.CANDIDATE_FORMAT_FAST and candidate.plan.steps:
        return len(candidate.plan.steps)
    return max(1, candidate.kernelbench_source.count("<<<") or candidate.cuda_source.count("__global__"))


def threads_per_block(candidate: kernel_pb2.KernelCandidate) -> int:
    for key in _BLOCK_KEYS:
        if candidate.schedule.get(key, 0) > 0:
            return int(candidate.schedule[key])
    for step in candidate.plan.steps:
        if step.HasField("launch") and step.launch.block:
            total = 1
            for dim in step.launch.block:
                m = _INT.match(dim.expr)
                if not m:
                    return 0
                total *= int(m.group(1))
            return total
    return 0


def features(candidate: kernel_pb2.KernelCandidate) -> Cell:
    n = min(launches(candidate), 4)
    threads = threads_per_block(candidate)
    return n, (int(math.log2(threads)) if threads > 0 else 0)


def fitness(verdict: verdict_pb2.Verdict) -> tuple[int, float]:
    """Higher is better: (timed?, -candidate median ms); (-1, 0) for anything not verified."""
    if verdict.outcome not in VERIFIED:
        return -1, 0.0
    ms = verdict.timings.candidate.median_ms
    return (1, -ms) if ms > 0 else (0, 0.0)


@dataclass
class Elite:
    candidate: kernel_pb2.KernelCandidate
    verdict: verdict_pb2.Verdict
    order: int   # arrival order: older wins ties, so replays of the same history give the same grid

    @property
    def score(self) -> tuple[int, float, int]:
        return (*fitness(self.verdict), -self.order)


class Population:
    def __init__(self) -> None:
        self.cells: dict[Cell, Elite] = {}
        self._arrivals = 0

    def __len__(self) -> int:
        return len(self.cells)

    def add(self, candidate: kernel_pb2.KernelCandidate, verdict: verdict_pb2.Verdict) -> bool:
        """Offer a candidate; True when it became its cell's elite. Unverified ones never enter."""
        self._arrivals += 1
        if verdict.outcome not in VERIFIED:
            return False
        cell = features(candidate)
        new = Elite(candidate, verdict, self._arrivals)
        old = self.cells.get(cell)
        if old is None or new.score > old.score:
            self.cells[cell] = new
            return True
        return False

    def best(self) -> Elite | None:
        return max(self.cells.values(), key=lambda e: e.score, default=None)

    def elites(self) -> list[Elite]:
        return sorted(self.cells.values(), key=lambda e: e.score, reverse=True)

    def select(self, rng: random.Random, tournament: int = 2) -> Elite:
        """Tournament selection: the fittest of ``tournament`` elites drawn at random."""
        pool = list(self.cells.values())
        if not pool:
            raise LookupError("the population is empty")
        return max(rng.sample(pool, min(tournament, len(pool))), key=lambda e: e.score)

    def select_pair(self, rng: random.Random) -> tuple[Elite, Elite] | None:
        """Two parents with complementary strengths: one by selection, the other from a different cell
        and strongest vs torch.compile (where the compile baseline is known: full-timing searches),
        else the most fused (fewest launches)."""
        if len(self.cells) < 2:
            return None
        first = self.select(rng)
        others = [e for e in self.cells.values() if e is not first]
        second = max(others, key=lambda e: (max(0.0, e.verdict.timings.speedup_vs_compile), -launches(e.candidate),
                                            -e.order))
        return first, second
