"""Static checks: honest candidates pass every check; each check id has positive and negative cases."""

from __future__ import annotations

import textwrap

import pytest

from kernelwright.common.v1 import kernel_pb2
from kernelwright.gpu_evaluator.static_checks import (
    CHECK_IDS,
    FAST_CHECK_IDS,
    KB_CHECK_IDS,
    Finding,
    extract_kb_cuda_sources,
    kb_static_checks,
    static_verdict_checks,
    task_is_fp32,
)

# ---------------------------------------------------------------------------------------------
# Honest KernelBench-format candidates
# ---------------------------------------------------------------------------------------------

HONEST_RELU = '''
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

relu_source = """
#include <torch/extension.h>
#include <cuda_runtime.h>
#include <ATen/cuda/CUDAContext.h>

__global__ void relu_kernel(const float* __restrict__ x, float* __restrict__ y, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        float v = x[i];
        y[i] = v > 0.f ? v : 0.f;   // half of the values end up zero
    }
}

torch::Tensor relu_cuda(torch::Tensor x) {
    auto y = torch::empty_like(x);
    int n = x.numel();
    const int block = 256;
    const int grid = (n + block - 1) / block;
    relu_kernel<<<grid, block, 0, at::cuda::getCurrentCUDAStream()>>>(
        x.data_ptr<float>(), y.data_ptr<float>(), n);
    return y;
}
"""

relu_cpp = "torch::Tensor relu_cuda(torch::Tensor x);"

relu_ext = load_inline(
    name="relu_ext",
    cpp_sources=relu_cpp,
    cuda_sources=relu_source,
    functions=["relu_cuda"],
    verbose=False,
    extra_cuda_cflags=["-O3"],
)


class ModelNew(nn.Module):
    """Fast ReLU (half of the work is memory bound)."""

    def __init__(self) -> None:
        super().__init__()
        self.relu = relu_ext

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x.sum() would be a torch op; this comment must not trip anything
        return self.relu.relu_cuda(x.contiguous())
'''

HONEST_SOFTMAX = r'''
import math
import torch
from torch import nn
from torch.utils.cpp_extension import load_inline

CUDA_SRC = r"""
#include <torch/extension.h>
#include <cuda_runtime.h>
#include <float.h>

__device__ __forceinline__ float warp_max(float v) {
    for (int off = 16; off > 0; off >>= 1) v = fmaxf(v, __shfl_down_sync(0xffffffff, v, off));
    return v;
}
__device__ __forceinline__ float warp_sum(float v) {
    for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffff, v, off);
    return v;
}

__global__ void __launch_bounds__(256) softmax_kernel(const float* __restrict__ x, float* __restrict__ y,
                                                      int rows, int cols) {
    extern __shared__ float smem[];
    int row = blockIdx.x;
    const float* xr = x + (size_t)row * cols;
    float* yr = y + (size_t)row * cols;
    float m = -FLT_MAX;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) m = fmaxf(m, xr[c]);
    m = warp_max(m);
    int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    if (lane == 0) smem[warp] = m;
    __syncthreads();
    int half = blockDim.x / 64;  // a variable named half is not a half type
    if (warp == 0) {
        m = lane < blockDim.x / 32 ? smem[lane] : -FLT_MAX;
        m = warp_max(m);
        if (lane == 0) smem[0] = m;
    }
    __syncthreads();
    m = smem[0];
    float s = 0.f;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) s += __expf(xr[c] - m);
    s = warp_sum(s);
    __syncthreads();
    if (lane == 0) smem[warp] = s;
    __syncthreads();
    if (warp == 0) {
        s = lane < blockDim.x / 32 ? smem[lane] : 0.f;
        s = warp_sum(s);
        if (lane == 0) smem[0] = s + 0 * half;
    }
    __syncthreads();
    float inv = 1.f / smem[0];
    for (int c = threadIdx.x; c < cols; c += blockDim.x) yr[c] = __expf(xr[c] - m) * inv;
}

torch::Tensor softmax_cuda(torch::Tensor x) {
    TORCH_CHECK(x.is_cuda() && x.dim() == 2, "x must be a 2-D CUDA tensor");
    auto y = torch::empty_like(x);
    int rows = x.size(0), cols = x.size(1);
    softmax_kernel<<<rows, 256, 8 * sizeof(float)>>>(x.data_ptr<float>(), y.data_ptr<float>(), rows, cols);
    return y;
}
"""

CPP_SRC = "torch::Tensor softmax_cuda(torch::Tensor x);"

_softmax = load_inline(name="softmax_ext", cpp_sources=[CPP_SRC], cuda_sources=[CUDA_SRC],
                       functions=["softmax_cuda"], extra_cuda_cflags=["-O3", "--use_fast_math"])


def _launch(x):
    assert x.dim() == 2
    return _softmax.softmax_cuda(x)


class ModelNew(nn.Module):
    def __init__(self, dim: int = 1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        shape = x.shape
        x2 = x.reshape(-1, shape[-1]).contiguous()
        scale = 1.0 / math.sqrt(max(1, shape[-1]))
        out = _launch(x2)
        return out.view(shape)
'''

HONEST_EPILOGUE = r'''
import os
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

os.environ.setdefault("TORCH_CUDA_ARCH_LIST", "9.0")

src = """
#include <torch/extension.h>
#include <c10/cuda/CUDAStream.h>

__global__ void bias_relu_kernel(float* y, const float* b, int n, int c, int hw) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        int ch = (i / hw) % c;
        y[i] = fmaxf(y[i] + b[ch], 0.0f);
    }
}
__global__ void scale_kernel(float* y, float s, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] *= s;
}

torch::Tensor bias_relu(torch::Tensor y, torch::Tensor b, double s) {
    auto out = y.clone();
    int n = out.numel(), c = out.size(1), hw = out.size(2) * out.size(3);
    auto stream = c10::cuda::getCurrentCUDAStream();
    bias_relu_kernel<<<(n + 255) / 256, 256, 0, stream>>>(out.data_ptr<float>(), b.data_ptr<float>(), n, c, hw);
    scale_kernel<<<(n + 255) / 256, 256, 0, stream>>>(out.data_ptr<float>(), (float)s, n);
    return out;
}
"""

ext = load_inline("bias_relu_ext", "torch::Tensor bias_relu(torch::Tensor y, torch::Tensor b, double s);", src,
                  functions=["bias_relu"])


class ModelNew(nn.Module):
    def __init__(self, channels=16):
        super().__init__()
        self.bias = nn.Parameter(torch.randn(channels))
        nn.init.zeros_(self.bias)
        self.scale = 2.0
        self.op = ext.bias_relu

    def forward(self, y):
        out = torch.empty_like(y)
        y = y.to(torch.float32).contiguous()
        return self.op(y, self.bias, self.scale)
'''

HONEST_LAZY_BUILD = HONEST_RELU.replace(
    "relu_ext = load_inline(",
    "import functools\n\n\n@functools.lru_cache(maxsize=None)\ndef _get_ext():\n    return load_inline(",
).replace("        self.relu = relu_ext", "        self.relu = None").replace(
    "        return self.relu.relu_cuda(x.contiguous())",
    "        ext = _get_ext()\n        return ext.relu_cuda(x.contiguous())",
)

HONEST = {"relu": HONEST_RELU, "softmax": HONEST_SOFTMAX, "epilogue": HONEST_EPILOGUE,
          "lazy_build": HONEST_LAZY_BUILD}


def _by_id(findings: list[Finding]) -> dict[str, Finding]:
    return {f.check: f for f in findings}


@pytest.mark.parametrize("name", sorted(HONEST))
def test_honest_candidates_pass_every_check(name: str) -> None:
    findings = kb_static_checks(HONEST[name])
    assert [f.check for f in findings] == list(KB_CHECK_IDS)
    failed = [f for f in findings if not f.passed]
    assert not failed, failed


def test_honest_candidate_through_proto() -> None:
    cand = kernel_pb2.KernelCandidate(format=kernel_pb2.CANDIDATE_FORMAT_KERNELBENCH,
                                      kernelbench_source=HONEST_RELU)
    assert all(f.passed for f in static_verdict_checks(cand))


# ---------------------------------------------------------------------------------------------
# Adversarial KernelBench-format cases: (check id, source) that must fail that check
# ---------------------------------------------------------------------------------------------

def _kb(forward_body: str, *, prelude: str = "", init_body: str = "pass", kernel: str | None = None) -> str:
    kernel = kernel if kernel is not None else (
        "__global__ void k(float* y, int n) { int i = threadIdx.x; if (i < n) y[i] = 0.f; }\n"
        "torch::Tensor run(torch::Tensor x) { auto y = torch::empty_like(x); "
        "k<<<1, 256>>>(y.data_ptr<float>(), x.numel()); return y; }"
    )
    return (
        "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n"
        "from torch.utils.cpp_extension import load_inline\n"
        + textwrap.dedent(prelude)
        + f'\nCUDA = """\n{kernel}\n"""\n'
        + 'ext = load_inline(name="e", cpp_sources="torch::Tensor run(torch::Tensor x);", cuda_sources=CUDA, '
        'functions=["run"])\n\n'
        "class ModelNew(nn.Module):\n"
        "    def __init__(self):\n        super().__init__()\n"
        + textwrap.indent(textwrap.dedent(init_body), "        ") + "\n"
        "    def forward(self, x):\n"
        + textwrap.indent(textwrap.dedent(forward_body), "        ") + "\n"
    )


BAD: list[tuple[str, str, str]] = [
    ("syntax", "static.syntax", "class ModelNew(nn.Module:\n    pass\n"),
    ("no_model_new", "static.no_model_new", _kb("return ext.run(x)").replace("class ModelNew", "class Model2")),
    ("no_forward", "static.no_model_new", _kb("return ext.run(x)").replace("def forward", "def fwd")),
    ("no_kernel", "static.no_cuda_kernel", _kb("return ext.run(x)", kernel="torch::Tensor run(torch::Tensor x){return x;}")),
    ("try_forward", "static.try_except_fallback", _kb("try:\n    return ext.run(x)\nexcept Exception:\n    return x")),
    ("try_build", "static.try_except_fallback",
     _kb("return ext.run(x)", prelude="try:\n    e2 = load_inline(name='z', cpp_sources='', cuda_sources='')\n"
         "except Exception:\n    e2 = None\n")),
    ("torch_matmul", "static.torch_compute_op", _kb("return torch.matmul(x, x)")),
    ("F_conv", "static.torch_compute_op", _kb("return F.conv2d(x, self.w)", init_body="self.w = nn.Parameter(torch.randn(3, 3, 3, 3))")),
    ("relu_method", "static.torch_compute_op", _kb("return ext.run(x).relu()")),
    ("sum_method", "static.torch_compute_op", _kb("y = ext.run(x)\nreturn y.sum(dim=1)")),
    ("matmul_operator", "static.torch_compute_op", _kb("return ext.run(x) @ x")),
    ("nn_module_call", "static.torch_compute_op", _kb("return ext.run(self.conv(x))", init_body="self.conv = nn.Conv2d(3, 3, 3)")),
    ("helper_torch", "static.torch_compute_op",
     _kb("return helper(x)", prelude="def helper(x):\n    return torch.relu(x)\n")),
    ("matmul_epilogue", "static.torch_compute_op", _kb("y = torch.matmul(x, self.w)\nreturn ext.run(y)",
                                                        init_body="self.w = nn.Parameter(torch.randn(4, 4))")),
    ("aten_host", "static.torch_compute_op", _kb("return ext.run(x)", kernel=(
        "__global__ void k(float* y){}\ntorch::Tensor run(torch::Tensor x){ return at::relu(x); }"))),
    ("super_forward", "static.torch_compute_op", _kb("return super().forward(x)")),
    ("stream_py", "static.stream_tampering", _kb("s = torch.cuda.Stream()\nwith torch.cuda.stream(s):\n    return ext.run(x)")),
    ("stream_cuda", "static.stream_tampering", _kb("return ext.run(x)", kernel=(
        "__global__ void k(float* y){}\ntorch::Tensor run(torch::Tensor x){ cudaStream_t s; cudaStreamCreate(&s);"
        " k<<<1, 1, 0, s>>>(x.data_ptr<float>()); return x; }"))),
    ("threading", "static.thread_tampering", _kb("return ext.run(x)", prelude="import threading\n")),
    ("concurrent", "static.thread_tampering", _kb("return ext.run(x)", prelude="from concurrent.futures import ThreadPoolExecutor\n")),
    ("std_thread", "static.thread_tampering", _kb("return ext.run(x)", kernel=(
        "#include <thread>\n__global__ void k(float* y){}\ntorch::Tensor run(torch::Tensor x){ std::thread t([]{}); "
        "t.join(); k<<<1,1>>>(x.data_ptr<float>()); return x; }"))),
    ("patch_sync", "static.timer_tampering", _kb("return ext.run(x)", prelude="torch.cuda.synchronize = lambda *a: None\n")),
    ("patch_time", "static.timer_tampering", _kb("return ext.run(x)", prelude="import time\ntime.perf_counter = lambda: 0.0\n")),
    ("patch_event", "static.timer_tampering",
     _kb("return ext.run(x)", prelude="torch.cuda.Event.elapsed_time = lambda self, other: 0.001\n")),
    ("setattr_torch", "static.timer_tampering", _kb("return ext.run(x)", prelude="setattr(torch, 'allclose', lambda *a, **k: True)\n")),
    ("builtins", "static.timer_tampering", _kb("return ext.run(x)", prelude="import builtins\nbuiltins.print = None\n")),
    ("subprocess", "static.forbidden_import", _kb("return ext.run(x)", prelude="import subprocess\n")),
    ("os_system", "static.forbidden_import", _kb("os.system('nvidia-smi')\nreturn ext.run(x)", prelude="import os\n")),
    ("eval", "static.forbidden_import", _kb("return eval('ext.run(x)')")),
    ("dunder_import", "static.forbidden_import", _kb("m = __import__('ctypes')\nreturn ext.run(x)")),
    ("shutil", "static.forbidden_import", _kb("shutil.rmtree('/tmp/x')\nreturn ext.run(x)", prelude="import shutil\n")),
    ("ctypes", "static.forbidden_import", _kb("return ext.run(x)", prelude="import ctypes\n")),
    ("pickle", "static.forbidden_import", _kb("return ext.run(x)", prelude="import pickle\n")),
    ("tensor_subclass", "static.lazy_tensor",
     _kb("return Lazy(ext.run(x))", prelude="class Lazy(torch.Tensor):\n    pass\n")),
    ("torch_function", "static.lazy_tensor",
     _kb("return ext.run(x)", prelude="class W:\n    @classmethod\n    def __torch_function__(cls, f, t, a=(), k=None):\n        return 0\n")),
    ("as_subclass", "static.lazy_tensor", _kb("return ext.run(x).as_subclass(torch.Tensor)")),
    ("l2_window", "static.l2_persistence", _kb("return ext.run(x)", kernel=(
        "__global__ void k(float* y){}\ntorch::Tensor run(torch::Tensor x){ cudaStreamAttrValue a; "
        "a.accessPolicyWindow.hitProp = cudaAccessPropertyPersisting; k<<<1,1>>>(x.data_ptr<float>()); return x; }"))),
    ("l2_limit", "static.l2_persistence", _kb("return ext.run(x)", kernel=(
        "__global__ void k(float* y){}\ntorch::Tensor run(torch::Tensor x){ "
        "cudaDeviceSetLimit(cudaLimitPersistingL2CacheSize, 1<<20); k<<<1,1>>>(x.data_ptr<float>()); return x; }"))),
    ("half_py", "static.precision_downcast", _kb("return ext.run(x.half()).float()")),
    ("half_dtype", "static.precision_downcast", _kb("return ext.run(x.to(torch.float16))")),
    ("half_cuda", "static.precision_downcast", _kb("return ext.run(x)", kernel=(
        "#include <cuda_fp16.h>\n__global__ void k(const float* x, __half* y){ y[0] = __float2half(x[0]); }\n"
        "torch::Tensor run(torch::Tensor x){ k<<<1,1>>>(nullptr, nullptr); return x; }"))),
    ("tf32", "static.precision_downcast", _kb("return ext.run(x)", prelude="torch.backends.cuda.matmul.allow_tf32 = True\n")),
    ("global_dict", "static.global_cache",
     _kb("k = x.data_ptr()\nif k in _CACHE:\n    return _CACHE[k]\nout = ext.run(x)\n_CACHE[k] = out\nreturn out",
         prelude="_CACHE = {}\n")),
    ("self_cache", "static.global_cache",
     _kb("if self._cache is not None:\n    return self._cache\nout = ext.run(x)\nself._cache = out\nreturn out",
         init_body="self._cache = None")),
    ("lru_cache", "static.global_cache",
     _kb("return run(x)", prelude="import functools\n@functools.lru_cache(maxsize=None)\ndef run(x):\n    return ext.run(x)\n")),
]


@pytest.mark.parametrize("case,check,source", BAD, ids=[b[0] for b in BAD])
def test_adversarial_kb_case_fails_its_check(case: str, check: str, source: str) -> None:
    findings = _by_id(kb_static_checks(source))
    assert check in findings
    assert not findings[check].passed, findings[check]
    assert findings[check].message


def test_every_kb_check_has_a_negative_case() -> None:
    covered = {c for _, c, _ in BAD}
    expected = set(KB_CHECK_IDS) - {"static.unlaunched_kernel_hint"}
    assert expected <= covered


def test_launch_on_current_or_default_stream_is_fine() -> None:
    for decl in ("cudaStream_t s = 0;", "cudaStream_t s = at::cuda::getCurrentCUDAStream();",
                 "auto s = c10::cuda::getCurrentCUDAStream();"):
        src = _kb("return ext.run(x)", kernel=(
            "__global__ void k(float* y){}\ntorch::Tensor run(torch::Tensor x){ " + decl +
            " k<<<1, 1, 0, s>>>(x.data_ptr<float>()); return x; }"))
        assert _by_id(kb_static_checks(src))["static.stream_tampering"].passed, decl


def test_try_except_around_import_is_fine() -> None:
    src = _kb("return ext.run(x)", prelude="try:\n    import numpy as np\nexcept ImportError:\n    np = None\n")
    assert _by_id(kb_static_checks(src))["static.try_except_fallback"].passed


def test_fp16_task_allows_half() -> None:
    src = _kb("return ext.run(x.half())")
    assert _by_id(kb_static_checks(src, fp32_task=False))["static.precision_downcast"].passed
    assert not task_is_fp32("def get_inputs():\n    return [torch.randn(4, dtype=torch.float16)]\n")
    assert task_is_fp32("def get_inputs():\n    return [torch.randn(4)]\n")


def test_unlaunched_kernel_is_only_a_hint() -> None:
    src = _kb("return ext.run(x)", kernel=(
        "__global__ void k(float* y){}\n__global__ void unused(float* y){}\n"
        "torch::Tensor run(torch::Tensor x){ k<<<1,1>>>(x.data_ptr<float>()); return x; }"))
    f = _by_id(kb_static_checks(src))["static.unlaunched_kernel_hint"]
    assert f.passed and "unused" in f.message


def test_findings_have_line_numbers() -> None:
    src = _kb("return torch.matmul(x, x)")
    f = _by_id(kb_static_checks(src))["static.torch_compute_op"]
    assert f.line is not None and "torch.matmul" in src.splitlines()[f.line - 1]


def test_extension_buffer_cache_is_fine() -> None:
    src = _kb("key = tuple(x.shape)\nif key not in self._bufs:\n    self._bufs[key] = torch.empty_like(x)\n"
              "return ext.run(x)", init_body="self._bufs = {}")
    assert _by_id(kb_static_checks(src))["static.global_cache"].passed


# ---------------------------------------------------------------------------------------------
# load_inline source extraction
# ---------------------------------------------------------------------------------------------


def test_extract_literal_and_constant_sources() -> None:
    exts, problems = extract_kb_cuda_sources(HONEST_SOFTMAX)
    assert not problems
    assert len(exts) == 1 and exts[0].name == "softmax_ext"
    assert "softmax_kernel" in exts[0].cuda_sources[0]
    assert exts[0].extra_cuda_cflags == ["-O3", "--use_fast_math"]
    exts, _ = extract_kb_cuda_sources(HONEST_EPILOGUE)  # positional arguments
    assert exts[0].name == "bias_relu_ext" and "scale_kernel" in exts[0].cuda_sources[0]


def test_extract_reports_dynamic_sources() -> None:
    src = 'from torch.utils.cpp_extension import load_inline\nN = 4\nS = f"__global__ void k() {{ }} // {N}"\n' \
          'm = load_inline(name="x", cpp_sources="", cuda_sources=S)\n'
    exts, problems = extract_kb_cuda_sources(src)
    assert not exts and problems and "not statically extractable" in problems[0]


# ---------------------------------------------------------------------------------------------
# Fast format
# ---------------------------------------------------------------------------------------------

FAST_SRC = r'''
extern "C" __global__ void relu(const float* __restrict__ x, float* __restrict__ y, long long n) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = fmaxf(x[i], 0.f);
}
'''


def fast_candidate(src: str = FAST_SRC, kernel: str = "relu", op: str | None = None) -> kernel_pb2.KernelCandidate:
    plan = kernel_pb2.LaunchPlan()
    a = plan.allocations.add(name="out", dtype="float32", is_output=True)
    a.shape.add(expr="in0.shape[0]")
    a.shape.add(expr="in0.shape[1]")
    ln = plan.steps.add().launch
    ln.kernel = kernel
    ln.grid.add(expr="ceil_div(in0.numel, 256)")
    ln.block.add(expr="256")
    ln.args.add(tensor="in0")
    ln.args.add(tensor="out")
    ln.args.add(int_expr=kernel_pb2.ShapeExpr(expr="in0.numel"))
    if op:
        lc = plan.steps.add().library_call
        lc.op = op
        lc.args.add(tensor="in0")
        lc.args.add(tensor="in0")
        lc.out = "mm_out"
    return kernel_pb2.KernelCandidate(id="c1", format=kernel_pb2.CANDIDATE_FORMAT_FAST, cuda_source=src, plan=plan)


def test_fast_honest_passes() -> None:
    findings = static_verdict_checks(fast_candidate())
    assert [f.check for f in findings] == list(FAST_CHECK_IDS)
    assert all(f.passed for f in findings), [f for f in findings if not f.passed]
    findings = static_verdict_checks(fast_candidate(op="matmul"))
    assert all(f.passed for f in findings)


def test_fast_unknown_kernel() -> None:
    f = _by_id(static_verdict_checks(fast_candidate(kernel="relu2")))
    assert not f["static.plan_kernel_unknown"].passed
    # a non-extern-"C" kernel is not launchable by name either
    f = _by_id(static_verdict_checks(fast_candidate(src=FAST_SRC.replace('extern "C" ', ""))))
    assert not f["static.plan_kernel_unknown"].passed


def test_fast_library_call_not_allowed() -> None:
    f = _by_id(static_verdict_checks(fast_candidate(op="softmax")))
    assert not f["static.library_call_not_allowed"].passed
    assert f["static.plan_invalid"].passed


def test_fast_plan_invalid() -> None:
    c = fast_candidate()
    c.plan.steps[0].launch.block[0].expr = "2048"
    f = _by_id(static_verdict_checks(c))
    assert not f["static.plan_invalid"].passed and "2048" in f["static.plan_invalid"].message
    c = fast_candidate()
    c.plan.steps[0].launch.args.add(tensor="nope")
    f = _by_id(static_verdict_checks(c))
    assert not f["static.plan_invalid"].passed


def test_fast_cuda_text_checks() -> None:
    cases = {
        "static.precision_downcast": FAST_SRC.replace("fmaxf(x[i], 0.f)", "__half2float(__float2half(x[i]))"),
        "static.l2_persistence": FAST_SRC + "\n// hitProp\nint hitProp_dummy; void f(){ cudaLimitPersistingL2CacheSize; }",
        "static.thread_tampering": "#include <thread>\n" + FAST_SRC,
        "static.stream_tampering": FAST_SRC + "\nvoid f(){ cudaStream_t s; cudaStreamCreate(&s); }",
        "static.no_cuda_kernel": "int x;",
    }
    for check, src in cases.items():
        f = _by_id(static_verdict_checks(fast_candidate(src=src)))
        assert not f[check].passed, (check, f[check])


def test_check_ids_are_stable() -> None:
    assert CHECK_IDS[:3] == ("static.syntax", "static.no_model_new", "static.no_cuda_kernel")
    assert len(set(CHECK_IDS)) == len(CHECK_IDS) == 17


def test_the_parameter_write_fault_passes_every_static_check():
    """faults/writes_weight.cu is caught only at run time (parameters_unmodified, a GPU test): no static
    check may claim it, or the GPU test would not be testing the copies."""
    from pathlib import Path

    from kernelwright.gpu_evaluator.candidate_files import load_candidate

    faults = Path(__file__).parent / "faults"
    found = static_verdict_checks(load_candidate(faults / "writes_weight.cu"),
                                  task_source=(faults / "task_scale_by_weight.py").read_text(),
                                  input_names=["in0"], param_names=["weight"])
    assert found and all(f.passed for f in found), [f for f in found if not f.passed]
