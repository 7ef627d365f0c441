"""Back-end matrix for the archive congruence suite.

Every test using the ``store`` fixture runs against:
  memory          - qdrant-client local mode in memory, in-process search index
  memory-qdrant   - the same, but searching with the Qdrant query plan (what remote runs)
  disk            - qdrant-client local mode on disk (tmp folder)
  remote          - a Qdrant server at $KW_TEST_QDRANT_URL (skipped when unset)
"""

from __future__ import annotations

import os
import uuid

import pytest

from kernelwright.archive.store import ArchiveStore

BACKENDS = ["memory", "memory-qdrant", "disk", "remote"]


def open_backend(kind: str, tmp_path) -> ArchiveStore:
    if kind == "memory":
        return ArchiveStore.open(memory=True)
    if kind == "memory-qdrant":
        s = ArchiveStore.open(memory=True)
        s.search_engine = "qdrant"
        return s
    if kind == "disk":
        return ArchiveStore.open(path=str(tmp_path / "archive"))
    if kind == "remote":
        url = os.environ.get("KW_TEST_QDRANT_URL")
        if not url:
            pytest.skip("remote back end: set KW_TEST_QDRANT_URL to a Qdrant server to run")
        return ArchiveStore.open(
            url=url,
            collection=f"kw_test_{uuid.uuid4().hex[:12]}",
            api_key=os.environ.get("KW_TEST_QDRANT_API_KEY"),
        )
    raise ValueError(kind)


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    s = open_backend(request.param, tmp_path)
    yield s
    if not s.closed:
        if s.kind == "remote":
            s._c().delete_collection(s.collection)
        s.close()
