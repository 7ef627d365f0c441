"""Make `kernelwright` importable from services/ when the project is not installed."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

try:
    import kernelwright.converter  # noqa: F401
except ImportError:
    # spawned sandbox children inherit sys.path, so an alias directory works for them too
    alias = Path(tempfile.gettempdir()) / f"kw-import-alias-{os.getuid()}"
    alias.mkdir(parents=True, exist_ok=True)
    link = alias / "kernelwright"
    if not link.exists():
        link.symlink_to(ROOT / "services")
    sys.path.insert(0, str(alias))
    sys.modules.pop("kernelwright", None)


@pytest.fixture
def cpu_options():
    from kernelwright.converter.model import ConvertOptions

    return ConvertOptions(trials=2, timeout_s=120.0, device="cpu", memory_limit_bytes=4 * 2**30,
                          max_tensor_bytes=1 * 2**30, threads=1)
