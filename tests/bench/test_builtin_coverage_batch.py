"""scripts/builtin_coverage.py --batch: the serial timing loop survives a crash, a hang and an OOM.

The child is replaced by a small shell script speaking the same line protocol (KW_START / KW_ROW /
KW_RETRY), so the parent's bookkeeping is tested without a GPU.
"""

from __future__ import annotations

import importlib.util
import os
import stat
import sys
import types
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "builtin_coverage.py"

# Per task name: "ok" prints a row; "oom" asks for one retry in a fresh child (then prints a row);
# "crash" kills the child mid-task; "hang" sleeps past the task timeout.
FAKE_CHILD = r"""#!/bin/bash
shift; shift   # the script path and --batch-worker
for p in "$@"; do
  [ "$p" = "--candidates" ] && break
  echo "KW_START $p"
  case "$(basename "$p" .py)" in
    oom_*) if ! printf '%s\n' "$KW_BATCH_NO_RETRY" | grep -qx "$p"; then echo "KW_RETRY $p"; exit 4; fi;;
    crash_*) echo "Segmentation fault"; kill -9 $$;;
    hang_*) exec sleep 60;;
  esac
  echo "KW_ROW {\"task\": \"$(basename "$p" .py)\", \"level\": \"1\", \"correct\": true, \"pid\": $$}"
done
"""


@pytest.fixture
def coverage(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("builtin_coverage_under_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    fake = tmp_path / "fake_python"
    fake.write_text(FAKE_CHILD)
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setattr(module.sys, "executable", str(fake))
    return module


@pytest.mark.skipif(sys.platform == "win32" or not os.path.exists("/bin/bash"), reason="needs bash")
def test_batch_goes_on_after_crash_hang_and_retries_an_oom_once(coverage):
    names = ["a", "oom_b", "crash_c", "d", "hang_e", "f"]
    rows: list[dict] = []
    coverage.run_batch([Path(f"level1/{n}.py") for n in names], types.SimpleNamespace(candidates=1, timeout=2),
                       rows.append)
    by_task = {r["task"]: r for r in rows}
    assert [r["task"] for r in rows] == names, "one row per task, in order"
    assert by_task["oom_b"]["correct"] and by_task["a"]["pid"] != by_task["oom_b"]["pid"], \
        "the OOM task ran again in a fresh child"
    assert not by_task["crash_c"]["correct"] and "exited -9" in by_task["crash_c"]["reason"]
    assert "Segmentation fault" in by_task["crash_c"]["reason"]
    assert not by_task["hang_e"]["correct"] and by_task["hang_e"]["seconds"] >= 2
    assert by_task["d"]["correct"] and by_task["f"]["correct"]
    assert by_task["d"]["pid"] != by_task["f"]["pid"], "a fresh child after the hang"
