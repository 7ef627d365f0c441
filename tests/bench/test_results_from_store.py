"""``scripts/results_from_store.py``: result lines for runs that ended in a store with no bench watching."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from kernelwright.common.v1 import task_pb2
from kernelwright.evolver.store import RunStore
from kernelwright.evolver.v1 import evolver_pb2 as pb

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "results_from_store.py"


def _script():
    spec = importlib.util.spec_from_file_location("results_from_store_under_test", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _ended_run(store: RunStore, name: str, state: int, message: str) -> str:
    task = task_pb2.Task(name=name, level=3, task_id=int(name.split("_")[0]), source="# task\n")
    run_id, _ = store.create_run(task, pb.Budget(max_candidates=4), {"builtin": 1.0}, "")
    assert store.finish_run_if_active(run_id, state, message)
    return run_id


def test_ended_runs_become_result_lines_and_the_latest_run_of_a_task_wins(tmp_path, capsys):
    db = str(tmp_path / "state.db")
    store = RunStore(db)
    _ended_run(store, "16_DenseNet201", pb.RUN_STATE_FAILED, "older run")
    latest = _ended_run(store, "16_DenseNet201", pb.RUN_STATE_FAILED, "no verified candidate: 4 evaluated")
    _ended_run(store, "17_SqueezeNetFireModule", pb.RUN_STATE_FAILED, "other task")
    store.create_run(task_pb2.Task(name="18_SqueezeNet", level=3, task_id=18), pb.Budget(), {}, "")
    store.close()
    rc = _script().main([db, "--task", "16_DenseNet201", "--task", "18_SqueezeNet"])
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    assert rc == 1 and "18_SqueezeNet" in err  # a run still queued is not a result
    assert [(r["task"], r["run_id"], r["outcome"], r["correct"]) for r in rows] == [
        ("16_DenseNet201", latest, "FAILED", False)]
    assert rows[0]["reason"].startswith("no verified candidate")
