"""Which kernels a candidate's forward ran: its own, memory housekeeping, or someone else's compute.

The launch proof profiles one forward. A candidate passes only if at least one of its own kernels
(names from its ``__global__`` declarations) ran. For the KernelBench format there is a second
rule: every other kernel must be memory housekeeping — memcpy/memset, and PyTorch's fill, copy/cast
and arange kernels (``torch.zeros``, ``.contiguous()``, ``.float()``, ``torch.arange``) — or a CUB/Thrust
kernel the candidate's extension instantiated itself (``is_header_library``). Any other
PyTorch or library kernel (an ATen elementwise functor, a reduction, a softmax, a cuBLAS/cuDNN/CUTLASS
GEMM or convolution) means PyTorch did the work. The static checks refuse torch compute ops in such a
candidate, but Python offers endless spellings (``getattr(torch, "mm")``, ``x.__matmul__``,
``operator.mul``, ``(x > 0) * x``); the profiler sees what actually ran, however it was spelled. Library
calls are allowed only through a fast-format plan, whose steps the evaluator runs itself, so the rule
does not apply there.

Own-kernel matching is by whole name: a candidate kernel called ``gemm`` must not claim cuBLAS's
``sm90_xmma_gemm_…``, nor one called ``elementwise_kernel`` PyTorch's ``at::native::elementwise_kernel``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

# Profiler names of PyTorch kernels that only initialise or move memory.
_HOUSEKEEPING = re.compile(r"FillFunctor|direct_copy_kernel|copy_kernel|arange_cuda|fill_kernel")
_HEADER_LIBRARY = re.compile(r"(?:^|[\s<,(])(?:cub|thrust)::")


def _own_pattern(name: str) -> re.Pattern[str]:
    # Profiler names: "kw_s1_relu" (extern "C"), "relu_kernel(float const*, ...)",
    # "void ns::relu_kernel<float>(...)".
    return re.compile(rf"(?:^|[\s:*&]){re.escape(name)}(?:$|[(<\s])")


def is_own(kernel: str, own_names: Iterable[str]) -> bool:
    return any(_own_pattern(n).search(kernel) for n in own_names if n)


def is_housekeeping(kernel: str) -> bool:
    if kernel.startswith(("Memcpy", "Memset")):
        return True
    return "at::native::" in kernel and bool(_HOUSEKEEPING.search(kernel))


def is_header_library(kernel: str) -> bool:
    """A CUB or Thrust kernel the candidate's own extension instantiated (header-only CUDA C++ it
    compiled), not PyTorch's: ATen's CUB lives in the wrapped namespace ``at_cuda_detail::cub``.
    (A Thrust kernel cannot be told apart from one ATen launched; few torch ops still use Thrust.)"""
    return bool(_HEADER_LIBRARY.search(kernel)) and "at_cuda_detail" not in kernel


def split_kernels(launched: Sequence[str], own_names: Iterable[str]) -> tuple[list[str], list[str]]:
    """(own kernels, foreign compute kernels) among the profiled kernel names."""
    names = list(own_names)
    own = [k for k in launched if is_own(k, names)]
    foreign = [k for k in launched if k not in own and not is_housekeeping(k) and not is_header_library(k)]
    return own, foreign


def short_name(kernel: str, limit: int = 90) -> str:
    """A readable handle for a long demangled name: the functor it applies, else its first ATen name."""
    tokens = re.findall(r"at::native::(?:[\w]+::)*[\w]+", kernel)
    functors = [t for t in tokens if "functor" in t.lower()]
    text = (functors or tokens or [kernel])[0]
    return text if len(text) <= limit else text[:limit] + "..."
