"""Compile-checks the gpu-evaluator candidate corpora without a GPU (driven by check_compile.sh).

For every fast-format `*.cu`:       nvcc -arch=sm_90 -cubin, and NVRTC (the evaluator's compiler) for
                                    sm_90 with no include paths, when libnvrtc can be found.
For every `*.plan.json` beside it:  parse as kernelwright.common.v1.LaunchPlan (when the generated
                                    protos import) and a light semantic check (kernels exist in the
                                    .cu, tensor names resolve, library ops allowlisted). Adversarial
                                    plans whose EXPECTED_REJECTION is a plan check must FAIL it.
For every KernelBench `*.py`:       extract the module-level `cuda_source` / `cpp_source` /
                                    `functions=[...]` strings with `ast` (nothing is executed) and
                                    compile cuda_source with nvcc against the torch headers exactly as
                                    load_inline would (-std=c++20, COMMON_NVCC_FLAGS, sm_90).
                                    cpp_source is syntax-checked with the host compiler when
                                    --with-cpp is given (slow: torch/extension.h).

CPU-only torch wheels lack c10/cuda/impl/cuda_cmake_macros.h; a one-line shim supplies it.
Exit status 0 only if everything behaved as expected.
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures as cf
import ctypes
import ctypes.util
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
DEFAULT_DIRS = [HERE, HERE.parent / "adversarial"]
NVCC = os.environ.get("NVCC", shutil.which("nvcc") or "/usr/local/cuda/bin/nvcc")
ARCH = os.environ.get("KW_ARCH", "sm_90")
NVCC_TORCH_FLAGS = [
    "-D__CUDA_NO_HALF_OPERATORS__",
    "-D__CUDA_NO_HALF_CONVERSIONS__",
    "-D__CUDA_NO_BFLOAT16_CONVERSIONS__",
    "-D__CUDA_NO_HALF2_OPERATORS__",
    "--expt-relaxed-constexpr",
    "-std=c++20",
    "-O3",
]
PLAN_CHECK_IDS = {"static.plan_invalid", "static.library_call_not_allowed"}
ALLOWED_LIBRARY_OPS = {
    "matmul", "mm", "bmm", "addmm", "linear",
    "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
}
KERNEL_RE = re.compile(r'extern\s+"C"\s+__global__\s+void\s+(?:__launch_bounds__\([^)]*\)\s+)?(\w+)\s*\(')
EXPECTED_RE = re.compile(r'EXPECTED_REJECTION\s*[:=]\s*"?([\w.]+|None)"?')


# ------------------------------------------------------------------------------------------ NVRTC

def _load_nvrtc():
    cands = [os.environ.get("KW_NVRTC_LIB", "")]
    try:
        import nvidia  # type: ignore

        for p in nvidia.__path__:
            cands += sorted(str(x) for x in Path(p).glob("*/lib/libnvrtc.so*") if "builtins" not in x.name and "alt" not in x.name)
    except Exception:  # noqa: BLE001
        pass
    cands += ["/usr/local/cuda/lib64/libnvrtc.so", ctypes.util.find_library("nvrtc") or ""]
    for c in cands:
        if c and Path(c).exists() or (c and "/" not in c):
            try:
                if "/" in c:  # libnvrtc dlopens its builtins library; make it findable
                    for b in sorted(Path(c).parent.glob("libnvrtc-builtins.so*")):
                        if ".alt." not in b.name:
                            ctypes.CDLL(str(b), mode=ctypes.RTLD_GLOBAL)
                return ctypes.CDLL(c), c
            except OSError:
                continue
    return None, None


NVRTC, NVRTC_PATH = _load_nvrtc()


def nvrtc_compile(src: str, name: str) -> tuple[bool, str]:
    lib = NVRTC
    prog = ctypes.c_void_p()
    rc = lib.nvrtcCreateProgram(ctypes.byref(prog), src.encode(), name.encode(), 0, None, None)
    if rc != 0:
        return False, f"nvrtcCreateProgram rc={rc}"
    opts = [f"--gpu-architecture={ARCH}".encode(), b"-std=c++17"]
    arr = (ctypes.c_char_p * len(opts))(*opts)
    rc = lib.nvrtcCompileProgram(prog, len(opts), arr)
    size = ctypes.c_size_t()
    lib.nvrtcGetProgramLogSize(prog, ctypes.byref(size))
    buf = ctypes.create_string_buffer(size.value)
    lib.nvrtcGetProgramLog(prog, buf)
    lib.nvrtcDestroyProgram(ctypes.byref(prog))
    return rc == 0, buf.value.decode(errors="replace")


# ------------------------------------------------------------------------------------------ helpers

def run(cmd: list[str], cwd: str | None = None) -> tuple[bool, str]:
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd)
    out = (p.stdout + p.stderr).strip()
    return p.returncode == 0, out


def torch_include_dirs() -> list[str]:
    import torch.utils.cpp_extension as ce

    return ce.include_paths()


def make_shim(tmp: Path) -> Path:
    shim = tmp / "shim"
    d = shim / "c10" / "cuda" / "impl"
    d.mkdir(parents=True, exist_ok=True)
    (d / "cuda_cmake_macros.h").write_text("#pragma once\n#define C10_CUDA_BUILD_SHARED_LIBS\n")
    return shim


def extract_kernelbench(path: Path) -> dict:
    """Module-level string constants + the load_inline functions= list, without executing."""
    tree = ast.parse(path.read_text(), filename=str(path))
    consts: dict[str, str] = {}
    info: dict = {"cuda": None, "cpp": None, "functions": None, "expected": None, "has_model_new": False}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                consts[name] = node.value.value
            if name == "EXPECTED_REJECTION" and isinstance(node.value, ast.Constant):
                info["expected"] = node.value.value
        if isinstance(node, ast.ClassDef) and node.name == "ModelNew":
            info["has_model_new"] = True
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "load_inline":
            for kw in node.keywords:
                v = kw.value
                if kw.arg in ("cuda_sources", "cpp_sources"):
                    val = consts.get(v.id) if isinstance(v, ast.Name) else (v.value if isinstance(v, ast.Constant) else None)
                    info["cuda" if kw.arg == "cuda_sources" else "cpp"] = val
                if kw.arg == "functions" and isinstance(v, (ast.List, ast.Tuple)):
                    info["functions"] = [e.value for e in v.elts if isinstance(e, ast.Constant)]
    return info


def check_plan(plan_path: Path, cu_src: str) -> list[str]:
    """Returns a list of problems ([] = valid)."""
    problems: list[str] = []
    data = json.loads(plan_path.read_text())
    try:
        sys.path.insert(0, str(REPO))
        from google.protobuf import json_format  # type: ignore

        try:
            from kernelwright.common.v1 import kernel_pb2  # type: ignore
        except ImportError:
            from services.common.v1 import kernel_pb2  # type: ignore
        json_format.Parse(plan_path.read_text(), kernel_pb2.LaunchPlan())
    except ImportError:
        pass
    except Exception as e:  # noqa: BLE001
        problems.append(f"not a LaunchPlan: {e}")
    kernels = set(KERNEL_RE.findall(cu_src))
    names = {f"in{i}" for i in range(8)}
    for a in data.get("allocations", []):
        names.add(a["name"])
    tensor_re = re.compile(r"\b(in\d+)\b")
    for step in data.get("steps", []):
        if "launch" in step:
            ln = step["launch"]
            if ln["kernel"] not in kernels:
                problems.append(f"launch of unknown kernel {ln['kernel']!r} (source has {sorted(kernels)})")
            args = ln.get("args", [])
        else:
            lc = step["libraryCall"]
            if lc["op"] not in ALLOWED_LIBRARY_OPS:
                problems.append(f"library call {lc['op']!r} not allowlisted")
            args = lc.get("args", [])
        for a in args:
            if "tensor" in a and a["tensor"] not in names:
                problems.append(f"unknown tensor {a['tensor']!r}")
            if "intExpr" in a:
                for t in tensor_re.findall(a["intExpr"]["expr"]):
                    if t not in names:
                        problems.append(f"unknown tensor {t!r} in expr")
    if not any(a.get("isOutput") for a in data.get("allocations", [])):
        problems.append("no output allocation")
    return problems


# ------------------------------------------------------------------------------------------ main

def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("paths", nargs="*", type=Path, default=DEFAULT_DIRS)
    ap.add_argument("--with-cpp", action="store_true", help="also syntax-check cpp_source (slow)")
    ap.add_argument("--skip-kernelbench", action="store_true")
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()

    cu_files: list[Path] = []
    py_files: list[Path] = []
    for p in args.paths:
        if p.is_file():
            (cu_files if p.suffix == ".cu" else py_files).append(p)
            continue
        cu_files += sorted(p.rglob("*.cu"))
        py_files += sorted(x for x in p.rglob("*.py") if x.name not in {"compile_check.py", "generate_corpus.py", "generate_adversarial.py"} and not x.name.startswith("task_"))

    failures: list[str] = []
    print(f"nvcc: {NVCC}; nvrtc: {NVRTC_PATH or 'NOT FOUND (skipping NVRTC check)'}")

    # ---- fast format
    for cu in cu_files:
        src = cu.read_text()
        ok, log = run([NVCC, f"-arch={ARCH}", "-cubin", "-o", os.devnull, str(cu)])
        status = ["nvcc ok" if ok else "nvcc FAIL"]
        if not ok:
            failures.append(f"{cu}: nvcc\n{log}")
        if NVRTC is not None:
            ok2, log2 = nvrtc_compile(src, cu.name)
            status.append("nvrtc ok" if ok2 else "nvrtc FAIL")
            if not ok2:
                failures.append(f"{cu}: nvrtc\n{log2}")
        plan = cu.with_name(cu.name[: -len(".cu")] + ".plan.json")
        if plan.exists():
            problems = check_plan(plan, src)
            m = EXPECTED_RE.search(src)
            expected = m.group(1) if m else None
            if expected in PLAN_CHECK_IDS:
                if problems:
                    status.append(f"plan rejected as expected ({'; '.join(problems)})")
                else:
                    status.append("plan UNEXPECTEDLY valid")
                    failures.append(f"{plan}: expected {expected} but plan looks valid")
            elif problems:
                status.append("plan FAIL: " + "; ".join(problems))
                failures.append(f"{plan}: {problems}")
            else:
                status.append("plan ok")
        print(f"[fast] {cu.relative_to(REPO) if cu.is_relative_to(REPO) else cu}: {', '.join(status)}")

    # ---- KernelBench format
    if not args.skip_kernelbench and py_files:
        tmp = Path(tempfile.mkdtemp(prefix="kw_compile_check_"))
        try:
            shim = make_shim(tmp)
            incs = [f"-I{shim}"] + [f"-I{d}" for d in torch_include_dirs()]
            py_inc = sysconfig.get_paths()["include"]

            def one(py: Path) -> tuple[Path, list[str], list[str]]:
                notes: list[str] = []
                errs: list[str] = []
                info = extract_kernelbench(py)
                if not info["has_model_new"]:
                    errs.append("no class ModelNew")
                if info["cuda"] is None:
                    notes.append("no cuda_source (nothing to compile)")
                    return py, notes, errs
                for fn in info["functions"] or []:
                    if not re.search(rf"\b{re.escape(fn)}\s*\(", info["cuda"]) and not re.search(
                        rf"\b{re.escape(fn)}\s*\(", info["cpp"] or ""
                    ):
                        errs.append(f"function {fn} not defined in sources")
                cu = tmp / (py.parent.name + "__" + py.stem + ".cu")
                cu.write_text(info["cuda"])
                ok, log = run([NVCC, f"-arch={ARCH}", "-c", "-o", str(cu.with_suffix(".o")), "-w", *NVCC_TORCH_FLAGS, *incs, str(cu)])
                notes.append("nvcc ok" if ok else "nvcc FAIL")
                if not ok:
                    errs.append("nvcc:\n" + log[-4000:])
                if args.with_cpp and info["cpp"]:
                    cpp = cu.with_suffix(".cpp")
                    cpp.write_text("#include <torch/extension.h>\n" + info["cpp"] + "\n")
                    ok, log = run(["c++", "-std=c++20", "-fsyntax-only", "-w", *incs, f"-I{py_inc}", str(cpp)])
                    notes.append("c++ ok" if ok else "c++ FAIL")
                    if not ok:
                        errs.append("c++:\n" + log[-4000:])
                return py, notes, errs

            with cf.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as ex:
                for py, notes, errs in ex.map(one, py_files):
                    rel = py.relative_to(REPO) if py.is_relative_to(REPO) else py
                    print(f"[kernelbench] {rel}: {', '.join(notes)}{' ERRORS' if errs else ''}", flush=True)
                    failures += [f"{rel}: {e}" for e in errs]
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    if failures:
        print("\n==== FAILURES ====")
        for f in failures:
            print(f)
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
