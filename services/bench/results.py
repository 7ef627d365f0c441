"""The per-task result of a benchmark run, and its JSONL file (one line per finished task).

Lines are appended and flushed as each task finishes, so a crash loses nothing and ``--resume``
can skip what is done. Reading tolerates a torn last line (the one a crash may leave).
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

# Run outcomes recorded in ``TaskResult.outcome``. The first three are the evolver's final states;
# ERROR is infrastructure (evolver unreachable, StartRun refused). --resume runs ERROR and
# CANCELLED tasks again: neither says what the task can do.
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
CANCELLED = "CANCELLED"
ERROR = "ERROR"
FINAL_OUTCOMES = (SUCCEEDED, FAILED, CANCELLED)
DONE_OUTCOMES = (SUCCEEDED, FAILED)


@dataclass
class TaskResult:
    """What one task's run produced. Times in milliseconds; a speedup of 0 means not measured."""

    task: str
    level: int = 0
    task_id: int = 0
    path: str = ""
    correct: bool = False
    outcome: str = ERROR
    ours_ms: float = 0.0
    eager_ms: float = 0.0
    compile_ms: float = 0.0
    speedup_eager: float = 0.0
    speedup_compile: float = 0.0
    gpu: str = ""
    date: str = ""            # ISO 8601, UTC, when the task finished
    candidate_id: str = ""
    proposer: str = ""
    reason: str = ""          # why not correct (or the run's closing message)
    run_id: str = ""
    candidates: int = 0       # candidates evaluated by the run
    wall_s: float = 0.0
    verdict_outcome: str = ""  # the best candidate's VerdictOutcome name, without the prefix
    candidate_format: str = ""  # "fast" or "kernelbench"
    max_abs_error: float = 0.0
    cuda_source: str = ""
    module_source: str = ""
    functional_source: str = ""

    @property
    def key(self) -> str:
        """Identity for --resume: the level and the task name (names repeat across levels)."""
        return f"{self.level}/{self.task}"

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict) -> "TaskResult":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


class ResultsWriter:
    """Appends results to a JSONL file, one flushed and fsynced line per task; thread-safe."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._end_torn_line()

    def _end_torn_line(self) -> None:
        """A crash can leave a last line without its newline; end it so the next line stands alone."""
        if not self.path.is_file() or self.path.stat().st_size == 0:
            return
        with open(self.path, "rb+") as f:
            f.seek(-1, os.SEEK_END)
            if f.read(1) != b"\n":
                f.write(b"\n")

    def append(self, result: TaskResult) -> None:
        line = result.to_json() + "\n"
        with self._lock, open(self.path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())


def read_results(path: Path) -> Iterator[TaskResult]:
    """Results from a JSONL file; blank lines and a torn (unparseable) line are skipped."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a crash; the task runs again on --resume
            if isinstance(data, dict) and "task" in data:
                yield TaskResult.from_dict(data)


def latest_by_task(results: Iterable[TaskResult]) -> list[TaskResult]:
    """One result per task (the last one wins: a resumed retry replaces an earlier ERROR), in first-seen order."""
    by_key: dict[str, TaskResult] = {}
    for r in results:
        by_key[r.key] = r  # dict keeps the first insertion position, the value is the latest
    return list(by_key.values())


def done_keys(path: Path) -> set[str]:
    """Tasks whose latest result in ``path`` is done: what --resume skips (ERROR, CANCELLED run again)."""
    if not path.is_file():
        return set()
    return {r.key for r in latest_by_task(read_results(path)) if r.outcome in DONE_OUTCOMES}
