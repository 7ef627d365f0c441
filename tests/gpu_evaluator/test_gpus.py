"""GPU enumeration and worker assignment, with faked device lists."""

import pytest

from kernelwright.gpu_evaluator.gpus import GpuInfo, fake_gpus, visible_gpus, worker_env

TWO = fake_gpus("NVIDIA H100 80GB HBM3;80,NVIDIA H100 80GB HBM3;80")


def test_all_visible_gpus_get_a_worker_each():
    gpus = visible_gpus("all", env={}, probe=TWO)
    assert [g.physical_id for g in gpus] == ["0", "1"]
    assert [worker_env(g, {"PATH": "/bin"})["CUDA_VISIBLE_DEVICES"] for g in gpus] == ["0", "1"]


def test_cuda_visible_devices_limits_all_by_index_or_uuid():
    assert [g.physical_id for g in visible_gpus("all", env={"CUDA_VISIBLE_DEVICES": "1"}, probe=TWO)] == ["1"]
    assert [g.physical_id for g in visible_gpus("all", env={"CUDA_VISIBLE_DEVICES": "GPU-fake-0"},
                                                probe=TWO)] == ["0"]
    assert visible_gpus("all", env={"CUDA_VISIBLE_DEVICES": ""}, probe=TWO) == []


def test_explicit_selection_and_none():
    assert [g.physical_id for g in visible_gpus("1", env={}, probe=TWO)] == ["1"]
    assert visible_gpus("none", env={}, probe=TWO) == []
    with pytest.raises(ValueError, match="not visible"):
        visible_gpus("0,5", env={}, probe=TWO)


def test_no_gpu_means_cpu_only():
    assert visible_gpus("all", env={}, probe=lambda: []) == []


def test_worker_env_keeps_base_environment():
    env = worker_env(GpuInfo("3", "x", 1), {"HOME": "/root", "CUDA_VISIBLE_DEVICES": "0,1,2,3"})
    assert env["HOME"] == "/root" and env["CUDA_VISIBLE_DEVICES"] == "3"
