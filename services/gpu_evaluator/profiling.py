"""Optional profile for the search's feedback: the torch profiler's kernel table for one forward.

(ncu metrics — DRAM bandwidth %, SM throughput %, occupancy — need the ncu binary and counter access;
they are collected by scripts, not in the worker, because ncu replays kernels many times.)
"""

from __future__ import annotations

from typing import Any

import torch

from kernelwright.common.v1 import verdict_pb2
from kernelwright.gpu_evaluator import harness


def torch_profile(runner: Any, task: Any, device: torch.device) -> verdict_pb2.ProfileSummary:
    from torch.profiler import ProfilerActivity, profile

    inputs = harness.make_inputs(task.module, harness.TrialSpec("profile", 77, "task"), device)
    harness.run(runner, inputs)  # warm
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        harness.run(runner, inputs)
        torch.cuda.synchronize()
    summary = verdict_pb2.ProfileSummary(tool="torch.profiler")
    for evt in prof.key_averages():
        if evt.device_type == torch.autograd.DeviceType.CUDA or getattr(evt, "device_time_total", 0):
            us = getattr(evt, "device_time_total", 0.0) or getattr(evt, "cuda_time_total", 0.0)
            if us:
                summary.kernels.append(verdict_pb2.KernelProfile(kernel=evt.key[:200], duration_us=us))
    summary.text = prof.key_averages().table(sort_by="device_time_total", row_limit=15)[:8000]
    return summary
