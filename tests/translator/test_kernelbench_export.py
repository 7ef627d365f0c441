"""Fast-format candidate -> KernelBench ModelNew export (services/translator/kernelbench_export.py).

CPU parts: the exported file parses, has the task's constructor signature, passes our
KernelBench-format static checks, adopts the reference's parameters (extension build faked), and
its ShapeExpr -> C++ translation matches plan.eval_expr (g++). The generated CUDA/C++ compiles
with nvcc against torch's headers (slow). The gpu test builds and runs exports on CUDA.
"""

from __future__ import annotations

import ast
import json
import random
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest
from google.protobuf import json_format

from kernelwright.common.v1 import kernel_pb2
from kernelwright.gpu_evaluator import plan as plan_mod
from kernelwright.gpu_evaluator.candidate_files import load_candidate
from kernelwright.gpu_evaluator.static_checks import extract_kb_cuda_sources, kb_static_checks, task_is_fp32
from kernelwright.translator.kernelbench_export import (
    CPP_PRELUDE,
    ExportError,
    export_names,
    shape_expr_to_cpp,
    to_kernelbench,
)

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "gpu_evaluator" / "corpus"
TASK_ROOTS = (ROOT / "tests" / "data" / "kernelbench" / "dev", ROOT / ".kb" / "dev")


def task_path(rel: str) -> Path | None:
    return next((base / rel for base in TASK_ROOTS if (base / rel).is_file()), None)


def corpus_cases() -> list[tuple[str, Path, Path]]:
    cases = []
    for folder in sorted(p for p in CORPUS.iterdir() if (p / "meta.json").is_file()):
        task = task_path(json.loads((folder / "meta.json").read_text())["task"])
        if task is not None:
            cases.append((folder.name, folder / "fast.cu", task))
    return cases


CASES = corpus_cases()
needs_tasks = pytest.mark.skipif(not CASES, reason="KernelBench task files not found (tests/data/kernelbench/dev)")


# A synthetic task with parameters, a buffer, a submodule and a scalar input, and a plan that uses
# all of them plus library calls (the corpus has none of these).
PARAM_TASK = '''
import torch
import torch.nn as nn

class Model(nn.Module):
    def __init__(self, in_features, out_features, *, scale=2.0):
        super().__init__()
        self.fc = nn.Linear(in_features, out_features)
        self.gain = nn.Parameter(torch.randn(out_features))
        self.proj = nn.Parameter(torch.randn(in_features, out_features))
        self.register_buffer("offset", torch.randn(out_features))
        self.register_buffer("scratch", torch.zeros(1), persistent=False)
        self.scale = scale

    def forward(self, x, n):
        return (self.fc(x) * self.gain + self.offset)[:, :n]

def get_inputs():
    return [torch.randn(8, 16), 4]

def get_init_inputs():
    return [16, 32]
'''

PARAM_CUDA = r'''
extern "C" __global__ void affine_kernel(const float* __restrict__ y, const float* g, const float* o,
                                         float* out, long long rows, long long cols, long long keep,
                                         float alpha) {
    long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (i < rows * keep) {
        long long r = i / keep, c = i % keep;
        out[i] = alpha * (y[r * cols + c] * g[c] + o[c]);
    }
}
'''


def param_candidate(**overrides) -> kernel_pb2.KernelCandidate:
    plan = {
        "allocations": [{"name": "out", "shape": [{"expr": "in0.shape[0]"}, {"expr": "min(in1, fc_weight.shape[0])"}],
                         "dtype": "float32", "isOutput": True},
                        {"name": "rowsum", "shape": [{"expr": "in0.shape[0]"}, {"expr": "fc_weight.shape[0]"}],
                         "dtype": "float32", "isOutput": True}],
        "steps": [
            {"libraryCall": {"op": "linear", "args": [{"tensor": "in0"}, {"tensor": "fc_weight"},
                                                      {"tensor": "fc_bias"}], "out": "y"}},
            {"launch": {"kernel": "affine_kernel", "grid": [{"expr": "ceil_div(in0.shape[0] * in1, 256)"}],
                        "block": [{"expr": "256"}],
                        "args": [{"tensor": "y"}, {"tensor": "gain"}, {"tensor": "offset"}, {"tensor": "out"},
                                 {"intExpr": {"expr": "y.shape[0]"}}, {"intExpr": {"expr": "y.shape[-1]"}},
                                 {"intExpr": {"expr": "min(in1, y.shape[1])"}}, {"floatValue": 1.0}]}},
            {"libraryCall": {"op": "addmm", "args": [{"tensor": "fc_bias"}, {"tensor": "in0"},
                                                     {"tensor": "proj"}], "out": "rowsum",
                             "attributes": {"beta": "0.5", "alpha": "2"}}},
        ],
    }
    plan.update(overrides.pop("plan_overrides", {}))
    c = kernel_pb2.KernelCandidate(format=kernel_pb2.CANDIDATE_FORMAT_FAST, cuda_source=PARAM_CUDA,
                                   id=overrides.pop("id", "cafe0123"), proposer="test")
    json_format.ParseDict(plan, c.plan)
    return c


# ---------------------------------------------------------------------------------------------
# (1) the exported file: Python, signature, static checks
# ---------------------------------------------------------------------------------------------


def _class(tree: ast.Module, name: str) -> ast.ClassDef:
    return next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name)


def _init_args(cls: ast.ClassDef) -> str:
    init = next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    return ast.unparse(init.args)


@needs_tasks
@pytest.mark.parametrize("name,cu,task", CASES, ids=[c[0] for c in CASES])
def test_corpus_export_is_valid_and_passes_static_checks(name: str, cu: Path, task: Path) -> None:
    candidate = load_candidate(cu)
    task_source = task.read_text()
    source = to_kernelbench(candidate, task_source)
    tree = ast.parse(source)
    assert _init_args(_class(tree, "ModelNew")) == _init_args(_class(tree, "Model"))
    failed = [(f.check, f.message) for f in kb_static_checks(source, fp32_task=task_is_fp32(task_source))
              if not f.passed]
    assert failed == []
    exts, problems = extract_kb_cuda_sources(source)
    assert problems == [] and len(exts) == 1
    names = export_names(candidate)
    assert exts[0].name == names.extension and names.function in exts[0].cpp_sources[0]
    # Every kernel of the plan is launched from the host function on the current stream.
    for step in candidate.plan.steps:
        assert f"{step.launch.kernel}<<<" in exts[0].cuda_sources[0]
    assert "c10::cuda::getCurrentCUDAStream()" in exts[0].cuda_sources[0]


def test_param_task_signature_and_names_are_unique() -> None:
    a = to_kernelbench(param_candidate(id="aaaa"), PARAM_TASK)
    b = to_kernelbench(param_candidate(id="bbbb"), PARAM_TASK)
    model_new = _class(ast.parse(a), "ModelNew")
    assert _init_args(model_new) == "self, in_features, out_features, *, scale=2.0"
    ext_a, ext_b = extract_kb_cuda_sources(a)[0][0], extract_kb_cuda_sources(b)[0][0]
    assert ext_a.name != ext_b.name and ext_a.name == "kw_export_aaaa"
    assert "kw_forward_aaaa" in ext_a.cpp_sources[0] and "kw_forward_bbbb" in ext_b.cpp_sources[0]
    # An id-less candidate still gets a stable, content-derived name.
    anon = param_candidate(id="")
    assert export_names(anon) == export_names(param_candidate(id="")) and export_names(anon).tag


def test_library_calls_export_through_aten_and_are_flagged_as_compute() -> None:
    source = to_kernelbench(param_candidate(), PARAM_TASK)
    cuda = extract_kb_cuda_sources(source)[0][0].cuda_sources[0]
    assert "at::linear(kw_t_in0, kw_t_fc_weight, kw_t_fc_bias)" in cuda
    assert "kw_copy_into(kw_t_rowsum, at::addmm(kw_t_fc_bias, kw_t_in0, kw_t_proj, 0.5, 2.0)" in cuda
    failed = {f.check for f in kb_static_checks(source) if not f.passed}
    # Documented: ATen compute in host code is what a KernelBench-format static check rejects.
    assert failed == {"static.torch_compute_op"}


def test_conv_attributes_translate_to_aten_arguments() -> None:
    cuda_src = 'extern "C" __global__ void noop(float* x) {}'
    plan = {"allocations": [{"name": "o", "shape": [{"expr": "1"}], "dtype": "float32", "isOutput": True}],
            "steps": [{"libraryCall": {"op": "conv2d", "args": [{"tensor": "in0"}, {"tensor": "w"}], "out": "c",
                                       "attributes": {"stride": "2", "padding": "[1, 0]", "groups": "2"}}},
                      {"libraryCall": {"op": "conv1d", "args": [{"tensor": "c"}, {"tensor": "w1"}], "out": "d",
                                       "attributes": {"padding": "\"same\""}}},
                      {"libraryCall": {"op": "conv_transpose3d", "args": [{"tensor": "in1"}, {"tensor": "w3"},
                                                                          {"tensor": "b3"}], "out": "e",
                                       "attributes": {"output_padding": "1", "dilation": "[1, 2, 1]"}}},
                      {"launch": {"kernel": "noop", "grid": [{"expr": "1"}], "block": [{"expr": "1"}],
                                  "args": [{"tensor": "o"}]}}]}
    c = kernel_pb2.KernelCandidate(cuda_source=cuda_src, id="conv")
    json_format.ParseDict(plan, c.plan)
    cuda = extract_kb_cuda_sources(to_kernelbench(c, "class Model:\n    pass\n"))[0][0].cuda_sources[0]
    assert ("at::conv2d(kw_t_in0, kw_t_w, std::optional<at::Tensor>(), std::vector<int64_t>{2, 2}, "
            "std::vector<int64_t>{1, 0}, std::vector<int64_t>{1, 1}, 2)") in cuda
    assert 'at::conv1d(kw_t_c, kw_t_w1, std::optional<at::Tensor>(), std::vector<int64_t>{1}, "same"' in cuda
    assert ("at::conv_transpose3d(kw_t_in1, kw_t_w3, kw_t_b3, std::vector<int64_t>{1, 1, 1}, "
            "std::vector<int64_t>{0, 0, 0}, std::vector<int64_t>{1, 1, 1}, 1, std::vector<int64_t>{1, 2, 1})") in cuda


@pytest.mark.parametrize("mutate,match", [
    (lambda c: c.plan.steps[1].launch.__setattr__("kernel", "missing_kernel"), "unknown kernel"),
    (lambda c: c.plan.ClearField("steps"), "no steps"),
    (lambda c: c.plan.steps[1].launch.args[0].__setattr__("tensor", "in1"), "both as a tensor and as a scalar"),
    (lambda c: c.__setattr__("cuda_source", ""), "no cuda_source"),
    (lambda c: c.__setattr__("format", kernel_pb2.CANDIDATE_FORMAT_KERNELBENCH), "already in KernelBench"),
    (lambda c: c.plan.allocations[0].shape[0].__setattr__("expr", "in0.shape[0] ** 2"), "not allowed"),
])
def test_unexportable_candidates_raise_value_error(mutate, match: str) -> None:
    c = param_candidate()
    mutate(c)
    with pytest.raises(ValueError, match=match):
        to_kernelbench(c, PARAM_TASK)


def test_task_without_model_is_rejected() -> None:
    with pytest.raises(ExportError, match="no top-level class Model"):
        to_kernelbench(param_candidate(), "import torch\n")


# ---------------------------------------------------------------------------------------------
# ModelNew's Python side, with the extension build faked (no CUDA build on this machine)
# ---------------------------------------------------------------------------------------------


def test_model_new_adopts_reference_state_and_passes_plan_tensors(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch
    import torch.utils.cpp_extension as cpp_extension

    calls = []
    built = {}

    def fake_load_inline(**kwargs):
        built.update(kwargs)
        fn = kwargs["functions"][0]
        return types.SimpleNamespace(**{fn: lambda *args: calls.append(args) or [args[0], args[0]]})

    monkeypatch.setattr(cpp_extension, "load_inline", fake_load_inline)
    source = to_kernelbench(param_candidate(), PARAM_TASK)
    module = types.ModuleType("kw_export_test")
    exec(compile(source, "<export>", "exec"), module.__dict__)

    torch.manual_seed(7)
    ref = module.Model(16, 32)
    torch.manual_seed(7)
    new = module.ModelNew(16, 32)
    ref_state, new_state = ref.state_dict(), new.state_dict()
    assert list(new_state) == list(ref_state) == ["gain", "proj", "offset", "fc.weight", "fc.bias"]
    assert all(torch.equal(ref_state[k], new_state[k]) for k in ref_state)
    assert dict(new.named_buffers()).keys() == dict(ref.named_buffers()).keys()  # non-persistent kept too

    x = torch.randn(8, 16)
    out = new(x, 4)
    assert isinstance(out, tuple) and len(out) == 2  # two is_output allocations
    (args,) = calls
    # Inputs first (in0 tensor, in1 int), then parameters in the plan's first-use order.
    assert args[0] is x and args[1] == 4
    assert [a.data_ptr() for a in args[2:]] == [new.fc.weight.data_ptr(), new.fc.bias.data_ptr(),
                                                new.gain.data_ptr(), new.offset.data_ptr(), new.proj.data_ptr()]
    decl = built["cpp_sources"]
    assert decl.startswith("std::vector<at::Tensor> kw_forward_cafe0123(at::Tensor kw_t_in0, int64_t kw_s_in1, "
                           "at::Tensor kw_t_fc_weight, at::Tensor kw_t_fc_bias, at::Tensor kw_t_gain, "
                           "at::Tensor kw_t_offset")


def test_missing_parameter_fails_at_construction(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch.utils.cpp_extension as cpp_extension

    monkeypatch.setattr(cpp_extension, "load_inline", lambda **kw: types.SimpleNamespace())
    c = param_candidate()
    c.plan.steps[1].launch.args[1].tensor = "no_such_param"
    module = types.ModuleType("kw_export_test2")
    exec(compile(to_kernelbench(c, PARAM_TASK), "<export>", "exec"), module.__dict__)
    with pytest.raises(ValueError, match="no_such_param"):
        module.ModelNew(16, 32)


# ---------------------------------------------------------------------------------------------
# (3) ShapeExpr -> C++ agrees with plan.eval_expr (compiled with g++)
# ---------------------------------------------------------------------------------------------

MOCK_TENSOR = r"""
#include <cstdio>
#include <vector>
struct MockTensor {
    std::vector<int64_t> s;
    int64_t dim() const { return (int64_t)s.size(); }
    int64_t size(int64_t d) const { return s.at(d < 0 ? d + dim() : d); }
    int64_t numel() const { int64_t n = 1; for (auto v : s) n *= v; return n; }
};
"""

ENV = {"x": plan_mod.ShapeInfo((7, 3, 5)), "y": plan_mod.ShapeInfo((4,)), "z": plan_mod.ShapeInfo(()),
       "n": -7, "m": 3, "big": 2**61}
FIXED_EXPRS = [
    "-7 // 2", "7 // -2", "-7 % 3", "7 % -3", "-7 % -3", "-8 // 2", "0 // -5", "-1 % 5",
    "ceil_div(-7, 2)", "ceil_div(7, -2)", "ceil_div(x.numel, 256)", "ceil_div(0, 3)",
    "min(n, m)", "max(n, m, -100, x.ndim)", "min(5)", "max(-x.shape[-1], n // m)",
    "x.shape[0] * x.shape[1] * x.shape[2] - x.numel", "x.shape[-3] % -4", "y.shape[-1] // -3",
    "z.numel", "z.ndim", "n // 0", "m % 0", "ceil_div(n, 0)", "x.shape[3]", "y.shape[-2]",
    "big * 2", "big * 4", "-big * 3", "big + big + big", "2305843009213693952 * 2 - 1",
    "4611686018427387905", "--n", "+m - -n", "(n % m) * (n // m) + m", "1 - 2 - 3",
]


def _random_expr(rng: random.Random, depth: int) -> str:
    if depth == 0 or rng.random() < 0.25:
        return rng.choice([str(rng.randint(-20, 20)), "n", "m", "x.shape[0]", "x.shape[-1]", "x.numel", "x.ndim",
                           "y.shape[0]", "z.numel"])
    kind = rng.randrange(6)
    a, b = _random_expr(rng, depth - 1), _random_expr(rng, depth - 1)
    if kind < 3:
        return f"({a} {rng.choice(['+', '-', '*', '//', '%'])} {b})"
    if kind == 3:
        return f"ceil_div({a}, {b})"
    if kind == 4:
        return f"-({a})"
    return f"{rng.choice(['min', 'max'])}({a}, {b}, {_random_expr(rng, depth - 1)})"


def _python_value(expr: str) -> str:
    try:
        return str(plan_mod.eval_expr(expr, ENV))
    except plan_mod.PlanError:
        return "ERR"


@pytest.mark.skipif(shutil.which("g++") is None, reason="g++ not found")
def test_shape_expr_translation_matches_eval_expr(tmp_path: Path) -> None:
    rng = random.Random(20261125)
    exprs = FIXED_EXPRS + [_random_expr(rng, 4) for _ in range(400)]

    def resolve(name: str) -> tuple[str, str]:
        return ("tensor", name) if isinstance(ENV[name], plan_mod.ShapeInfo) else ("int", name)

    cases, refused = [], []
    for i, e in enumerate(exprs):
        try:
            cpp = shape_expr_to_cpp(e, resolve)
        except ExportError:
            refused.append(e)  # a literal beyond 2**62: refused at export time
            cpp = "kw_bound((int64_t(1) << 62) + 1)"
        cases.append(f'    try {{ std::printf("%lld\\n", (long long)({cpp})); }} '
                     f'catch (const std::exception&) {{ std::printf("ERR\\n"); }}  // {i}: {e}')
    program = (CPP_PRELUDE + MOCK_TENSOR + "int main() {\n"
               "    const MockTensor x{{7, 3, 5}}, y{{4}}, z{{}};\n"
               "    const int64_t n = -7, m = 3, big = int64_t(1) << 61;\n" + "\n".join(cases) + "\n    return 0;\n}\n")
    src = tmp_path / "exprs.cpp"
    src.write_text(program)
    exe = tmp_path / "exprs"
    subprocess.run(["g++", "-std=c++17", "-O1", "-Wall", "-Werror", "-Wno-unused-function", str(src), "-o", str(exe)],
                   check=True, capture_output=True, text=True)
    got = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.split()
    want = [_python_value(e) for e in exprs]
    mismatches = [(e, w, g) for e, w, g in zip(exprs, want, got) if w != g]
    assert len(got) == len(exprs) and mismatches == []
    assert refused == ["4611686018427387905"]
    # The sample exercises both outcomes, including floor semantics on negatives.
    assert want[:8] == ["-4", "-4", "2", "-2", "-1", "-4", "0", "4"] and want.count("ERR") >= 8


# ---------------------------------------------------------------------------------------------
# (2) the generated translation unit compiles with nvcc against torch's headers
# ---------------------------------------------------------------------------------------------


def _torch_includes(tmp: Path) -> list[str]:
    import torch.utils.cpp_extension as ce

    dirs = ce.include_paths()
    flags = [f"-I{d}" for d in dirs]
    # The CPU-only torch wheel lacks this one CUDA build header; a one-line stand-in supplies it.
    if not any((Path(d) / "c10/cuda/impl/cuda_cmake_macros.h").is_file() for d in dirs):
        shim = tmp / "shim" / "c10" / "cuda" / "impl"
        shim.mkdir(parents=True)
        (shim / "cuda_cmake_macros.h").write_text("#pragma once\n#define C10_CUDA_BUILD_SHARED_LIBS\n")
        flags.insert(0, f"-I{tmp / 'shim'}")
    return flags


@pytest.mark.slow
@pytest.mark.timeout(900)  # torch's headers make each nvcc run ~0.5-2 min on a busy 2-core machine
@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc not found")
def test_exported_cuda_compiles_with_nvcc(tmp_path: Path) -> None:
    sources = {"param_task": to_kernelbench(param_candidate(), PARAM_TASK)}
    for name, cu, task in CASES:
        if name == "37_FrobeniusNorm_":  # three kernels; the synthetic plan covers library calls and scalars
            sources[name] = to_kernelbench(load_candidate(cu), task.read_text())
    includes = _torch_includes(tmp_path)
    procs = {}
    for name, source in sources.items():
        (ext,), _ = extract_kb_cuda_sources(source)
        cu_file = tmp_path / f"{name}.cu"
        cu_file.write_text(ext.cuda_sources[0])
        cmd = ["nvcc", "-c", "-std=c++17", "-arch=sm_90", "--expt-relaxed-constexpr", "-diag-suppress", "3306",
               "-DTORCH_EXTENSION_NAME=" + ext.name, *includes, str(cu_file), "-o", str(tmp_path / f"{name}.o")]
        procs[name] = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    failures = {}
    for name, p in procs.items():
        out, _ = p.communicate(timeout=840)
        if p.returncode != 0:
            failures[name] = "\n".join(l for l in out.splitlines() if "error" in l)[:2000]
    assert failures == {}
    assert all((tmp_path / f"{n}.o").stat().st_size > 0 for n in sources)


# ---------------------------------------------------------------------------------------------
# (4) on a GPU: the exported ModelNew matches the task Model
# ---------------------------------------------------------------------------------------------

GPU_CASES = [c for c in CASES if c[0] in ("19_ReLU", "37_FrobeniusNorm_", "94_MSELoss")]


@pytest.mark.gpu
@pytest.mark.slow
@needs_tasks
@pytest.mark.parametrize("name,cu,task", GPU_CASES, ids=[c[0] for c in GPU_CASES])
def test_exported_model_new_matches_reference_on_cuda(name: str, cu: Path, task: Path, tmp_path: Path) -> None:
    import torch

    from kernelwright.gpu_evaluator import harness
    from kernelwright.gpu_evaluator.kb_runner import load_model_new

    task_source = task.read_text()
    source = to_kernelbench(load_candidate(cu), task_source)
    model_new_cls = load_model_new(source, tmp_path)
    module = harness.load_task(task_source)
    device = torch.device("cuda")
    init = list(module.get_init_inputs())
    ref = harness.build_model(module.Model, init, seed=42, device=device)
    new = harness.build_model(model_new_cls, init, seed=42, device=device)
    torch.manual_seed(0)
    inputs = [x.to(device) if isinstance(x, torch.Tensor) else x for x in module.get_inputs()]
    with torch.no_grad():
        want, got = ref(*inputs), new(*inputs)
    torch.cuda.synchronize()
    assert got.shape == want.shape and got.dtype == want.dtype
    torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
