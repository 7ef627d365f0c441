"""Per-task results as parquet in the archive's Sakana-compatible columns (plus its ``kw_*`` columns).

One row per task, written with the archive's own writer so the file imports back with
``kernelwright archive import``. Tasks with no winning kernel get a row too (``Correct`` false,
``Error`` the reason), so the file answers "what happened to every task".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from kernelwright.archive.entry import ArchiveEntry
from kernelwright.archive.parquet_io import export_parquet

from .results import TaskResult

SOURCE = "bench"


def _timestamp(date: str) -> float:
    try:
        return dt.datetime.fromisoformat(date).timestamp()
    except ValueError:
        return 0.0


def to_entry(r: TaskResult) -> ArchiveEntry:
    return ArchiveEntry(
        id=r.candidate_id,
        task_name=r.task,
        level=r.level or None,
        task_id=r.task_id or None,
        module_source=r.module_source,
        functional_source=r.functional_source,
        cuda_source=r.cuda_source,
        format=r.candidate_format,
        kernel_name=r.candidate_id or r.task,
        correct=r.correct,
        verified=r.correct,  # our evaluator's verdict; an import still stores it unverified (archive policy)
        max_abs_error=r.max_abs_error,
        error="" if r.correct else f"{r.outcome}: {r.reason}".strip(": "),
        runtime_ms=r.ours_ms,
        eager_ms=r.eager_ms,
        compile_ms=r.compile_ms,
        speedup_eager=r.speedup_eager,
        speedup_compile=r.speedup_compile,
        hardware=r.gpu,
        created_at=_timestamp(r.date),
        source=SOURCE,
    )


def write_parquet(results: Sequence[TaskResult], path: Path) -> int:
    """Write one row per result; returns the row count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return export_parquet([to_entry(r) for r in results], path)
