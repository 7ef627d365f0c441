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

    def modified_parameter(self) -> str:
        """The name of a parameter or buffer the candidate wrote to, or "" (runners that hand none out)."""
        return ""


class ParameterCopies:
    """The candidate's own copies of the task's parameters and buffers, and a snapshot to check them against.

    Fast-format kernels get raw pointers to the tensors their plan names. Given the reference model's own
    weights, a kernel could rewrite them after a correct first trial (zeros, say). The reference runs first in
    every trial, so it would then compute the same degenerate answer as a cheap candidate. With copies, the
    reference stays untouched, and a write shows up as a difference from the snapshot. The reference's own
    buffer updates (train-mode BatchNorm running stats) touch neither.
    """

    def __init__(self, named: list[tuple[str, torch.Tensor]]) -> None:
        self.tensors = {name: t.detach().clone() for name, t in named}
        self._snapshot = {name: t.clone() for name, t in self.tensors.items()}

    def modified(self) -> str:
        for name, t in self.tensors.items():
            if not torch.equal(_bits(t), _bits(self._snapshot[name])):  # bit for bit: NaN == NaN, -0.0 != 0.0
                return name
        return ""


def _bits(t: torch.Tensor) -> torch.Tensor:
    return t.contiguous().reshape(-1).view(torch.uint8)


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
