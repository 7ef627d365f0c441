"""Which GPUs this evaluator may use, and which worker gets which GPU.

Read without creating a CUDA context in the service process (nvidia-smi, honouring
CUDA_VISIBLE_DEVICES), so only workers ever hold a context. Tests pass a fake device list.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class GpuInfo:
    physical_id: str   # what the worker's CUDA_VISIBLE_DEVICES is set to (index or UUID)
    name: str
    memory_bytes: int
    uuid: str = ""


def probe_nvidia_smi() -> list[GpuInfo]:
    if not shutil.which("nvidia-smi"):
        return []
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=index,uuid,name,memory.total", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=30, check=True).stdout
    except (subprocess.SubprocessError, OSError):
        return []
    gpus = []
    for line in out.strip().splitlines():
        index, uuid, name, mem = [p.strip() for p in line.split(",")]
        gpus.append(GpuInfo(index, name, int(float(mem)) * 2**20, uuid))
    return gpus


def visible_gpus(selection: str = "all", env: Mapping[str, str] | None = None,
                 probe: Callable[[], list[GpuInfo]] = probe_nvidia_smi) -> list[GpuInfo]:
    """GPUs to run workers on: ``selection`` is "all", "none", or a comma list of physical ids.

    CUDA_VISIBLE_DEVICES (indices or UUIDs), when set, limits what "all" means, as it would for
    any CUDA program started in this environment.
    """
    import os

    env = os.environ if env is None else env
    if selection.strip().lower() == "none":
        return []
    found = probe()
    visible = env.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        allowed = [v.strip() for v in visible.split(",") if v.strip() and v.strip() != "-1"]
        by_key = {g.physical_id: g for g in found} | {g.uuid: g for g in found if g.uuid}
        found = [by_key[a] for a in allowed if a in by_key]
    if selection.strip().lower() != "all":
        wanted = [s.strip() for s in selection.split(",") if s.strip()]
        by_id = {g.physical_id: g for g in found}
        missing = [w for w in wanted if w not in by_id]
        if missing:
            raise ValueError(f"GPUs {', '.join(missing)} are not visible (visible: "
                             f"{', '.join(by_id) or 'none'})")
        found = [by_id[w] for w in wanted]
    return found


def worker_env(gpu: GpuInfo, base: Mapping[str, str]) -> dict[str, str]:
    """The environment of the worker that owns ``gpu``: it sees exactly that one GPU as cuda:0."""
    env = dict(base)
    env["CUDA_VISIBLE_DEVICES"] = gpu.physical_id
    env["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID"
    return env


def fake_gpus(spec: str) -> Callable[[], list[GpuInfo]]:
    """A probe returning GPUs described as "name;memory_gib,name;memory_gib" (tests)."""

    def probe() -> list[GpuInfo]:
        out = []
        for i, item in enumerate(p for p in spec.split(",") if p.strip()):
            name, _, mem = item.partition(";")
            out.append(GpuInfo(str(i), name.strip(), int(float(mem or 80) * 2**30), f"GPU-fake-{i}"))
        return out

    return probe
