"""Dtype-aware tolerances: fp32 as KernelBench's current harness (1e-4 abs and rel); fp16/bf16 1e-2."""

from __future__ import annotations

_TOLERANCES = {
    "float64": (1e-6, 1e-6),
    "float32": (1e-4, 1e-4),
    "float16": (1e-2, 1e-2),
    "bfloat16": (1e-2, 1e-2),
}


def tolerance_for(dtype_name: str) -> tuple[float, float]:
    """(atol, rtol) for an output dtype name such as "float32"; exact match for integer/bool outputs."""
    return _TOLERANCES.get(dtype_name.removeprefix("torch."), (0.0, 0.0))
