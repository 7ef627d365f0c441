"""The CPU-only Check pipeline: static checks -> build -> Verdict (no candidate code runs)."""

from __future__ import annotations

import pytest

from kernelwright.common.v1 import kernel_pb2, verdict_pb2
from kernelwright.gpu_evaluator.check_pipeline import CHECK_PASSED_MESSAGE, check_candidate
from kernelwright.gpu_evaluator.nvrtc_build import nvcc_path, nvrtc_available

needs_compiler = pytest.mark.skipif(not nvrtc_available() and nvcc_path() is None,
                                    reason="neither NVRTC (cuda-bindings) nor nvcc is usable")
needs_nvcc = pytest.mark.skipif(nvcc_path() is None, reason="nvcc not on PATH")

TASK = '''
import torch
import torch.nn as nn

class Model(nn.Module):
    def forward(self, x):
        return torch.relu(x)

def get_inputs():
    return [torch.randn(16, 1024)]

def get_init_inputs():
    return []
'''

FAST_SRC = r'''
extern "C" __global__ void relu(const float* __restrict__ x, float* __restrict__ y, long long n) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = fmaxf(x[i], 0.f);
}
'''


def fast(src: str = FAST_SRC) -> kernel_pb2.KernelCandidate:
    plan = kernel_pb2.LaunchPlan()
    a = plan.allocations.add(name="out", dtype="float32", is_output=True)
    a.shape.add(expr="in0.shape[0]")
    a.shape.add(expr="in0.shape[1]")
    ln = plan.steps.add().launch
    ln.kernel = "relu"
    ln.grid.add(expr="ceil_div(in0.numel, 256)")
    ln.block.add(expr="256")
    ln.args.add(tensor="in0")
    ln.args.add(tensor="out")
    ln.args.add(int_expr=kernel_pb2.ShapeExpr(expr="in0.numel"))
    return kernel_pb2.KernelCandidate(id="fast-1", format=kernel_pb2.CANDIDATE_FORMAT_FAST, cuda_source=src, plan=plan)


def kb(source: str) -> kernel_pb2.KernelCandidate:
    return kernel_pb2.KernelCandidate(id="kb-1", format=kernel_pb2.CANDIDATE_FORMAT_KERNELBENCH,
                                      kernelbench_source=source)


def checks(v: verdict_pb2.Verdict) -> dict[str, verdict_pb2.CheckResult]:
    return {c.name: c for c in v.checks}


@needs_compiler
def test_fast_candidate_passes(tmp_path) -> None:
    v = check_candidate(TASK, fast(), cache_dir=tmp_path)
    assert v.outcome == verdict_pb2.VERDICT_OUTCOME_UNSPECIFIED
    assert v.compiled and not v.correct and v.message == CHECK_PASSED_MESSAGE
    assert v.candidate_id == "fast-1"
    c = checks(v)
    assert "static.plan_invalid" in c and all(x.passed for x in v.checks)
    assert any(n.startswith("build.") for n in c)
    assert set(v.phase_seconds) == {"static", "build"}
    assert [r.kernel for r in v.resources] == ["relu"] and v.resources[0].registers_per_thread > 0


@needs_compiler
def test_fast_compile_error(tmp_path) -> None:
    v = check_candidate(TASK, fast(FAST_SRC.replace("fmaxf", "fmaxq")), cache_dir=tmp_path)
    assert v.outcome == verdict_pb2.VERDICT_OUTCOME_COMPILE_ERROR
    assert not v.compiled and "fmaxq" in v.log and "error" in v.message


def test_fast_static_reject_skips_build(tmp_path) -> None:
    c = fast()
    c.plan.steps[0].launch.kernel = "nope"
    v = check_candidate(TASK, c, cache_dir=tmp_path)
    assert v.outcome == verdict_pb2.VERDICT_OUTCOME_REJECTED_STATIC
    assert v.message.startswith("static.plan_kernel_unknown")
    assert not checks(v)["static.plan_kernel_unknown"].passed
    assert not any(n.startswith("build.") for n in checks(v)) and v.phase_seconds["build"] == 0.0


def test_kb_static_reject(tmp_path) -> None:
    src = '''
import torch, torch.nn as nn
class ModelNew(nn.Module):
    def forward(self, x):
        return torch.relu(x)
'''
    v = check_candidate(TASK, kb(src), cache_dir=tmp_path)
    assert v.outcome == verdict_pb2.VERDICT_OUTCOME_REJECTED_STATIC
    c = checks(v)
    assert not c["static.torch_compute_op"].passed and not c["static.no_cuda_kernel"].passed


KB_NO_TORCH_HEADERS = r'''
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

CUDA = """
#include <cuda_runtime.h>
__global__ void relu_kernel(const float* x, float* y, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = x[i] > 0.f ? x[i] : 0.f;
}
void relu_launch(long long xp, long long yp, int n) {
    relu_kernel<<<(n + 255) / 256, 256>>>((const float*)xp, (float*)yp, n);
}
"""

ext = load_inline(name="relu_raw", cpp_sources="void relu_launch(long long, long long, int);",
                  cuda_sources=CUDA, functions=["relu_launch"], no_implicit_headers=True,
                  extra_cuda_cflags=["-O3", "-ccbin=/bin/evil"])


class ModelNew(nn.Module):
    def forward(self, x):
        y = torch.empty_like(x)
        ext.relu_launch(x.data_ptr(), y.data_ptr(), x.numel())
        return y
'''


@needs_nvcc
def test_kb_builds_extracted_source(tmp_path) -> None:
    v = check_candidate(TASK, kb(KB_NO_TORCH_HEADERS), cache_dir=tmp_path)
    assert v.outcome == verdict_pb2.VERDICT_OUTCOME_UNSPECIFIED, (v.message, v.log)
    assert v.compiled and v.message == CHECK_PASSED_MESSAGE
    c = checks(v)["build.nvcc:relu_raw"]
    assert c.passed and "relu_kernel" in c.message and "-ccbin=/bin/evil" in c.message  # dropped flag named
    assert [r.kernel for r in v.resources] == ["relu_kernel"]


@needs_nvcc
def test_kb_compile_error(tmp_path) -> None:
    v = check_candidate(TASK, kb(KB_NO_TORCH_HEADERS.replace("x[i] : 0.f", "x[i] : undefined_thing")),
                        cache_dir=tmp_path)
    assert v.outcome == verdict_pb2.VERDICT_OUTCOME_COMPILE_ERROR
    assert "undefined_thing" in v.log and not checks(v)["build.nvcc:relu_raw"].passed


def test_kb_dynamic_source_is_reported(tmp_path) -> None:
    src = KB_NO_TORCH_HEADERS.replace('CUDA = """', 'CUDA = f"""').replace("{", "{{").replace("}", "}}")
    v = check_candidate(TASK, kb(src), cache_dir=tmp_path)
    assert v.outcome == verdict_pb2.VERDICT_OUTCOME_UNSPECIFIED and not v.compiled
    assert "not statically extractable" in checks(v)["build.extract"].message


def test_kb_build_skip(tmp_path) -> None:
    v = check_candidate(TASK, kb(KB_NO_TORCH_HEADERS), cache_dir=tmp_path, kb_build="skip")
    assert not v.compiled and "skipped" in v.message


def _static_checks_module():
    import importlib.util
    import pathlib

    spec = importlib.util.spec_from_file_location(
        "kw_test_static_checks", pathlib.Path(__file__).with_name("test_static_checks.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


@pytest.mark.slow
@needs_nvcc
def test_kb_with_torch_headers(tmp_path) -> None:
    """load_inline-style source with torch headers: nvcc -cubin parses them (~30-60 s on 2 CPUs)."""
    mod = _static_checks_module()
    src = mod.HONEST_EPILOGUE.replace("#include <c10/cuda/CUDAStream.h>", "").replace(
        "auto stream = c10::cuda::getCurrentCUDAStream();", "cudaStream_t stream = 0;")
    v = check_candidate(TASK, kb(src), cache_dir=tmp_path, nvcc_timeout_s=600)
    assert v.outcome == verdict_pb2.VERDICT_OUTCOME_UNSPECIFIED, (v.message, v.log)
    assert v.compiled and sorted(r.kernel for r in v.resources) == ["bias_relu_kernel", "scale_kernel"]
    v2 = check_candidate(TASK, kb(src), cache_dir=tmp_path)
    assert "(cached)" in checks(v2)["build.nvcc:bias_relu_ext"].message


@pytest.mark.slow
@needs_nvcc
def test_kb_missing_library_headers_not_a_compile_error(tmp_path) -> None:
    """ATen/cuda/CUDAContext.h needs cuBLAS headers; a CPU box without them must not reject."""
    mod = _static_checks_module()
    v = check_candidate(TASK, kb(mod.HONEST_RELU), cache_dir=tmp_path, nvcc_timeout_s=600)
    assert v.outcome == verdict_pb2.VERDICT_OUTCOME_UNSPECIFIED, (v.message, v.log)
    msg = checks(v)["build.nvcc:relu_ext"].message
    assert checks(v)["build.nvcc:relu_ext"].passed
    assert v.compiled or "not checkable" in msg


def test_missing_env_header_classification() -> None:
    from kernelwright.gpu_evaluator.check_pipeline import _missing_env_header

    log = ("/x/torch/include/ATen/cuda/CUDAContextLight.h:10:10: fatal error: cusparse.h: No such file or directory\n"
           "compilation terminated.")
    assert _missing_env_header(log, "ext.cu") == "cusparse.h"
    log = "/x/torch/include/c10/cuda/CUDAMacros.h:9:10: fatal error: c10/cuda/impl/cuda_cmake_macros.h: No such file"
    assert _missing_env_header(log + " or directory", "ext.cu") == "c10/cuda/impl/cuda_cmake_macros.h"
    assert _missing_env_header("ext.cu:3:10: fatal error: mything.h: No such file or directory", "ext.cu") is None
    assert _missing_env_header("ext.cu:3:10: fatal error: cublas_v2.h: No such file or directory", "ext.cu") \
        == "cublas_v2.h"
    assert _missing_env_header('ext.cu(3): error: identifier "x" is undefined\n'
                               "a.h:1:1: fatal error: cublas_v2.h: No such file or directory", "ext.cu") is None


@needs_nvcc
def test_kb_own_missing_header_is_compile_error(tmp_path) -> None:
    src = KB_NO_TORCH_HEADERS.replace("#include <cuda_runtime.h>", "#include <definitely_missing_header.h>")
    v = check_candidate(TASK, kb(src), cache_dir=tmp_path)
    assert v.outcome == verdict_pb2.VERDICT_OUTCOME_COMPILE_ERROR
    assert "definitely_missing_header.h" in v.log
