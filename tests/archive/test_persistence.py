"""Disk back end: durability across reopen, and the single-opener folder lock."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from kernelwright.archive.errors import ArchiveLocked
from kernelwright.archive.query import SearchQuery
from kernelwright.archive.store import ArchiveStore

from .helpers import CONV_RELU_FN, make


def test_survives_reopen(tmp_path):
    path = str(tmp_path / "a")
    s = ArchiveStore.open(path=path)
    r1 = s.put(make(verified=False))
    r2 = s.put(make("mm", ("matmul", "softmax"), "mm code"))
    s.put(make(verified=True))  # replaces r1's row in place
    s.delete(r2.id)
    s.close()

    s = ArchiveStore.open(path=path)
    try:
        assert s.count() == 1
        got = s.get(r1.id)
        assert got is not None and got.verified
        assert s.get(r2.id) is None
        hits = s.search(SearchQuery(ops=["conv2d", "relu"], functional_source=CONV_RELU_FN))
        assert [h.entry.id for h in hits] == [r1.id]
        assert s.put(make()).duplicate  # dedup map rebuilt from disk
        assert s.stats().verified == 1
    finally:
        s.close()


def test_lock_same_process(tmp_path):
    path = str(tmp_path / "a")
    s = ArchiveStore.open(path=path)
    try:
        with pytest.raises(ArchiveLocked, match="in use by another process"):
            ArchiveStore.open(path=path)
    finally:
        s.close()
    ArchiveStore.open(path=path).close()  # free again after close


def test_lock_other_process(tmp_path):
    path = str(tmp_path / "a")
    s = ArchiveStore.open(path=path)
    try:
        code = textwrap.dedent(
            f"""
            import sys
            from kernelwright.archive.store import ArchiveStore
            from kernelwright.archive.errors import ArchiveLocked
            try:
                ArchiveStore.open(path={path!r})
            except ArchiveLocked as e:
                print("LOCKED:", e)
                sys.exit(3)
            sys.exit(0)
            """
        )
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env=env, timeout=60)
        assert p.returncode == 3, p.stdout + p.stderr
        assert f"archive folder {path} is in use by another process" in p.stdout
    finally:
        s.close()
