"""Turn a candidate into a callable ``runner(*inputs) -> outputs`` (both formats, one interface)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from kernelwright.common.v1 import kernel_pb2, verdict_pb2
from kernelwright.gpu_evaluator import harness
from kernelwright.gpu_evaluator.kb_runner import (CandidateBuildError, CandidateLoadError, kernel_names,
                                                  load_model_new)

V = verdict_pb2


class BuildFailed(Exception):
    def __init__(self, outcome: int, message: str, log: str = "") -> None:
        super().__init__(message)
        self.outcome, self.message, self.log = outcome, message, log


class CandidateRunner:
    kernel_names: list[str]
    poison_outputs: bool = False

    def __call__(self, *inputs: Any) -> Any:
        raise NotImplementedError

    def resources(self) -> list[V.ResourceUsage]:
        return []


class KernelBenchRunner(CandidateRunner):
    def __init__(self, source: str, task: Any, device: torch.device, cache_root: Path) -> None:
        try:
            cls = load_model_new(source, cache_root)
            self.model = harness.build_model(cls, task.init_inputs, task.seed, device)
        except CandidateBuildError as exc:
            raise BuildFailed(V.VERDICT_OUTCOME_COMPILE_ERROR, "the candidate's CUDA did not compile", str(exc)) from exc
        except CandidateLoadError as exc:
            raise BuildFailed(V.VERDICT_OUTCOME_RUNTIME_ERROR, str(exc)) from exc
        except Exception as exc:  # noqa: BLE001 - ModelNew.__init__ may build (and fail) too
            text = str(exc)
            if "Error building extension" in text:
                raise BuildFailed(V.VERDICT_OUTCOME_COMPILE_ERROR, "the candidate's CUDA did not compile",
                                  text[-4000:]) from exc
            raise BuildFailed(V.VERDICT_OUTCOME_RUNTIME_ERROR,
                              f"ModelNew(*get_init_inputs()) raised {type(exc).__name__}: {exc}") from exc
        if task.stochastic:
            harness.disable_dropout(self.model)
        self.kernel_names = kernel_names(source)

    def __call__(self, *inputs: Any) -> Any:
        return self.model(*inputs)


def build_runner(candidate: kernel_pb2.KernelCandidate, task: Any, device: torch.device, opts: Any,
                 cache_root: Path) -> CandidateRunner:
    if candidate.format == kernel_pb2.CANDIDATE_FORMAT_KERNELBENCH:
        return KernelBenchRunner(candidate.kernelbench_source, task, device, cache_root)
    if candidate.format == kernel_pb2.CANDIDATE_FORMAT_FAST:
        from kernelwright.gpu_evaluator.fast_runner import FastRunner

        return FastRunner(candidate, task, device, opts, cache_root)
    raise BuildFailed(V.VERDICT_OUTCOME_REJECTED_STATIC, f"unknown candidate format {candidate.format}")
