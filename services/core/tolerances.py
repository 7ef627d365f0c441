"""Comparison tolerances per output dtype — one table for every check in the system.

fp32 uses KernelBench's current harness values (atol = rtol = 1e-4); half-precision formats carry
about three decimal digits, so 1e-2. Integer and bool outputs must match exactly.
"""

from __future__ import annotations

_TOLERANCES = {
    "float64": (1e-6, 1e-6),
    "float32": (1e-4, 1e-4),
    "float16": (1e-2, 1e-2),
    "bfloat16": (1e-2, 1e-2),
    "complex64": (1e-4, 1e-4),
    "complex128": (1e-6, 1e-6),
}


def tolerance_for(dtype_name: str) -> tuple[float, float]:
    """(atol, rtol) for a dtype name, "float32" or "torch.float32"; (0, 0) = exact for the rest."""
    return _TOLERANCES.get(dtype_name.removeprefix("torch."), (0.0, 0.0))
