"""The CPU-only ``Check`` RPC: static checks, then a build, never running candidate code."""

from __future__ import annotations

import importlib.util
import os
import re
import sysconfig
import time
from collections.abc import Sequence

from kernelwright.common.v1 import kernel_pb2, verdict_pb2
from kernelwright.gpu_evaluator import nvrtc_build
from kernelwright.gpu_evaluator.static_checks import (
    UNLAUNCHED,
    Finding,
    extract_kb_cuda_sources,
    static_verdict_checks,
)

__all__ = ["CHECK_PASSED_MESSAGE", "check_candidate", "torch_include_dirs"]

CHECK_PASSED_MESSAGE = "static checks and build passed; correctness needs a GPU"

# What torch.utils.cpp_extension passes to nvcc for every CUDA source.
_TORCH_NVCC_FLAGS = [
    "-D__CUDA_NO_HALF_OPERATORS__",
    "-D__CUDA_NO_HALF_CONVERSIONS__",
    "-D__CUDA_NO_BFLOAT16_CONVERSIONS__",
    "-D__CUDA_NO_HALF2_OPERATORS__",
    "--expt-relaxed-constexpr",
    "-DTORCH_EXTENSION_NAME=kw_check",
    "-DTORCH_API_INCLUDE_EXTENSION_H",
]
# extra_cuda_cflags a candidate may pass through to the check build (others are dropped).
_SAFE_FLAG_RE = re.compile(
    r"^(-O[0-3s]?|--?use_fast_math|-lineinfo|--expt-relaxed-constexpr|--expt-extended-lambda|"
    r"-D[A-Za-z_]\w*(=[\w.+-]*)?|-U[A-Za-z_]\w*|-std=c\+\+(14|17|20)|-Xptxas=?-O[0-3]|--ftz=(true|false)|"
    r"--prec-div=(true|false)|--prec-sqrt=(true|false)|--fmad=(true|false)|-maxrregcount=?\d+|"
    r"--maxrregcount=?\d+|--extended-lambda)$"
)


# Library headers the GPU machine's toolkit has but a CPU box may lack (torch's ATen/cuda headers
# include cuBLAS/cuSPARSE/cuSOLVER). A build failing only on a missing header that is either such a
# library header, or included from torch's/the toolkit's own headers (a CPU torch wheel lacks
# e.g. c10/cuda/impl/cuda_cmake_macros.h), is "not checkable here", not a candidate error.
_LIB_HEADER_RE = re.compile(
    r"^(?:cublas|cublasLt|cusparse|cusparseLt|cusolver|cufft|curand|cudnn|nccl|nvtx3|cutlass|cute|nvml|cufile|cudss)"
)
_MISSING_RES = (
    re.compile(r"^(?P<file>\S+?):\d+(?::\d+)?: fatal error: (?P<hdr>[^:\s]+): No such file or directory", re.M),
    re.compile(r'^(?P<file>\S+?)\(\d+\): (?:catastrophic |fatal )?error: cannot open source file "(?P<hdr>[^"]+)"',
               re.M),
)


def _missing_env_header(log: str, candidate_file: str = "") -> str | None:
    """The header whose absence on this machine (not a candidate mistake) alone failed the build."""
    for rx in _MISSING_RES:
        m = rx.search(log)
        if m is None:
            continue
        others = [ln for ln in log.splitlines() if re.search(r"\berror\b", ln) and ln.strip() != m.group(0).strip()
                  and "cannot open source file" not in ln and "fatal error" not in ln]
        if others:
            return None
        hdr, including = m.group("hdr"), os.path.basename(m.group("file"))
        from_candidate = bool(candidate_file) and including == os.path.basename(candidate_file)
        if _LIB_HEADER_RE.match(os.path.basename(hdr)) or (candidate_file and not from_candidate):
            return hdr
        return None
    return None


def torch_include_dirs() -> list[str]:
    """torch's C++ include dirs (as cpp_extension.include_paths()) without importing torch."""
    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        return []
    inc = os.path.join(list(spec.submodule_search_locations)[0], "include")
    dirs = [inc, os.path.join(inc, "torch", "csrc", "api", "include")]
    return [d for d in dirs if os.path.isdir(d)]


def _filter_flags(flags: Sequence[str]) -> tuple[list[str], list[str]]:
    keep, dropped = [], []
    for f in flags:
        (keep if _SAFE_FLAG_RE.match(f) else dropped).append(f)
    return keep, dropped


def _add_findings(v: verdict_pb2.Verdict, findings: Sequence[Finding]) -> None:
    for f in findings:
        v.checks.add(name=f.check, passed=f.passed, message=f.message)


def _add_resources(v: verdict_pb2.Verdict, res: dict[str, dict[str, int]]) -> None:
    for k, r in res.items():
        v.resources.add(
            kernel=k,
            registers_per_thread=int(r.get("registers", 0)),
            static_shared_bytes=int(r.get("shared_bytes", 0)),
            spill_bytes=int(r.get("spill_bytes", 0)),
            local_bytes=int(r.get("local_bytes", 0)),
        )


def check_candidate(
    task_source: str,
    candidate: kernel_pb2.KernelCandidate,
    *,
    arch: str = "sm_90",
    cache_dir: str | os.PathLike | None = None,
    use_cache: bool = True,
    kb_build: str = "cubin",
    nvcc_timeout_s: float = 300.0,
    fast_math: bool = False,
) -> verdict_pb2.Verdict:
    """Static checks, then a build; returns a Verdict. Never runs candidate code.

    Outcomes:

    * ``VERDICT_OUTCOME_REJECTED_STATIC``: a static check failed (the hint
      ``static.unlaunched_kernel_hint`` never fails); nothing is compiled.
    * ``VERDICT_OUTCOME_COMPILE_ERROR``: the build failed; ``log`` holds the trimmed compiler log.
    * ``VERDICT_OUTCOME_UNSPECIFIED`` with ``compiled=True`` and message
      :data:`CHECK_PASSED_MESSAGE`: everything that can be checked without a GPU passed.
      ``correct`` stays False: correctness needs a GPU (``Evaluate``). UNSPECIFIED is a
      deliberate "no final outcome yet"; the lead may add a dedicated outcome to the proto later.
    * KernelBench format whose ``load_inline`` sources cannot be extracted statically (f-strings,
      computed strings...): ``UNSPECIFIED`` with ``compiled=False`` and a ``build.extract`` check
      saying so.

    Builds: the fast format compiles ``cuda_source`` with NVRTC (nvcc when cuda-bindings is
    missing). The KernelBench format compiles each statically extracted ``load_inline`` CUDA
    source the way ``load_inline`` writes it (``torch/types.h``, ``cuda.h``, ``cuda_runtime.h``
    prepended unless ``no_implicit_headers``) with ``nvcc -cubin`` against torch's headers
    (``kb_build="cubin"``; the front end still parses host code, so host-side API errors are
    caught; ``cpp_sources`` and linking are not checked), or skips it (``kb_build="skip"``).
    With torch headers an nvcc check build takes tens of seconds on a small CPU; results are cached.

    ``checks`` holds every static Finding plus ``build.*`` entries; ``phase_seconds`` has
    "static" and "build"; ``resources`` has per-kernel ptxas usage when the compiler printed it.
    """
    v = verdict_pb2.Verdict(candidate_id=candidate.id)
    t0 = time.perf_counter()
    findings = static_verdict_checks(candidate, task_source=task_source)
    v.phase_seconds["static"] = time.perf_counter() - t0
    _add_findings(v, findings)
    failed = [f for f in findings if not f.passed and f.check != UNLAUNCHED]
    if failed:
        v.outcome = verdict_pb2.VERDICT_OUTCOME_REJECTED_STATIC
        f = failed[0]
        more = f" (+{len(failed) - 1} more failed checks)" if len(failed) > 1 else ""
        v.message = f"{f.check}: {f.message}"[:400] + more
        v.phase_seconds["build"] = 0.0
        return v

    t1 = time.perf_counter()
    is_fast = candidate.format == kernel_pb2.CANDIDATE_FORMAT_FAST or (
        candidate.format == kernel_pb2.CANDIDATE_FORMAT_UNSPECIFIED and bool(candidate.cuda_source)
        and not candidate.kernelbench_source
    )
    try:
        if is_fast:
            _build_fast(v, candidate, arch, cache_dir, use_cache, fast_math, nvcc_timeout_s)
        else:
            _build_kb(v, candidate, arch, cache_dir, use_cache, kb_build, nvcc_timeout_s)
    except RuntimeError as e:  # no compiler at all
        v.checks.add(name="build.compiler", passed=True, message=f"build not checked: {e}")
        v.message = f"static checks passed; build not checked ({e})"
    v.phase_seconds["build"] = time.perf_counter() - t1
    return v


def _build_fast(v, candidate, arch, cache_dir, use_cache, fast_math, timeout_s) -> None:
    r = nvrtc_build.compile_cuda(candidate.cuda_source, arch=arch, cache_dir=cache_dir, use_cache=use_cache,
                                 fast_math=fast_math, timeout_s=timeout_s)
    name = "build.nvrtc" if r.compiler.startswith("nvrtc") else "build.nvcc"
    extra = (" (cached)" if r.cached else "") + (f"; {r.note}" if r.note else "")
    v.log = r.log
    if not r.ok:
        v.checks.add(name=name, passed=False, message=f"{r.compiler} for {r.arch} failed{extra}")
        v.outcome = verdict_pb2.VERDICT_OUTCOME_COMPILE_ERROR
        first = next((ln for ln in r.log.splitlines() if "error" in ln.lower()), r.log[:200])
        v.message = f"compile error: {first.strip()}"[:400]
        return
    v.checks.add(name=name, passed=True, message=f"{r.compiler} for {r.arch}: {len(r.cubin)} bytes cubin, "
                 f"{r.seconds:.2f} s{extra}")
    _add_resources(v, r.resources)
    v.compiled = True
    v.message = CHECK_PASSED_MESSAGE


def _build_kb(v, candidate, arch, cache_dir, use_cache, kb_build, timeout_s) -> None:
    exts, problems = extract_kb_cuda_sources(candidate.kernelbench_source)
    for p in problems:
        v.checks.add(name="build.extract", passed=True, message=p)
    if not exts:
        msg = "no load_inline(cuda_sources=...) call could be extracted statically; build not checked"
        if not problems:
            v.checks.add(name="build.extract", passed=True, message=msg)
        v.message = f"static checks passed; {msg}"
        return
    if kb_build == "skip":
        v.checks.add(name="build.nvcc", passed=True, message="KernelBench build skipped (kb_build='skip')")
        v.message = "static checks passed; build skipped"
        return
    if nvrtc_build.nvcc_path() is None:
        raise RuntimeError("nvcc not found; KernelBench sources need nvcc for a check build")
    incs = torch_include_dirs() + [sysconfig.get_paths()["include"]] + nvrtc_build.cuda_include_dirs()
    all_ok = True
    logs: list[str] = []
    unchecked: list[str] = []
    for ext in exts:
        header = [] if ext.no_implicit_headers else ["#include <torch/types.h>", "#include <cuda.h>",
                                                       "#include <cuda_runtime.h>"]
        src = "\n".join(header + ext.cuda_sources)
        flags, dropped = _filter_flags(ext.extra_cuda_cflags)
        std = "c++20"
        for f in flags:
            if f.startswith("-std="):
                std = f[len("-std="):]
        flags = [f for f in flags if not f.startswith("-std=")]
        fname = f"{re.sub(r'[^A-Za-z0-9_]', '_', ext.name)}.cu"
        r = nvrtc_build.nvcc_compile(src, arch=arch, extra_options=_TORCH_NVCC_FLAGS + flags, include_dirs=incs,
                                     cache_dir=cache_dir, use_cache=use_cache, mode="cubin",
                                     filename=fname,
                                     timeout_s=timeout_s, std=std)
        extra = (" (cached)" if r.cached else "") + (f"; dropped flags {dropped}" if dropped else "")
        if r.ok:
            v.checks.add(name=f"build.nvcc:{ext.name}", passed=True,
                         message=f"{r.compiler} -cubin for {arch}: kernels {', '.join(r.kernels) or 'none'}; "
                         f"{r.seconds:.1f} s{extra}")
            _add_resources(v, r.resources)
        elif (missing := _missing_env_header(r.log, fname)) is not None:
            unchecked.append(ext.name)
            v.checks.add(name=f"build.nvcc:{ext.name}", passed=True,
                         message=f"build not checkable on this machine: toolkit header {missing} is missing "
                         f"here (the GPU machine has it){extra}")
        else:
            all_ok = False
            v.checks.add(name=f"build.nvcc:{ext.name}", passed=False,
                         message=f"{r.compiler} -cubin for {arch} failed{extra}")
            logs.append(f"== load_inline({ext.name!r}) at line {ext.line} "
                        f"(line numbers count {len(header)} implicit header lines) ==\n{r.log}")
    v.log = "\n".join(logs)
    if not all_ok:
        v.outcome = verdict_pb2.VERDICT_OUTCOME_COMPILE_ERROR
        first = next((ln for ln in v.log.splitlines() if "error" in ln.lower()), "see log")
        v.message = f"compile error: {first.strip()}"[:400]
        return
    if problems or unchecked:
        why = "some load_inline sources not statically extractable" if problems else \
            f"build of {', '.join(unchecked)} not checkable here (missing toolkit library headers)"
        v.message = f"static checks passed; {why}; the rest compiled"
        v.compiled = False
        return
    v.compiled = True
    v.message = CHECK_PASSED_MESSAGE
