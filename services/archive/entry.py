"""The archive record: one CUDA kernel and what we know about it."""

from __future__ import annotations

import dataclasses
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

KNOWN_FORMATS = ("kernelbench", "fast", "")
SOURCE_KERNELWRIGHT = "kernelwright"


@dataclass
class ArchiveEntry:
    """One archived kernel.

    ``verified`` is True only when kernelwright's own evaluator checked the kernel; rows that come
    from a file (``source="import:<file>"``) are always stored with ``verified=False``.
    ``code_hash`` is set by the store (normalized hash of ``cuda_source``).
    """

    id: str = ""
    task_name: str = ""
    op_signature: str = ""
    level: int | None = None
    task_id: int | None = None
    ops: list[str] = field(default_factory=list)
    input_shapes: list[list[int]] = field(default_factory=list)
    input_dtypes: list[str] = field(default_factory=list)
    module_source: str = ""
    functional_source: str = ""
    cuda_source: str = ""
    format: str = ""
    kernel_name: str = ""
    correct: bool = False
    verified: bool = False
    max_abs_error: float = 0.0
    max_rel_error: float = 0.0
    error: str = ""
    runtime_ms: float = 0.0
    eager_ms: float = 0.0
    compile_ms: float = 0.0
    speedup_eager: float = 0.0
    speedup_compile: float = 0.0
    hardware: str = ""
    parent_ids: list[str] = field(default_factory=list)
    created_at: float = 0.0
    ncu_profile: str = ""
    torch_profile: str = ""
    clang_tidy: str = ""
    code_hash: str = ""
    source: str = SOURCE_KERNELWRIGHT

    # ---- (de)serialization -------------------------------------------------------------------
    def to_payload(self) -> dict[str, Any]:
        """JSON-safe dict of every field (the Qdrant payload)."""
        d = dataclasses.asdict(self)
        d["ops"] = [str(o) for o in self.ops]
        d["input_shapes"] = [[int(x) for x in s] for s in self.input_shapes]
        d["input_dtypes"] = [str(x) for x in self.input_dtypes]
        d["parent_ids"] = [str(x) for x in self.parent_ids]
        return d

    @classmethod
    def from_payload(cls, payload: dict[str, Any], id: str | None = None) -> "ArchiveEntry":
        kwargs: dict[str, Any] = {}
        for f in _FIELDS:
            if f.name in payload and payload[f.name] is not None:
                kwargs[f.name] = payload[f.name]
        if "level" in payload:
            kwargs["level"] = payload["level"]
        if "task_id" in payload:
            kwargs["task_id"] = payload["task_id"]
        entry = cls(**kwargs)
        if id is not None:
            entry.id = str(id)
        entry.input_shapes = [list(s) for s in entry.input_shapes]
        return entry

    def copy(self, **changes: Any) -> "ArchiveEntry":
        return dataclasses.replace(self, **changes)


_FIELDS = dataclasses.fields(ArchiveEntry)
FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in _FIELDS)


def new_id() -> str:
    return str(uuid.uuid4())


def now() -> float:
    return time.time()
