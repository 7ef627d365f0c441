"""`kernelwright bench` against a scripted fake evolver: results as tasks finish, resume, filters, report merge."""

import json
import textwrap

import grpc
import pyarrow.parquet as pq
import pytest
from bench.fake_evolver import FakeEvolverServer, Script

from kernelwright.bench.results import ResultsWriter, TaskResult, read_results
from kernelwright.cli.main import main
from kernelwright.evolver.v1 import evolver_pb2 as pb

pytestmark = pytest.mark.integration

TASK = textwrap.dedent("""
    import torch
    import torch.nn as nn

    class Model(nn.Module):
        def forward(self, x):
            return torch.relu(x)

    def get_inputs():
        return [torch.randn(64)]

    def get_init_inputs():
        return []
""")
TASKS = ("level1/19_ReLU.py", "level1/20_LeakyReLU.py", "level2/12_Gemm_Multiply.py", "level2/13_Softmax_Div.py",
         "level3/5_AlexNet.py")
SCRIPTS = {
    "19_ReLU": Script(speedup_eager=1.5, speedup_compile=0.9),
    "20_LeakyReLU": Script(speedup_eager=2.5, speedup_compile=2.1),
    "12_Gemm_Multiply": Script(speedup_eager=1.2, speedup_compile=1.1),
    "13_Softmax_Div": Script(state=pb.RUN_STATE_FAILED, message="all 16 candidates failed: WRONG_ANSWER"),
    "5_AlexNet": Script(refuse=grpc.StatusCode.UNAVAILABLE),
}


@pytest.fixture
def devset(tmp_path, monkeypatch):
    monkeypatch.setenv("KW_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("KW_EVOLVER_ADDR", raising=False)
    from kernelwright.cli import main as cli_main

    monkeypatch.setattr(cli_main.console, "width", 200)
    root = tmp_path / "dev"
    for rel in TASKS:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(TASK)
    (root / "level1" / "notes.py").write_text("x = 1\n")  # not a task: skipped with a warning
    return root


def _bench(*args: str) -> int:
    return main(["bench", *args])


def test_bench_runs_every_task_and_reports(devset, tmp_path, capsys):
    out = tmp_path / "out"
    with FakeEvolverServer(SCRIPTS) as srv:
        rc = _bench(str(devset), "--evolver", srv.address, "--out", str(out), "--budget", "16",
                    "--proposer", "builtin", "--concurrency", "2")
        assert srv.fake.max_active <= 2
        assert {r.budget.max_candidates for r in srv.fake.requests} == {16}
    assert rc == 0
    captured = capsys.readouterr()
    assert "skipped:" in captured.err and "notes.py" in captured.err
    results = {r.task: r for r in read_results(out / "results.jsonl")}
    assert set(results) == {"19_ReLU", "20_LeakyReLU", "12_Gemm_Multiply", "13_Softmax_Div", "5_AlexNet"}
    assert results["20_LeakyReLU"].correct and results["20_LeakyReLU"].speedup_compile == 2.1
    assert results["20_LeakyReLU"].gpu.startswith("NVIDIA H100")
    assert results["13_Softmax_Div"].outcome == "FAILED" and "WRONG_ANSWER" in results["13_Softmax_Div"].reason
    assert results["5_AlexNet"].outcome == "ERROR" and results["5_AlexNet"].reason.startswith("UNAVAILABLE")
    assert results["12_Gemm_Multiply"].level == 2 and results["12_Gemm_Multiply"].task_id == 12
    # parquet: one row per task in the archive's columns
    rows = pq.read_table(out / "results.parquet").to_pylist()
    assert sorted(r["Op_Name"] for r in rows) == sorted(results)
    # report: level 2 has 1 of 2 faster than eager -> the 80% goal is reported as missed
    md = (out / "report.md").read_text()
    assert "| level 2 faster than eager (fast_1 vs eager) | 80.0% | 50.0% | **no** |" in md
    assert "5 tasks, 3 correct (60.0%)" in md
    assert (out / "report.html").read_text().count("data:image/png;base64,") == 1
    assert (out / "speedups.png").stat().st_size > 1000
    assert "NOT met" in captured.out


def test_resume_skips_finished_tasks_and_retries_errors(devset, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    w = ResultsWriter(out / "results.jsonl")
    w.append(TaskResult(task="19_ReLU", level=1, task_id=19, correct=True, outcome="SUCCEEDED", speedup_eager=3.0))
    w.append(TaskResult(task="13_Softmax_Div", level=2, task_id=13, outcome="FAILED", reason="earlier"))
    w.append(TaskResult(task="20_LeakyReLU", level=1, task_id=20, outcome="ERROR", reason="UNAVAILABLE"))
    with open(out / "results.jsonl", "a") as f:
        f.write('{"task": "12_Gemm_Mul')  # torn by a crash: that task runs again
    with FakeEvolverServer(SCRIPTS) as srv:
        assert _bench(str(devset), "--evolver", srv.address, "--out", str(out), "--resume", "--levels", "1,2") == 0
        started = sorted(r.task.name for r in srv.fake.requests)
    assert started == ["12_Gemm_Multiply", "20_LeakyReLU"]
    latest = {r.task: r for r in read_results(out / "results.jsonl")}
    assert latest["19_ReLU"].speedup_eager == 3.0  # kept, not re-run
    assert latest["20_LeakyReLU"].outcome == "SUCCEEDED"  # the retry's line comes last and wins
    md = (out / "report.md").read_text()
    assert "4 tasks, 3 correct (75.0%)" in md  # level 3 filtered out


def test_the_request_id_is_stable_so_a_resumed_bench_reattaches(devset, tmp_path):
    out = tmp_path / "out"
    with FakeEvolverServer(SCRIPTS) as srv:
        _bench(str(devset / "level1"), "--evolver", srv.address, "--out", str(out), "--tasks", "19_*")
        (out / "results.jsonl").unlink()
        _bench(str(devset / "level1"), "--evolver", srv.address, "--out", str(out), "--tasks", "19_*")
        ids = [r.request_id for r in srv.fake.requests]
    assert len(ids) == 2 and ids[0] == ids[1] and ids[0].startswith("bench-")


def test_a_copied_bench_folder_keeps_its_request_ids(devset, tmp_path):
    import shutil

    first, moved = tmp_path / "first", tmp_path / "elsewhere" / "moved"
    with FakeEvolverServer(SCRIPTS) as srv:
        _bench(str(devset / "level1"), "--evolver", srv.address, "--out", str(first), "--tasks", "19_*")
        shutil.copytree(first, moved)
        (moved / "results.jsonl").unlink()  # the task is unfinished there: it must re-attach, not start again
        _bench(str(devset / "level1"), "--evolver", srv.address, "--out", str(moved), "--tasks", "19_*", "--resume")
        _bench(str(devset / "level1"), "--evolver", srv.address, "--out", str(tmp_path / "fresh"), "--tasks", "19_*")
        ids = [r.request_id for r in srv.fake.requests]
    assert len(ids) == 3 and ids[0] == ids[1]
    assert ids[2] != ids[0]  # another folder is another bench: its runs are its own
    # the first bench's identity is its path, so folders from before bench-id keep their request ids
    assert (first / "bench-id").read_text().strip() == str(first.resolve())


def test_an_existing_results_file_needs_resume(devset, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.jsonl").write_text("")
    assert _bench(str(devset), "--out", str(out), "--evolver", "127.0.0.1:1") == 2
    assert "pass --resume" in capsys.readouterr().err


def test_filters_that_match_nothing_exit_2(devset, tmp_path, capsys):
    assert _bench(str(devset), "--tasks", "nothing*", "--out", str(tmp_path / "o"), "--evolver", "127.0.0.1:1") == 2
    assert "no KernelBench tasks found" in capsys.readouterr().err
    assert _bench(str(devset), "--levels", "one", "--evolver", "127.0.0.1:1") == 2


def test_bench_report_merges_split_runs(devset, tmp_path):
    a, b = tmp_path / "gpu0", tmp_path / "gpu1"
    with FakeEvolverServer(SCRIPTS) as srv:
        assert _bench(str(devset), "--levels", "1", "--evolver", srv.address, "--out", str(a)) == 0
        assert _bench(str(devset), "--levels", "2", "--evolver", srv.address, "--out", str(b)) == 0
    merged = tmp_path / "merged"
    assert _bench("report", str(a / "results.jsonl"), str(b / "results.jsonl"), "--out", str(merged)) == 0
    md = (merged / "report.md").read_text()
    assert "4 tasks, 3 correct (75.0%)" in md and "Merged from results.jsonl, results.jsonl" in md
    assert len(pq.read_table(merged / "results.parquet")) == 4


def test_bench_report_of_a_missing_file_exits_2(tmp_path, capsys):
    assert _bench("report", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path)) == 2
    assert "no such file" in capsys.readouterr().err


def test_results_lines_are_json_with_the_documented_fields(devset, tmp_path):
    out = tmp_path / "out"
    with FakeEvolverServer(SCRIPTS) as srv:
        _bench(str(devset / "level1" / "19_ReLU.py"), "--evolver", srv.address, "--out", str(out))
    (line,) = (out / "results.jsonl").read_text().splitlines()
    data = json.loads(line)
    for key in ("task", "level", "correct", "outcome", "ours_ms", "eager_ms", "compile_ms", "speedup_eager",
                "speedup_compile", "gpu", "date", "candidate_id", "proposer", "reason"):
        assert key in data, key
    assert data["level"] == 1  # from the levelN folder in its path


def test_rerun_failed_starts_new_runs_for_failed_tasks_only(devset, tmp_path, capsys):
    out = tmp_path / "out"
    with FakeEvolverServer(SCRIPTS) as srv:
        _bench(str(devset), "--evolver", srv.address, "--out", str(out), "--levels", "1,2")
        first = {r.task.name: r.request_id for r in srv.fake.requests}
        assert _bench(str(devset), "--evolver", srv.address, "--out", str(out), "--rerun-failed") == 2
        assert "--resume" in capsys.readouterr().err
        srv.fake.requests.clear()
        assert _bench(str(devset), "--evolver", srv.address, "--out", str(out), "--levels", "1,2", "--resume",
                      "--rerun-failed") == 0
        rerun = {r.task.name: r.request_id for r in srv.fake.requests}
        assert set(rerun) == {"13_Softmax_Div"}, "only the FAILED task runs again"
        assert rerun["13_Softmax_Div"] != first["13_Softmax_Div"], "a new run, not the failed one re-attached"
        srv.fake.requests.clear()
        # It FAILED again: the next re-run is another new run; a plain --resume leaves it alone.
        _bench(str(devset), "--evolver", srv.address, "--out", str(out), "--levels", "1,2", "--resume")
        assert srv.fake.requests == []
        _bench(str(devset), "--evolver", srv.address, "--out", str(out), "--levels", "1,2", "--resume",
               "--rerun-failed")
        again = [r.request_id for r in srv.fake.requests]
    assert len(again) == 1 and again[0] not in (first["13_Softmax_Div"], rerun["13_Softmax_Div"])
    lines = [r for r in read_results(out / "results.jsonl") if r.task == "13_Softmax_Div"]
    assert [r.outcome for r in lines] == ["FAILED"] * 3
