"""Comparison tolerances per output dtype.

fp32 uses KernelBench's own atol = rtol = 1e-4; half-precision formats carry
about three decimal digits, so 1e-2.  Integer and bool outputs must match exactly.
"""

from __future__ import annotations

_TOLERANCES = {
    "torch.float64": (1e-6, 1e-6),
    "torch.float32": (1e-4, 1e-4),
    "torch.float16": (1e-2, 1e-2),
    "torch.bfloat16": (1e-2, 1e-2),
    "torch.complex64": (1e-4, 1e-4),
    "torch.complex128": (1e-6, 1e-6),
}


def tolerances_for(dtype_name: str) -> tuple[float, float]:
    """(atol, rtol) for a dtype given as ``str(tensor.dtype)``; exact for integers."""
    return _TOLERANCES.get(dtype_name, (0.0, 0.0))
