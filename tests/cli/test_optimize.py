"""`kernelwright optimize` against a scripted fake evolver on a free loopback port."""

import json
import textwrap

import grpc
import pytest
from bench.fake_evolver import GPU, FakeEvolverServer, Script

from kernelwright.cli import optimize_cmd
from kernelwright.cli.main import main
from kernelwright.evolver.v1 import evolver_pb2 as pb
from kernelwright.gpu_evaluator.candidate_files import load_candidate

pytestmark = pytest.mark.integration

TASK = textwrap.dedent("""
    import torch
    import torch.nn as nn

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
        def forward(self, x):
            return torch.relu(x)

    def get_inputs():
        return [torch.randn(1024)]

    def get_init_inputs():
        return []
""")


@pytest.fixture
def task_file(tmp_path, monkeypatch):
    monkeypatch.setenv("KW_STATE_DIR", str(tmp_path / "state"))  # no running mesh is found
    monkeypatch.delenv("KW_EVOLVER_ADDR", raising=False)
    from kernelwright.cli import main as cli_main

    monkeypatch.setattr(cli_main.console, "width", 200)
    path = tmp_path / "level1" / "19_ReLU.py"
    path.parent.mkdir()
    path.write_text(TASK)
    return path


def test_a_verified_winner_is_written(task_file, tmp_path, capsys):
    out = tmp_path / "out"
    with FakeEvolverServer({"19_ReLU": Script(speedup_eager=2.0, speedup_compile=1.25)}) as srv:
        rc = main(["optimize", str(task_file), "--evolver", srv.address, "--out", str(out), "--budget", "12",
                   "--proposer", "builtin", "--proposer", "anthropic=0.5", "--pool", "h100"])
        (request,) = srv.fake.requests
    assert rc == 0
    # what was sent
    assert (request.task.name, request.task.level, request.task.task_id) == ("19_ReLU", 1, 19)
    assert request.budget.max_candidates == 12 and request.target_pool == "h100"
    assert [(p.name, p.weight) for p in request.proposers] == [("builtin", 1.0), ("anthropic", 0.5)]
    # the final table
    text = capsys.readouterr().out
    for cell in ("2.00x", "1.25x", "5/5", GPU, "SUCCEEDED", "1.0000", "0.6250", "0.5000"):
        assert cell in text, cell
    # the files: the .cu + plan load as a candidate `kernelwright evaluate` accepts
    candidate = load_candidate(out / "19_ReLU.cu")
    assert candidate.plan.steps[0].launch.kernel == "relu"
    report = json.loads((out / "19_ReLU.report.json").read_text())
    assert report["state"] == "SUCCEEDED"
    assert report["lineage"] == [{"id": "cand-19_ReLU", "proposer": "builtin", "parents": ["parent-19_ReLU"],
                                  "schedule": {"block": 256}}]
    assert len(report["events"]) == 4 and report["run"]["bestVerdict"]["timings"]["speedupVsEager"] == 2.0
    # the ModelNew export comes from the translator's exporter, or a note says why it is missing
    modelnew = out / "19_ReLU_modelnew.py"
    assert modelnew.is_file() or "no KernelBench ModelNew written" in text
    if modelnew.is_file():
        assert "class ModelNew" in modelnew.read_text()


def test_a_failed_run_exits_3_with_the_reason(task_file, tmp_path, capsys):
    script = Script(state=pb.RUN_STATE_FAILED, message="stage 1 failed: the task raised")
    with FakeEvolverServer({"19_ReLU": script}) as srv:
        rc = main(["optimize", str(task_file), "--evolver", srv.address, "--out", str(tmp_path / "out")])
    assert rc == optimize_cmd.EXIT_NO_WINNER == 3
    assert "stage 1 failed: the task raised" in capsys.readouterr().out
    assert not (tmp_path / "out" / "19_ReLU.cu").exists()
    assert json.loads((tmp_path / "out" / "19_ReLU.report.json").read_text())["state"] == "FAILED"


def test_a_refused_run_is_a_usage_error(task_file, tmp_path, capsys):
    with FakeEvolverServer({"19_ReLU": Script(refuse=grpc.StatusCode.INVALID_ARGUMENT)}) as srv:
        rc = main(["optimize", str(task_file), "--evolver", srv.address, "--out", str(tmp_path)])
    assert rc == 2
    assert "the evolver refused the run: refused 19_ReLU" in capsys.readouterr().err


@pytest.mark.parametrize(("content", "message"), [
    (None, "no such file"),
    ("def broken(:\n", "not valid Python"),
    ("import torch\ndef get_inputs():\n    return []\n", "missing Model, get_init_inputs"),
])
def test_bad_task_files_exit_2(task_file, tmp_path, capsys, content, message):
    path = tmp_path / "bad.py"
    if content is not None:
        path.write_text(content)
    rc = main(["optimize", str(path), "--evolver", "127.0.0.1:1"])
    assert rc == 2
    assert message in capsys.readouterr().err


def test_a_bad_proposer_weight_exits_2(task_file, capsys):
    assert main(["optimize", str(task_file), "--proposer", "builtin=heavy", "--evolver", "127.0.0.1:1"]) == 2
    assert "the weight must be a number" in capsys.readouterr().err


def test_an_unreachable_evolver_is_one_clear_line(task_file, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(optimize_cmd, "CONNECT_TIMEOUT_S", 0.5)
    with FakeEvolverServer() as srv:  # a port that was just free: nothing listens there once it stops
        address = srv.address
    rc = main(["optimize", str(task_file), "--evolver", address, "--out", str(tmp_path)])
    assert rc == 1
    err = capsys.readouterr().err
    assert f"the evolver at {address} is unreachable" in err and "kernelwright up" in err


def test_the_evolver_address_comes_from_the_environment(task_file, tmp_path, monkeypatch):
    with FakeEvolverServer() as srv:
        monkeypatch.setenv("KW_EVOLVER_ADDR", srv.address)
        assert main(["optimize", str(task_file), "--out", str(tmp_path / "o")]) == 0
        assert len(srv.fake.requests) == 1
