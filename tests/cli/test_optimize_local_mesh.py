"""`kernelwright optimize` with nothing configured: it starts the whole mesh in-process for the command.

The task raises in its forward, so the run ends in stage 1 with FAILED and the converter's reason:
deterministic on a CPU-only machine, and it crosses every wire the local mesh sets up (the evolver
finds the converter, archive, translator and evaluator through the settings the mesh exports).
"""

import os
import textwrap

import pytest

from kernelwright.cli import mesh
from kernelwright.cli.main import main

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RAISING_TASK = textwrap.dedent("""
    import torch
    import torch.nn as nn

    class Model(nn.Module):
        def forward(self, x):
            raise RuntimeError("this task cannot run")

    def get_inputs():
        return [torch.randn(8)]

    def get_init_inputs():
        return []
""")


@pytest.fixture
def nothing_configured(tmp_path, monkeypatch):
    monkeypatch.setenv("KW_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("KW_ARCHIVE_PATH", str(tmp_path / "archive"))
    monkeypatch.setenv("KW_CONVERTER_DEVICE", "cpu")
    for var in list(os.environ):
        if var.endswith("_ADDR") and var.startswith("KW_") or var.endswith("_EVALUATOR_POOLS"):
            monkeypatch.delenv(var)
    if "evolver" not in mesh.SERVICES:  # until the evolver is listed as implemented
        monkeypatch.setattr(mesh, "SERVICES", (*mesh.SERVICES, "evolver"))
    from kernelwright.cli import main as cli_main

    monkeypatch.setattr(cli_main.console, "width", 200)
    return tmp_path


def test_local_mesh_wires_every_service_and_restores_the_environment(nothing_configured):
    before = dict(os.environ)
    with mesh.local_mesh(require=("evolver",)) as addresses:
        assert set(addresses) == set(mesh.SERVICES)
        assert os.environ["KW_EVOLVER_CONVERTER_ADDR"] == addresses["converter"]
        assert os.environ["KW_EVOLVER_EVALUATOR_POOLS"] == f"local={addresses['gpu-evaluator']}"
        assert os.environ["KW_EVOLVER_STATE_PATH"] == ":memory:"
    assert dict(os.environ) == before


def test_local_mesh_refuses_a_service_that_is_not_implemented(nothing_configured, monkeypatch):
    monkeypatch.setattr(mesh, "SERVICES", tuple(s for s in mesh.SERVICES if s != "evolver"))
    with pytest.raises(RuntimeError, match="not implemented in this version: evolver"):
        with mesh.local_mesh(require=("evolver",)):
            pass


def test_optimize_without_a_mesh_runs_in_process(nothing_configured, capsys):
    task = nothing_configured / "1_Raises.py"
    task.write_text(RAISING_TASK)
    rc = main(["optimize", str(task), "--out", str(nothing_configured / "out"), "--budget", "4"])
    out = capsys.readouterr().out
    assert rc == 3, out
    assert "FAILED" in out and "no verified candidate" in out
    assert (nothing_configured / "out" / "1_Raises.report.json").is_file()
