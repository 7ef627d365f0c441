"""Sakana-compatible parquet import / export (streaming, pyarrow record batches).

Column set = the 18 columns of SakanaAI's AI-CUDA-Engineer-Archive, followed by ``kw_*`` columns
that carry kernelwright's extra fields. Sakana files (no ``kw_*`` columns) import with defaults;
our own exports round-trip losslessly except for the two fields the import policy sets:

* ``verified`` is always False on import (even if ``kw_verified`` is True): a file is a claim, not
  a measurement - only our evaluator, on our hardware, may mark a kernel verified. Re-check the
  rows to promote them (a verified put of the same code replaces the unverified row).
* ``source`` becomes ``"import:<file name>"``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from . import features
from .entry import ArchiveEntry
from .errors import ArchiveFormatError, MissingColumnsError

if TYPE_CHECKING:
    from .store import ArchiveStore

# (column, arrow type, ArchiveEntry field)
SAKANA_COLUMNS: tuple[tuple[str, pa.DataType, str], ...] = (
    ("Op_Name", pa.string(), "task_name"),
    ("Level_ID", pa.int64(), "level"),
    ("Task_ID", pa.int64(), "task_id"),
    ("Kernel_Name", pa.string(), "kernel_name"),
    ("CUDA_Runtime", pa.float64(), "runtime_ms"),
    ("PyTorch_Native_Runtime", pa.float64(), "eager_ms"),
    ("PyTorch_Compile_Runtime", pa.float64(), "compile_ms"),
    ("CUDA_Speedup_Native", pa.float64(), "speedup_eager"),
    ("CUDA_Speedup_Compile", pa.float64(), "speedup_compile"),
    ("CUDA_Code", pa.string(), "cuda_source"),
    ("PyTorch_Code_Module", pa.string(), "module_source"),
    ("PyTorch_Code_Functional", pa.string(), "functional_source"),
    ("Correct", pa.bool_(), "correct"),
    ("Max_Diff", pa.float64(), "max_abs_error"),
    ("Error", pa.string(), "error"),
    ("NCU_Profile", pa.string(), "ncu_profile"),
    ("Torch_Profile", pa.string(), "torch_profile"),
    ("Clang_Tidy", pa.string(), "clang_tidy"),
)
KW_COLUMNS: tuple[tuple[str, pa.DataType, str], ...] = (
    ("kw_id", pa.string(), "id"),
    ("kw_op_signature", pa.string(), "op_signature"),
    ("kw_ops", pa.list_(pa.string()), "ops"),
    ("kw_input_shapes", pa.list_(pa.list_(pa.int64())), "input_shapes"),
    ("kw_input_dtypes", pa.list_(pa.string()), "input_dtypes"),
    ("kw_format", pa.string(), "format"),
    ("kw_verified", pa.bool_(), "verified"),
    ("kw_max_rel_error", pa.float64(), "max_rel_error"),
    ("kw_hardware", pa.string(), "hardware"),
    ("kw_parent_ids", pa.list_(pa.string()), "parent_ids"),
    ("kw_created_at", pa.float64(), "created_at"),
    ("kw_code_hash", pa.string(), "code_hash"),
    ("kw_source", pa.string(), "source"),
)
SCHEMA = pa.schema([pa.field(c, t) for c, t, _ in SAKANA_COLUMNS + KW_COLUMNS])
SAKANA_COLUMN_NAMES = tuple(c for c, _, _ in SAKANA_COLUMNS)
KW_COLUMN_NAMES = tuple(c for c, _, _ in KW_COLUMNS)
# Without these a row is not a kernel record; the other columns default when absent.
REQUIRED_COLUMNS = (
    "Op_Name", "Level_ID", "Task_ID", "Kernel_Name", "CUDA_Code", "PyTorch_Code_Module",
    "PyTorch_Code_Functional", "Correct",
)

_FLOAT_FIELDS = {f for _, t, f in SAKANA_COLUMNS + KW_COLUMNS if t == pa.float64()}
_STR_FIELDS = {f for _, t, f in SAKANA_COLUMNS + KW_COLUMNS if t == pa.string()}
_INT_FIELDS = {"level", "task_id"}


@dataclass
class ImportResult:
    total: int = 0
    inserted: int = 0
    duplicates: int = 0
    replaced: int = 0


# ---- export ---------------------------------------------------------------------------------
def _row(e: ArchiveEntry) -> dict[str, Any]:
    d: dict[str, Any] = {}
    for col, _, f in SAKANA_COLUMNS + KW_COLUMNS:
        d[col] = getattr(e, f)
    return d


def _batch(entries: list[ArchiveEntry]) -> pa.RecordBatch:
    cols: dict[str, list[Any]] = {c: [] for c in SCHEMA.names}
    for e in entries:
        for col, v in _row(e).items():
            cols[col].append(v)
    return pa.RecordBatch.from_pydict(cols, schema=SCHEMA)


def export_parquet(
    source: "ArchiveStore | Iterable[ArchiveEntry]",
    path: str | os.PathLike[str],
    batch: int = 1024,
    on_progress: Callable[[int, int], None] | None = None,
) -> int:
    """Write entries (a store or any iterable) to ``path``; returns the row count."""
    total = 0
    entries: Iterable[ArchiveEntry]
    if hasattr(source, "iter_entries"):
        total = source.count()  # type: ignore[union-attr]
        entries = source.iter_entries()  # type: ignore[union-attr]
    else:
        entries = source  # type: ignore[assignment]
        if hasattr(source, "__len__"):
            total = len(source)  # type: ignore[arg-type]
    done = 0
    with pq.ParquetWriter(str(path), SCHEMA, compression="zstd") as writer:
        buf: list[ArchiveEntry] = []
        for e in entries:
            buf.append(e)
            if len(buf) >= batch:
                writer.write_batch(_batch(buf))
                done += len(buf)
                buf = []
                if on_progress:
                    on_progress(done, total)
        if buf or done == 0:
            writer.write_batch(_batch(buf))
            done += len(buf)
            if on_progress:
                on_progress(done, total)
    return done


# ---- import ---------------------------------------------------------------------------------
def _open(path: str | os.PathLike[str]) -> pq.ParquetFile:
    if not os.path.exists(path):
        raise ArchiveFormatError(f"{path}: no such file")
    try:
        pf = pq.ParquetFile(str(path))
    except (pa.ArrowInvalid, pa.ArrowException, OSError) as e:
        raise ArchiveFormatError(f"{path} is not a readable parquet file: {e}") from e
    names = set(pf.schema_arrow.names)
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise MissingColumnsError(str(path), missing)
    return pf


def _clean(field: str, v: Any) -> Any:
    if field in _FLOAT_FIELDS:
        if v is None:
            return 0.0
        try:
            f = float(v)
        except (TypeError, ValueError):
            return 0.0
        return 0.0 if math.isnan(f) or math.isinf(f) else f
    if field in _INT_FIELDS:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return None
        try:
            return int(v)
        except (TypeError, ValueError):
            return None
    if field in _STR_FIELDS:
        return "" if v is None else str(v)
    if field in ("correct", "verified"):
        if isinstance(v, str):
            return v.strip().lower() in ("true", "1", "yes")
        return bool(v) if v is not None else False
    if field == "input_shapes":
        return [[int(x) for x in s] for s in (v or []) if s is not None]
    if field in ("ops", "input_dtypes", "parent_ids"):
        return [str(x) for x in (v or []) if x is not None]
    return v


def read_parquet(
    path: str | os.PathLike[str],
    batch: int = 1024,
    default_hardware: str = "",
    on_progress: Callable[[int, int], None] | None = None,
) -> Iterator[ArchiveEntry]:
    """Stream ``ArchiveEntry`` rows from a Sakana-compatible parquet file.

    Rows get ``verified=False`` and ``source="import:<file name>"``. Ops come from ``kw_ops``
    when present, else from ``Op_Name``, else from the functional code.
    """
    pf = _open(path)
    names = set(pf.schema_arrow.names)
    cols = [(c, f) for c, _, f in SAKANA_COLUMNS + KW_COLUMNS if c in names]
    total = pf.metadata.num_rows
    provenance = f"import:{os.path.basename(str(path))}"
    done = 0
    try:
        for rb in pf.iter_batches(batch_size=batch, columns=[c for c, _ in cols]):
            data = {c: rb.column(c).to_pylist() for c, _ in cols}
            for i in range(rb.num_rows):
                kw: dict[str, Any] = {f: _clean(f, data[c][i]) for c, f in cols}
                e = ArchiveEntry(**kw)
                if not e.ops:
                    e.ops = features.ops_from_op_name(e.task_name) or (
                        features.ops_from_functional_source(e.functional_source)
                    )
                if not e.op_signature and e.ops:
                    e.op_signature = "+".join(e.ops)
                if not e.hardware:
                    e.hardware = default_hardware
                e.verified = False  # policy: a file is a claim, not our measurement
                e.source = provenance
                yield e
            done += rb.num_rows
            if on_progress:
                on_progress(done, total)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
        raise ArchiveFormatError(f"{path}: unreadable column data: {e}") from e


def import_parquet(
    store: "ArchiveStore",
    path: str | os.PathLike[str],
    batch: int = 1024,
    default_hardware: str = "",
    on_progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Stream ``path`` into ``store`` with ``put_many``; de-duplicates like ``put``."""
    res = ImportResult()
    buf: list[ArchiveEntry] = []

    def flush() -> None:
        for r in store.put_many(buf, batch=len(buf) or 1):
            res.total += 1
            if r.replaced:
                res.replaced += 1
            elif r.duplicate:
                res.duplicates += 1
            else:
                res.inserted += 1
        buf.clear()

    for e in read_parquet(path, batch=batch, default_hardware=default_hardware,
                          on_progress=on_progress):
        buf.append(e)
        if len(buf) >= batch:
            flush()
    if buf:
        flush()
    return res
