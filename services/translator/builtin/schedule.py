"""The knobs stage 3 searches for a lowered task, the default grid, mutation and crossover."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace

__all__ = ["KNOB_VALUES", "LoweringSchedule", "crossover", "default_grid", "neighbours"]

# Allowed values per knob, in order (mutation steps to the adjacent values).
KNOB_VALUES: dict[str, tuple[int, ...]] = {
    "block_size": (64, 128, 256, 512, 1024),  # threads per block of pointwise / scan / pooling kernels
    "unroll": (1, 2, 4, 8),  # elements per thread per grid-stride step (independent work for ILP)
    "reduce_block": (64, 128, 256, 512, 1024),  # threads per output row in block reductions
    # 0 auto, 1 one block per output (warp shuffles), 2 one thread per output, 3 one warp per output
    # (blockDim/32 outputs per block, shuffles only). Auto: thread per output when the innermost dim
    # is kept, else warp per output up to stage_reduce.WARP_MAX_EXTENT elements per output, else block.
    "reduce_strategy": (0, 1, 2, 3),
    "use_library": (0, 1),  # 1: GEMM/conv through a LibraryCall (cuBLAS/cuDNN); 0: own kernels
    "gemm_schedule": tuple(range(8)),  # index into compute_kernels.GEMM_SCHEDULES
    "conv_schedule": tuple(range(8)),  # index into compute_kernels.CONV_SCHEDULES
    # Parts per output of a reduction with few outputs (split reduction, stage_reduce.split_count;
    # column split of a thread-per-output one, stage_reduce.column_split_count):
    # 0 auto, 1 never split, else that many parts.
    "reduce_splits": (0, 1, 8, 32, 128),
}


@dataclass(frozen=True)
class LoweringSchedule:
    block_size: int = 256
    unroll: int = 1
    reduce_block: int = 256
    reduce_strategy: int = 0
    use_library: int = 1
    gemm_schedule: int = 0
    conv_schedule: int = 0
    reduce_splits: int = 0

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if v not in KNOB_VALUES[f.name]:
                raise ValueError(f"{f.name}={v} not in {KNOB_VALUES[f.name]}")

    def as_map(self) -> dict[str, int]:
        return dict(asdict(self))

    @classmethod
    def from_map(cls, m: Mapping[str, int]) -> LoweringSchedule:
        """The schedule a candidate's ``schedule`` map describes (unknown keys ignored, invalid -> default)."""
        kw = {}
        for f in fields(cls):
            if f.name in m and int(m[f.name]) in KNOB_VALUES[f.name]:
                kw[f.name] = int(m[f.name])
        return cls(**kw)


def default_grid(has_library: bool, library_only: bool) -> list[LoweringSchedule]:
    """Deterministic first candidates: library path first (when there is one), then own kernels."""
    base = [LoweringSchedule(256, 1, 256, 0), LoweringSchedule(128, 4, 512, 0), LoweringSchedule(512, 2, 128, 0),
            LoweringSchedule(256, 1, 256, 2)]
    if library_only:
        return [LoweringSchedule(use_library=0, gemm_schedule=g, conv_schedule=g) for g in (0, 1, 2)]
    if not has_library:
        return base
    return base[:3] + [LoweringSchedule(use_library=0), LoweringSchedule(128, 4, 512, 0, 0, 1, 1)]


def neighbours(s: LoweringSchedule, *, has_library: bool) -> list[LoweringSchedule]:
    """Schedules one knob step away from ``s`` (deterministic order)."""
    out: list[LoweringSchedule] = []
    for f in fields(s):
        if not has_library and f.name in ("use_library", "gemm_schedule", "conv_schedule"):
            continue
        vals = KNOB_VALUES[f.name]
        i = vals.index(getattr(s, f.name))
        for j in (i - 1, i + 1):
            if 0 <= j < len(vals):
                out.append(replace(s, **{f.name: vals[j]}))
    return out


def crossover(a: LoweringSchedule, b: LoweringSchedule) -> list[LoweringSchedule]:
    """Two children taking alternate knobs from each parent (and the mirror image)."""
    names = [f.name for f in fields(a)]
    c1 = {n: getattr(a if i % 2 == 0 else b, n) for i, n in enumerate(names)}
    c2 = {n: getattr(b if i % 2 == 0 else a, n) for i, n in enumerate(names)}
    kids = [LoweringSchedule(**c1), LoweringSchedule(**c2)]
    return [k for k in dict.fromkeys(kids) if k not in (a, b)]
