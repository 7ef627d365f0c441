"""Exceptions raised by the archive domain layer."""

from __future__ import annotations


class ArchiveError(Exception):
    """Base class of every archive error."""


class ArchiveLocked(ArchiveError):
    """The embedded (on-disk) archive folder is held by another process."""

    def __init__(self, path: str):
        self.path = path
        super().__init__(
            f"archive folder {path} is in use by another process "
            "(embedded Qdrant allows one opener; use a Qdrant server URL for shared access)"
        )


class ArchiveClosed(ArchiveError):
    """An operation was attempted on a closed store."""


class ArchiveFormatError(ArchiveError):
    """An import file is not a readable parquet file of the expected shape."""


class MissingColumnsError(ArchiveFormatError):
    """An import file lacks required columns."""

    def __init__(self, path: str, missing: list[str]):
        self.path = path
        self.missing = list(missing)
        super().__init__(
            f"{path}: missing required column(s): {', '.join(self.missing)}"
        )
