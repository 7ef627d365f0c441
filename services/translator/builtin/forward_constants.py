"""Keep the value of tensor constants that a task's ``forward`` builds from Python data.

The graph is traced on the meta device, so ``torch.tensor(0.0, device=x.device)`` would make a
meta tensor whose value is gone before ``make_fx`` sees it (it only records a ``get_attr`` of
that meta tensor). ``ForwardConstants`` is a ``TorchFunctionMode`` active during the trace that
builds such data constructors (``torch.tensor``, ``torch.as_tensor``, ``torch.asarray``,
``Tensor.new_tensor``) on the CPU and then moves the result to the requested device: the trace
records a real CPU constant followed by a ``_to_copy``, so ``graph.trace_task`` can read the
value. It also maps a ``device=`` argument naming an accelerator ("cuda", "cuda:0", ...) to the
meta device, which stands in for the GPU while tracing (this PyTorch build may have no CUDA).
Only where data lands changes; dtype inference and values are PyTorch's own.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.overrides import TorchFunctionMode

__all__ = ["ForwardConstants", "traced_device"]

# Constructors that copy Python data (numbers, nested lists, numpy values) into a new tensor.
_DATA_CONSTRUCTORS = {torch.tensor, torch.as_tensor, torch.asarray}


def traced_device(device: Any) -> Any:
    """The device a tensor meant for ``device`` gets during the trace: CPU stays, the rest is meta."""
    if device is None:
        return None
    kind = torch.device(device).type if isinstance(device, (str, torch.device)) else "cuda"  # int: a CUDA index
    return "cpu" if kind == "cpu" else "meta"


def _on_cpu_then(build: Any, data: Any, kwargs: dict[str, Any], default_device: Any) -> torch.Tensor:
    """``build(data, **kwargs)`` made on the CPU (its values are real), then moved to its device."""
    target = traced_device(kwargs.pop("device", None) or default_device)
    value = build(data, **kwargs, device="cpu")
    return value if target == "cpu" else value.to(target)


class ForwardConstants(TorchFunctionMode):
    """Active while tracing: data-built constants keep their value; accelerator devices become meta."""

    def __torch_function__(self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None) -> Any:
        kwargs = dict(kwargs or {})
        if "device" in kwargs:
            kwargs["device"] = traced_device(kwargs["device"])
        # Data first, everything else by keyword (other calls fail in func the way PyTorch's do).
        if func in _DATA_CONSTRUCTORS and len(args) == 1 and not isinstance(args[0], torch.Tensor):
            return _on_cpu_then(func, args[0], kwargs, torch.get_default_device())
        if func is torch.Tensor.new_tensor and len(args) == 2 and not isinstance(args[1], torch.Tensor):
            owner, data = args
            kw = {"dtype": owner.dtype, **kwargs}  # new_tensor defaults to the owner's dtype and device
            return _on_cpu_then(torch.tensor, data, kw, owner.device)
        return func(*args, **kwargs)
