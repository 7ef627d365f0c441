"""NVRTC / nvcc builds on CPU (no GPU needed); skipped when no compiler is usable."""

from __future__ import annotations

import os
import time

import pytest

from kernelwright.gpu_evaluator import nvrtc_build
from kernelwright.gpu_evaluator.nvrtc_build import (
    compile_cuda,
    nvcc_path,
    nvrtc_available,
    parse_ptxas_resources,
    trim_log,
)

needs_nvrtc = pytest.mark.skipif(not nvrtc_available(), reason="cuda-bindings/NVRTC not loadable")
needs_nvcc = pytest.mark.skipif(nvcc_path() is None, reason="nvcc not on PATH")
needs_any = pytest.mark.skipif(not nvrtc_available() and nvcc_path() is None,
                               reason="neither NVRTC (cuda-bindings) nor nvcc is usable")

SRC = r'''
#include <cuda_fp16.h>
extern "C" __global__ void relu(const float* __restrict__ x, float* __restrict__ y, long long n) {
    __shared__ float tile[128];
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    tile[threadIdx.x % 128] = i < n ? x[i] : 0.f;
    __syncthreads();
    if (i < n) y[i] = fmaxf(tile[threadIdx.x % 128], 0.f);
}
extern "C" __global__ void fill(float* y, float v, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = v;
}
'''


@needs_any
def test_compile_cold_then_cache_hit(tmp_path) -> None:
    t0 = time.perf_counter()
    r = compile_cuda(SRC, arch="sm_90", cache_dir=tmp_path)
    cold = time.perf_counter() - t0
    assert r.ok, r.log
    assert not r.cached and r.cubin[:4] == b"\x7fELF"
    assert sorted(r.kernels) == ["fill", "relu"]
    assert r.resources["relu"]["registers"] > 0
    assert r.resources["relu"]["shared_bytes"] == 512
    assert set(r.resources["fill"]) >= {"registers", "shared_bytes", "spill_bytes", "local_bytes"}
    t1 = time.perf_counter()
    r2 = compile_cuda(SRC, arch="sm_90", cache_dir=tmp_path)
    hit = time.perf_counter() - t1
    assert r2.ok and r2.cached and r2.cubin == r.cubin and r2.resources == r.resources
    assert hit < cold
    # a different arch or option is a different key
    r3 = compile_cuda(SRC, arch="sm_80", cache_dir=tmp_path)
    assert r3.ok and not r3.cached


@needs_nvrtc
def test_nvrtc_details(tmp_path) -> None:
    r = compile_cuda(SRC, arch="sm_90a", cache_dir=tmp_path, backend="nvrtc")
    assert r.ok and r.compiler.startswith("nvrtc") and r.arch == "sm_90a"
    assert ".entry relu" in r.ptx
    fm = compile_cuda(SRC, arch="sm_90a", cache_dir=tmp_path, backend="nvrtc", fast_math=True)
    assert fm.ok and not fm.cached  # fast math is part of the key
    # default-device: helpers without __device__ compile under NVRTC
    r = compile_cuda('float sq(float v){return v*v;}\nextern "C" __global__ void k(float* y){ y[0] = sq(y[0]); }',
                     arch="sm_90", use_cache=False, backend="nvrtc")
    assert r.ok, r.log


@needs_nvrtc
def test_unsupported_arch_falls_back_to_ptx() -> None:
    r = compile_cuda(SRC, arch="sm_999", use_cache=False, backend="nvrtc")
    assert r.ok and r.cubin == b"" and r.arch.startswith("compute_") and ".entry relu" in r.ptx
    assert "not supported" in r.note


@needs_any
def test_compile_error_has_line_numbers_and_is_cached(tmp_path) -> None:
    bad = SRC.replace("fmaxf(tile", "fmaxff(tile")
    r = compile_cuda(bad, arch="sm_90", cache_dir=tmp_path)
    assert not r.ok and r.cubin == b""
    assert "fmaxff" in r.log and ("(8)" in r.log or ":8:" in r.log)  # source line of the error
    r2 = compile_cuda(bad, arch="sm_90", cache_dir=tmp_path)
    assert r2.cached and not r2.ok and r2.log == r.log


@needs_nvcc
def test_nvcc_fallback(tmp_path) -> None:
    r = compile_cuda(SRC, arch="sm_90", cache_dir=tmp_path, backend="nvcc")
    assert r.ok, r.log
    assert r.compiler.startswith("nvcc") and sorted(r.kernels) == ["fill", "relu"]
    assert r.resources["relu"]["shared_bytes"] == 512


@needs_any
def test_cache_is_atomic_directory(tmp_path) -> None:
    compile_cuda(SRC, arch="sm_90", cache_dir=tmp_path)
    entries = [p for p in tmp_path.rglob("meta.json")]
    assert len(entries) == 1
    assert not [p for p in tmp_path.rglob(".tmp-*")]
    # a corrupt entry is ignored, not trusted
    (entries[0].parent / "meta.json").write_text("{not json")
    r = compile_cuda(SRC, arch="sm_90", cache_dir=tmp_path)
    assert r.ok and not r.cached


def test_bad_arch_raises() -> None:
    with pytest.raises(ValueError):
        compile_cuda(SRC, arch="hopper")


def test_parse_ptxas_resources_nvcc_style() -> None:
    log = """ptxas info    : 0 bytes gmem
ptxas info    : Compiling entry function '_Z11relu_kernelPKfPfi' for 'sm_90'
ptxas info    : Function properties for _Z11relu_kernelPKfPfi
    16 bytes stack frame, 8 bytes spill stores, 4 bytes spill loads
ptxas info    : Used 40 registers, used 1 barriers, 2048 bytes smem, 380 bytes cmem[0]
ptxas info    : Function properties for helper
    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
"""
    assert parse_ptxas_resources(log) == {"relu_kernel": {
        "registers": 40, "shared_bytes": 2048, "spill_bytes": 8, "spill_loads_bytes": 4, "local_bytes": 16}}


def test_trim_log_keeps_errors() -> None:
    lines = [f"ptxas info : line {i}" for i in range(200)] + ["k.cu(12): error: boom"]
    out = trim_log("\n".join(lines))
    assert "k.cu(12): error: boom" in out and len(out.splitlines()) <= 61


def test_include_dirs_found_when_toolkit_present() -> None:
    dirs = nvrtc_build.cuda_include_dirs()
    if nvcc_path() is None:
        pytest.skip("no CUDA toolkit here")
    assert dirs and os.path.isfile(os.path.join(dirs[0], "cuda_fp16.h"))
