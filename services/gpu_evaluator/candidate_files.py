"""Candidates from files: a KernelBench ``.py`` (defines ModelNew) or a fast-format ``.cu`` whose
launch plan sits beside it as ``<stem>.plan.json`` (protobuf JSON of LaunchPlan)."""

from __future__ import annotations

from pathlib import Path

from google.protobuf import json_format

from kernelwright.common.v1 import kernel_pb2
from kernelwright.gpu_evaluator.pool import candidate_id


def plan_path_for(cu_path: Path) -> Path:
    return cu_path.with_name(cu_path.name.removesuffix(".cu") + ".plan.json")


def load_candidate(path: Path, plan: Path | None = None) -> kernel_pb2.KernelCandidate:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if path.suffix == ".py":
        candidate = kernel_pb2.KernelCandidate(format=kernel_pb2.CANDIDATE_FORMAT_KERNELBENCH,
                                               kernelbench_source=path.read_text())
    elif path.suffix == ".cu":
        plan = plan or plan_path_for(path)
        if not plan.is_file():
            raise FileNotFoundError(f"{plan}: a fast-format .cu needs its launch plan (protobuf JSON of LaunchPlan)")
        candidate = kernel_pb2.KernelCandidate(format=kernel_pb2.CANDIDATE_FORMAT_FAST, cuda_source=path.read_text())
        try:
            json_format.Parse(plan.read_text(), candidate.plan)
        except json_format.ParseError as exc:
            raise ValueError(f"{plan}: not a valid LaunchPlan: {exc}") from exc
    else:
        raise ValueError(f"{path}: expected a KernelBench .py (ModelNew) or a fast-format .cu")
    candidate.id = candidate_id(candidate)
    return candidate
