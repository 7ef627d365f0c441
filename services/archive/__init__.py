"""kernelwright.archive: verified CUDA kernels and their metadata, stored in Qdrant.

Public interface (pure Python, no gRPC)::

    from kernelwright.archive import ArchiveStore, ArchiveEntry, SearchQuery
    store = ArchiveStore.open(path="~/.kw/archive")        # or url=..., or memory=True
"""

from .entry import ArchiveEntry
from .errors import (
    ArchiveClosed,
    ArchiveError,
    ArchiveFormatError,
    ArchiveLocked,
    MissingColumnsError,
)
from .parquet_io import ImportResult, export_parquet, import_parquet, read_parquet
from .query import ArchiveStats, PutResult, SearchHit, SearchQuery
from .store import ArchiveStore

__all__ = [
    "ArchiveEntry",
    "ArchiveStore",
    "ArchiveStats",
    "PutResult",
    "SearchHit",
    "SearchQuery",
    "ImportResult",
    "export_parquet",
    "import_parquet",
    "read_parquet",
    "ArchiveError",
    "ArchiveLocked",
    "ArchiveClosed",
    "ArchiveFormatError",
    "MissingColumnsError",
]
