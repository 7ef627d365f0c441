"""Task loading, seeded models and inputs, input distributions — the reference side of a trial.

Runs inside a worker process. The task source is the user's reference; it is executed in its
own module namespace, never in the service process.
"""

from __future__ import annotations

import hashlib
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

# Input distributions used by correctness trials. "task" is the task's own get_inputs();
# the others transform its floating tensors so a kernel tuned to one value range cannot pass.
DISTRIBUTIONS = ("task", "task", "scaled x4 shifted -1", "normal x2", "task")


@dataclass(frozen=True)
class TrialSpec:
    name: str
    seed: int
    distribution: str
    vary_batch: bool = False


def trial_specs(n: int, base_seed: int = 1000) -> list[TrialSpec]:
    """``n`` correctness trials (n >= 5 by policy), then one with a varied batch size."""
    specs = [TrialSpec(f"trial-{i + 1}", base_seed + 7919 * i, DISTRIBUTIONS[i % len(DISTRIBUTIONS)])
             for i in range(n)]
    specs.append(TrialSpec("shape_varied", base_seed + 104729, "task", vary_batch=True))
    return specs


def load_task(source: str, name: str = "task") -> types.ModuleType:
    module = types.ModuleType(f"kw_task_{hashlib.sha256(source.encode()).hexdigest()[:12]}")
    module.__file__ = f"<{name}>"
    exec(compile(source, f"<{name}>", "exec"), module.__dict__)  # the user's reference, in a worker
    for attr in ("Model", "get_inputs", "get_init_inputs"):
        if not hasattr(module, attr):
            raise ValueError(f"task defines no {attr}")
    return module


def build_model(cls: type, init_inputs: Sequence[object], seed: int, device: torch.device) -> torch.nn.Module:
    """Seeded construction on the CPU generator, then moved: the same seed gives the reference and
    a KernelBench ModelNew with the same parameter structure identical weights (as KernelBench does)."""
    torch.manual_seed(seed)
    model = cls(*init_inputs)
    return model.to(device)


def _transform(x: torch.Tensor, distribution: str, generator_seed: int) -> torch.Tensor:
    if not x.is_floating_point() or distribution == "task":
        return x
    if distribution == "scaled x4 shifted -1":
        return x * 4.0 - 1.0
    if distribution == "normal x2":
        g = torch.Generator(device=x.device).manual_seed(generator_seed)
        return torch.randn(x.shape, generator=g, device=x.device, dtype=x.dtype) * 2.0
    raise ValueError(f"unknown distribution {distribution}")


def make_inputs(task: types.ModuleType, spec: TrialSpec, device: torch.device) -> list[object]:
    torch.manual_seed(spec.seed)
    with torch.device(device):
        inputs = list(task.get_inputs())
    if spec.vary_batch:
        inputs = vary_batch(inputs, task, spec.seed, device)
    return [_transform(x, spec.distribution, spec.seed + i) if isinstance(x, torch.Tensor) else x
            for i, x in enumerate(inputs)]


def vary_batch(inputs: list[object], task: types.ModuleType, seed: int, device: torch.device) -> list[object]:
    """Same inputs with the leading (batch) dimension one larger, for tensors that share it.

    A kernel that hard-codes the task's sizes leaves the extra row unwritten (poisoned) or wrong.
    """
    tensors = [x for x in inputs if isinstance(x, torch.Tensor) and x.dim() > 0]
    if not tensors:
        return inputs
    batch = tensors[0].shape[0]
    out = []
    for x in inputs:
        if isinstance(x, torch.Tensor) and x.dim() > 0 and x.shape[0] == batch:
            extra = x[:1].clone()
            out.append(torch.cat([x, extra], dim=0))
        else:
            out.append(x)
    return out


def clone_inputs(inputs: Sequence[object]) -> list[object]:
    return [x.clone() if isinstance(x, torch.Tensor) else x for x in inputs]


def inputs_unchanged(before: Sequence[object], after: Sequence[object]) -> str | None:
    """None when every input tensor is bit-identical to its saved copy, else which one changed."""
    for i, (b, a) in enumerate(zip(before, after)):
        if isinstance(b, torch.Tensor):
            if a.shape != b.shape or a.dtype != b.dtype or not torch.equal(torch.nan_to_num(a), torch.nan_to_num(b)):
                return f"input {i} was modified by the candidate"
    return None


def disable_dropout(model: torch.nn.Module) -> int:
    """Dropout modules to eval mode; returns how many. Used only for stochastic tasks (see docs)."""
    n = 0
    for m in model.modules():
        if isinstance(m, torch.nn.modules.dropout._DropoutNd):
            m.eval()
            n += 1
    return n


def synchronize(device: torch.device) -> None:
    """Wait for all work on the device (every stream); nothing to wait for on the CPU."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run(fn: Callable[..., object], inputs: Sequence[object]) -> object:
    with torch.no_grad():
        return fn(*inputs)
