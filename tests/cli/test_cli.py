"""The `kernelwright` command end to end: up/Ctrl-C, convert, and an archive round trip."""

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kernelwright.archive.entry import ArchiveEntry
from kernelwright.archive.parquet_io import export_parquet
from kernelwright.cli.main import main

pytestmark = pytest.mark.integration

TASK = textwrap.dedent("""
    import torch
    import torch.nn as nn

    class Model(nn.Module):
        def __init__(self, features):
            super().__init__()
            self.norm = nn.LayerNorm(features)
        def forward(self, x):
            return torch.sigmoid(self.norm(x)) + 1.0

    def get_inputs():
        return [torch.randn(8, 32)]

    def get_init_inputs():
        return [32]
""")


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("KW_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("KW_ARCHIVE_PATH", str(tmp_path / "archive"))
    monkeypatch.setenv("KW_CONVERTER_DEVICE", "cpu")
    for var in ("KW_CONVERTER_ADDR", "KW_ARCHIVE_ADDR"):
        monkeypatch.delenv(var, raising=False)
    from kernelwright.cli import main as cli_main

    monkeypatch.setattr(cli_main.console, "width", 200)  # tables unwrapped, whatever the terminal
    return tmp_path


def test_up_starts_all_services_and_ctrl_c_stops_them(isolated):
    env = dict(os.environ, PYTHONUNBUFFERED="1", COLUMNS="200")
    proc = subprocess.Popen([sys.executable, "-m", "kernelwright.cli.main", "up"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    try:
        for line in proc.stdout:  # blocks until `up` prints; ends if it dies
            lines.append(line)
            if "Ctrl-C stops all services" in line:
                break
        else:
            pytest.fail("up ended early:\n" + "".join(lines))
        mesh = json.loads((isolated / "state" / "mesh.json").read_text())
        from kernelwright.cli.mesh import SERVICES

        assert set(mesh["services"]) == set(SERVICES)   # every implemented service

        import grpc
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        for address in mesh["services"].values():
            assert address in "".join(lines), "up must print where each service listens"
            with grpc.insecure_channel(address) as channel:
                reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
                assert reply.status == health_pb2.HealthCheckResponse.SERVING
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, "".join(lines) + out
    assert "all services stopped" in out
    assert not (isolated / "state" / "mesh.json").exists()


def test_convert_writes_functional_source(isolated, capsys):
    task = isolated / "norm_task.py"
    task.write_text(TASK)
    assert main(["convert", str(task), "--trials", "2"]) == 0
    out = capsys.readouterr().out
    assert "VALIDATED" in out
    functional = (isolated / "norm_task_functional.py").read_text()
    assert "def module_fn" in functional and "layer_norm" in functional


def test_convert_errors_are_one_line(isolated, capsys):
    bad = isolated / "bad.py"
    bad.write_text("import torch\ndef get_inputs(:\n")
    assert main(["convert", str(bad)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "INVALID_ARGUMENT" in err and len(err.splitlines()) == 1
    assert main(["convert", str(isolated / "missing.py")]) == 1
    assert "no such file" in capsys.readouterr().err


def test_archive_import_search_export_stats(isolated, capsys):
    rows = [
        ArchiveEntry(task_name="19_ReLU", ops=["relu"], op_signature="relu",
                     cuda_source="__global__ void relu_kernel(float* y, const float* x) {}",
                     correct=True, verified=True, hardware="NVIDIA H100 80GB HBM3", speedup_eager=1.1),
        ArchiveEntry(task_name="40_LayerNorm", ops=["layer_norm"], op_signature="layer_norm",
                     cuda_source="__global__ void layer_norm_kernel(float* y, const float* x) {}",
                     correct=True, verified=True, hardware="NVIDIA H100 80GB HBM3", speedup_eager=2.0),
    ]
    src = isolated / "in.parquet"
    export_parquet(rows, src)
    assert main(["archive", "import", str(src)]) == 0
    assert "2 stored" in capsys.readouterr().out

    assert main(["archive", "stats"]) == 0
    assert "2 entries" in capsys.readouterr().out

    task = isolated / "norm_task.py"
    task.write_text(TASK)
    assert main(["archive", "search", str(task), "-k", "1"]) == 0
    out = capsys.readouterr().out
    assert "40_LayerNorm" in out and "19_ReLU" not in out

    dst = isolated / "out.parquet"
    assert main(["archive", "export", str(dst)]) == 0
    import pyarrow.parquet as pq

    table = pq.read_table(dst)
    assert table.num_rows == 2 and "CUDA_Code" in table.column_names
    assert not any(table.column("kw_verified").to_pylist()), "imported rows stay unverified"


def test_main_imports_without_qdrant_client():
    # The GPU machine runs `kernelwright evaluate` without the archive's dependencies.
    import subprocess
    import sys

    code = ("import sys; sys.modules['qdrant_client'] = None\n"
            "from kernelwright.cli.main import _parser\n"
            "_parser().parse_args(['evaluate', 'task.py', 'cand.cu'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]


FAULTS = Path(__file__).resolve().parents[1] / "gpu_evaluator" / "faults"


def test_evaluate_check_works_without_gpu(isolated, capsys, monkeypatch):
    from kernelwright.gpu_evaluator.nvrtc_build import nvcc_path, nvrtc_available

    if not (nvrtc_available() or nvcc_path()):
        pytest.skip("no NVRTC and no nvcc here")
    monkeypatch.setenv("KW_GPU_EVALUATOR_GPUS", "none")
    monkeypatch.setenv("KW_GPU_EVALUATOR_CACHE_DIR", str(isolated / "cache"))
    rc = main(["evaluate", str(FAULTS / "task_vector_add.py"), str(FAULTS / "honest.cu"), "--check"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "static checks and build passed" in out


def test_evaluate_on_cpu_only_machine_says_so(isolated, capsys, monkeypatch):
    monkeypatch.setenv("KW_GPU_EVALUATOR_GPUS", "none")
    assert main(["evaluate", str(FAULTS / "task_vector_add.py"), str(FAULTS / "honest.cu")]) == 1
    err = capsys.readouterr().err
    assert "FAILED_PRECONDITION" in err and "CPU-only" in err


def test_evaluate_missing_plan_is_one_clear_line(isolated, capsys, tmp_path):
    cu = tmp_path / "k.cu"
    cu.write_text('extern "C" __global__ void k() {}')
    assert main(["evaluate", str(FAULTS / "task_vector_add.py"), str(cu)]) == 1
    assert "launch plan" in capsys.readouterr().err
