"""Static analysis of candidates, before anything is compiled or run.

KernelBench-format candidates (Python defining ``ModelNew``) are analysed with :mod:`ast`; the
CUDA text they carry (and the fast format's ``cuda_source``) is analysed with regexes over
comment-stripped text. Every check reports under a stable id (``static.*``) that tests and the
adversarial corpus assert on; :func:`static_verdict_checks` returns exactly one :class:`Finding`
per applicable check id (``passed=True`` with a short note when nothing was found), in the order
of :data:`CHECK_IDS`.

Policy notes
------------
* Library calls (cuBLAS/cuDNN through torch: ``torch.matmul``, ``F.conv2d``, ``nn.Conv2d``
  modules...) are allowed only through the fast format's ``LaunchPlan.library_call``; in a
  KernelBench-format ``ModelNew.forward`` they fail ``static.torch_compute_op``.
* Tensor allocation and view/metadata ops are allowed (``torch.empty``, ``zeros``, ``view``,
  ``reshape``, ``contiguous``, ``size``, ``to`` ...), as are calls into the extension module built
  with ``load_inline``/``load``.
* Python arithmetic operators other than ``@`` are not flagged (they are usually index math and
  there is no type inference); runtime verification catches the rest.
* ``static.unlaunched_kernel_hint`` is a hint only and always passes; the profiler is the proof.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kernelwright.gpu_evaluator import plan as plan_mod

__all__ = [
    "CHECK_IDS",
    "Finding",
    "cuda_text_checks",
    "extract_kb_cuda_sources",
    "fast_static_checks",
    "kb_static_checks",
    "static_verdict_checks",
    "task_is_fp32",
]


@dataclass(frozen=True)
class Finding:
    check: str
    passed: bool
    message: str
    line: int | None = None


SYNTAX = "static.syntax"
NO_MODEL_NEW = "static.no_model_new"
NO_CUDA_KERNEL = "static.no_cuda_kernel"
TRY_EXCEPT = "static.try_except_fallback"
TORCH_COMPUTE = "static.torch_compute_op"
STREAM = "static.stream_tampering"
THREAD = "static.thread_tampering"
TIMER = "static.timer_tampering"
FORBIDDEN = "static.forbidden_import"
LAZY = "static.lazy_tensor"
L2 = "static.l2_persistence"
PRECISION = "static.precision_downcast"
GLOBAL_CACHE = "static.global_cache"
UNLAUNCHED = "static.unlaunched_kernel_hint"
PLAN_INVALID = "static.plan_invalid"
PLAN_KERNEL_UNKNOWN = "static.plan_kernel_unknown"
LIBRARY_NOT_ALLOWED = "static.library_call_not_allowed"

CHECK_IDS: tuple[str, ...] = (
    SYNTAX, NO_MODEL_NEW, NO_CUDA_KERNEL, TRY_EXCEPT, TORCH_COMPUTE, STREAM, THREAD, TIMER,
    FORBIDDEN, LAZY, L2, PRECISION, GLOBAL_CACHE, UNLAUNCHED, PLAN_INVALID, PLAN_KERNEL_UNKNOWN,
    LIBRARY_NOT_ALLOWED,
)
KB_CHECK_IDS = CHECK_IDS[:14]
FAST_CHECK_IDS = (
    SYNTAX, NO_CUDA_KERNEL, PLAN_INVALID, PLAN_KERNEL_UNKNOWN, LIBRARY_NOT_ALLOWED, STREAM, THREAD,
    TIMER, FORBIDDEN, L2, PRECISION, UNLAUNCHED,
)


class _Collector:
    """Collects hits per check id; renders one Finding per id."""

    def __init__(self) -> None:
        self.hits: dict[str, list[tuple[str, int | None]]] = {}
        self.notes: dict[str, str] = {}

    def hit(self, check: str, message: str, line: int | None = None) -> None:
        lst = self.hits.setdefault(check, [])
        if (message, line) not in lst:
            lst.append((message, line))

    def note(self, check: str, message: str) -> None:
        self.notes.setdefault(check, message)

    def findings(self, ids: Iterable[str]) -> list[Finding]:
        out = []
        for cid in ids:
            hits = sorted(self.hits.get(cid, []), key=lambda h: (h[1] is None, h[1] or 0))
            if hits:
                msgs = [f"line {ln}: {m}" if ln else m for m, ln in hits[:3]]
                more = f" (+{len(hits) - 3} more)" if len(hits) > 3 else ""
                passed = cid == UNLAUNCHED  # a hint never fails on its own
                out.append(Finding(cid, passed, "; ".join(msgs) + more, hits[0][1]))
            else:
                out.append(Finding(cid, True, self.notes.get(cid, "ok"), None))
        return out


# =============================================================================================
# CUDA text checks (regex over comment-stripped text; line numbers preserved)
# =============================================================================================


def _strip_c_comments(src: str) -> str:
    """Blank out // and /* */ comments, keeping newlines (so line numbers survive)."""
    out, i, n = [], 0, len(src)
    while i < n:
        if src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
        elif src.startswith("/*", i):
            j = src.find("*/", i + 2)
            end = n if j < 0 else j + 2
            out.append("\n" * src.count("\n", i, end))
            i = end
        else:
            out.append(src[i])
            i += 1
    return "".join(out)


def _line_of(text: str, pos: int, base: int) -> int:
    return base + text.count("\n", 0, pos)


_STREAM_CREATE_RE = re.compile(
    r"\b(cudaStreamCreate\w*|cuStreamCreate\w*|getStreamFromPool|getStreamFromExternal|"
    r"cudaStreamBeginCapture\w*|cudaGraphLaunch|cudaGraphInstantiate\w*|cudaStreamDestroy)\b"
)
_LAUNCH_RE = re.compile(r"(\b[A-Za-z_]\w*)\s*(?:<[^<>;]*>)?\s*<<<(.*?)>>>", re.S)
_THREAD_RE = re.compile(
    r"(\bstd\s*::\s*(thread|async|jthread)\b|\bpthread_create\b|#\s*include\s*<(thread|future|pthread\.h)>|"
    r"#\s*pragma\s+omp\b)"
)
_L2_RE = re.compile(
    r"\b(accessPolicyWindow|cudaLimitPersistingL2CacheSize|cudaStreamAttributeAccessPolicyWindow|"
    r"cudaKernelNodeAttributeAccessPolicyWindow|cudaLaunchAttributeAccessPolicyWindow|hitProp|missProp|"
    r"hitRatio|cudaAccessPropertyPersisting|cudaCtxResetPersistingL2Cache|CU_LIMIT_PERSISTING_L2_CACHE_SIZE|"
    r"persistingL2CacheMaxSize)\b"
)
_HALF_RE = re.compile(
    r"(\b(__half2?|__nv_bfloat162?|nv_bfloat162?|__nv_fp8\w*|__float2half\w*|__floats2half2\w*|"
    r"__float22half2\w*|__half2float|__float2bfloat16\w*|__floats2bfloat162\w*|__bfloat162float|"
    r"at::kHalf|at::kBFloat16|torch::kHalf|torch::kBFloat16|torch::kFloat16|c10::Half|c10::BFloat16|"
    r"at::Half|at::BFloat16|__hmul2?|__hadd2?|__hfma2?|wmma::precision::tf32|__float_to_tf32|"
    r"precision::tf32|cvt\.rna\.tf32)\b|\bhalf2?\s*[*&]|\bhalf2?\s+[A-Za-z_]\w*\s*[=;,)\[]|"
    r"[<(]\s*(?:const\s+)?half2?\s*[>)])"
)
_HOST_FORBIDDEN_RE = re.compile(
    r"(\b(system|popen|execv\w*|execl\w*|fork|dlopen|dlsym)\s*\(|#\s*include\s*<(sys/socket\.h|dlfcn\.h|"
    r"unistd\.h|netinet/\w+\.h)>)"
)
_TIMER_C_RE = re.compile(
    r"\b(cudaEventElapsedTime|cudaEventRecord|cuEventRecord|cudaEventCreate\w*|cudaProfilerStart|"
    r"cudaProfilerStop|cudaDeviceSetLimit\s*\(\s*cudaLimitStackSize)\b"
)


_ATEN_CALL_RE = re.compile(r"\b(?:at|torch)::(?:native::|nn::functional::)?([a-z_]\w*)\s*\(")
_ATEN_EXTRA_COMPUTE = {
    "clamp_min", "clamp_max", "cat", "stack", "linear", "layer_norm", "batch_norm", "group_norm", "softmax",
    "cross_entropy", "mse_loss", "einsum", "tensordot", "bmm", "mm", "addmm", "matmul", "sum", "mean",
    "relu", "sigmoid", "tanh", "gelu", "exp", "log", "mul", "add", "sub", "div", "pow", "sqrt", "rsqrt",
    "hardtanh", "leaky_relu", "softplus", "elu", "selu", "silu", "mish", "dropout", "embedding", "pad",
    "interpolate", "upsample_bilinear2d", "upsample_nearest2d", "scaled_dot_product_attention", "norm",
    "frobenius_norm", "l1_loss", "smooth_l1_loss", "kl_div", "cosine_similarity", "pairwise_distance",
    "_softmax", "_log_softmax", "native_layer_norm", "native_batch_norm", "cumsum", "argmax", "max", "min",
}


def cuda_text_checks(
    text: str,
    col: _Collector | None = None,
    *,
    fp32_task: bool = True,
    base_line: int = 1,
    launched_elsewhere: Iterable[str] = (),
    python_host: bool = False,
) -> _Collector:
    """Regex checks over CUDA C++ text (comments stripped; ``base_line`` is the text's first line).

    ``launched_elsewhere``: kernel names launched by other means (the fast format's plan).
    ``python_host``: the text is a KernelBench Python file (CUDA inside string literals).
    """
    col = col or _Collector()
    code = _strip_c_comments(text)

    for m in _STREAM_CREATE_RE.finditer(code):
        col.hit(STREAM, f"creates or captures its own CUDA stream/graph ({m.group(1)})",
                _line_of(code, m.start(), base_line))
    # <<<grid, block, smem, stream>>> on a stream variable the candidate declared itself.
    own_streams = set(re.findall(r"\bcu(?:da)?StreamCreate\w*\s*\(\s*&\s*(\w+)", code)) | set(
        re.findall(r"\b(\w+)\s*=\s*[\w:]*(?:getStreamFromPool|getStreamFromExternal)\b", code))
    for m in _LAUNCH_RE.finditer(code):
        parts = [p.strip() for p in _split_top_commas(m.group(2))]
        if len(parts) >= 4:
            s = parts[3]
            base = re.sub(r"[^\w]", "", s)
            if base in own_streams or "getStreamFromPool" in s:
                col.hit(STREAM, f"kernel {m.group(1)} launched on a stream it created ({s})",
                        _line_of(code, m.start(), base_line))
    for m in _THREAD_RE.finditer(code):
        col.hit(THREAD, f"host threading in CUDA source ({m.group(0).strip()})", _line_of(code, m.start(), base_line))
    for m in _L2_RE.finditer(code):
        col.hit(L2, f"L2 persistence control ({m.group(1)})", _line_of(code, m.start(), base_line))
    for m in _TIMER_C_RE.finditer(code):
        col.hit(TIMER, f"CUDA event/profiler control in candidate source ({m.group(1)})",
                _line_of(code, m.start(), base_line))
    for m in _HOST_FORBIDDEN_RE.finditer(code):
        if python_host and m.group(2) in ("system", "popen", "fork") and not m.group(0).startswith("#"):
            continue  # Python-side calls are judged by the AST pass (os.system etc.)
        col.hit(FORBIDDEN, f"host process/library control in CUDA source ({m.group(0).strip()})",
                _line_of(code, m.start(), base_line))
    if fp32_task:
        for m in _HALF_RE.finditer(code):
            tok = m.group(0).strip()
            col.hit(PRECISION, f"reduced precision type/intrinsic {tok!r} in an fp32 task",
                    _line_of(code, m.start(), base_line))
    else:
        col.note(PRECISION, "task is not fp32; reduced precision allowed")

    for m in _ATEN_CALL_RE.finditer(code):
        fn = m.group(1)
        if fn in _COMPUTE_METHODS or fn in _ATEN_EXTRA_COMPUTE or fn.startswith(("conv", "max_pool", "avg_pool")):
            col.hit(TORCH_COMPUTE, f"ATen/LibTorch compute call {m.group(0).rstrip('( ')} in C++ host code",
                    _line_of(code, m.start(), base_line))

    kernels = _global_kernel_names(code)
    if not kernels:
        col.hit(NO_CUDA_KERNEL, "no __global__ kernel found in the CUDA source")
    launched = {m.group(1) for m in _LAUNCH_RE.finditer(code)} | set(launched_elsewhere)
    launched |= set(re.findall(r"cu(?:da)?Launch\w*\s*\(\s*\(?\s*(?:const\s+)?(?:void\s*\*\s*\)\s*)?&?(\w+)", code))
    unlaunched = [k for k in kernels if k not in launched]
    if unlaunched:
        col.hit(UNLAUNCHED, "hint: kernel(s) " + ", ".join(unlaunched[:5])
                + " defined but no launch found in the source/plan; the profiler decides")
    else:
        col.note(UNLAUNCHED, "every __global__ kernel has a visible launch")
    return col


def _split_top_commas(s: str) -> list[str]:
    parts, depth, cur = [], 0, []
    for ch in s:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def _global_kernel_names(code: str) -> list[str]:
    names = []
    for m in re.finditer(r"\b__global__\b", code):
        paren = code.find("(", m.end())
        if paren < 0:
            continue
        head = code[m.end() : paren]
        if "__launch_bounds__" in head:
            close = code.find(")", paren)
            paren = code.find("(", close + 1)
            head = code[close + 1 : paren]
        ids = re.findall(r"[A-Za-z_]\w*", head)
        if ids and ids[-1] not in names:
            names.append(ids[-1])
    return names


# =============================================================================================
# KernelBench-format (Python) checks
# =============================================================================================

# torch.* callables that allocate, describe or view; everything else under torch.* is compute.
_ALLOWED_TORCH_FUNCS = {
    "empty", "empty_like", "empty_strided", "zeros", "zeros_like", "ones", "ones_like", "full",
    "full_like", "tensor", "as_tensor", "from_numpy", "arange", "Size", "device", "dtype",
    "is_tensor", "is_floating_point", "numel", "get_default_dtype", "no_grad", "inference_mode",
    "enable_grad", "set_grad_enabled", "broadcast_shapes", "result_type", "promote_types", "finfo",
    "iinfo", "manual_seed", "is_grad_enabled", "Generator", "memory_format", "contiguous_format",
    "channels_last", "strided", "layout", "typename", "as_strided",
}
_ALLOWED_TORCH_PREFIXES = (
    "torch.utils.cpp_extension.", "torch.cuda.", "torch.nn.Parameter", "torch.nn.Module",
    "torch.nn.init.", "torch.nn.ParameterList", "torch.nn.ParameterDict", "torch.jit.",
    "torch.library.", "torch.nn.Buffer", "torch.Tensor", "torch.autograd.Function",
)
# Tensor methods that compute (flagged when called on a non-extension object in forward).
_COMPUTE_METHODS = {
    "sum", "mean", "max", "min", "amax", "amin", "argmax", "argmin", "prod", "std", "var", "norm",
    "softmax", "log_softmax", "relu", "relu_", "sigmoid", "sigmoid_", "tanh", "tanh_", "exp", "exp_",
    "log", "log_", "sqrt", "rsqrt", "abs", "pow", "pow_", "matmul", "mm", "bmm", "mv", "dot", "mul",
    "mul_", "add", "add_", "sub", "sub_", "div", "div_", "clamp", "clamp_", "clip", "clip_", "gelu",
    "silu", "cumsum", "cumprod", "sort", "topk", "masked_fill", "masked_fill_", "maximum", "minimum",
    "addmm", "baddbmm", "addmv", "addcmul", "sin", "cos", "neg", "reciprocal", "square",
    "logsumexp", "hardtanh", "leaky_relu", "elu", "softplus", "mish", "erf", "floor", "ceil",
    "round", "sign", "fmod", "remainder", "lerp", "outer", "einsum", "conv2d", "linear", "tril",
    "triu", "diag", "index_select", "gather", "scatter", "scatter_add", "where", "all", "any",
    "median", "mode", "cross", "t_", "logical_and", "logical_or", "eq", "ne", "gt", "lt", "ge",
    "le", "sigmoid_", "normal_", "uniform_", "addbmm", "kthvalue", "renorm", "expm1", "log1p",
    "trunc", "frac", "floor_divide", "true_divide", "hardsigmoid", "hardswish", "selu", "celu",
    "instance_norm", "layer_norm", "group_norm", "batch_norm", "dropout", "unfold", "mm_", "repeat",
    "repeat_interleave", "flip", "roll", "cummax", "cummin", "nan_to_num", "exp2", "log2", "log10",
    "tan", "atan", "asin", "acos", "sinh", "cosh", "asinh", "acosh", "atanh", "rsqrt_", "sqrt_",
}
_ALLOC_CALLS = {
    "torch.empty", "torch.empty_like", "torch.empty_strided", "torch.zeros", "torch.zeros_like",
    "torch.ones", "torch.ones_like", "torch.full", "torch.full_like", "new_empty", "new_zeros",
    "new_ones", "new_full",
}
_NN_NONCOMPUTE = {"Parameter", "ParameterList", "ParameterDict", "Module", "ModuleList", "ModuleDict",
                  "Buffer", "Identity"}

_FORBIDDEN_MODULES = {
    "subprocess", "socket", "ctypes", "cffi", "importlib", "pickle", "marshal", "dill", "cloudpickle",
    "shelve", "requests", "urllib", "http", "ftplib", "smtplib", "telnetlib", "pty", "signal",
    "shutil", "runpy", "code", "codeop", "inspect", "gc", "unittest", "pdb",
    "mmap", "resource", "psutil", "cupy", "numba", "pycuda", "cuda", "triton",
}
_THREAD_MODULES = {"threading", "_thread", "multiprocessing", "concurrent", "asyncio"}
_FORBIDDEN_OS_FUNCS = {
    "system", "popen", "fork", "forkpty", "kill", "killpg", "remove", "unlink", "rmdir", "removedirs",
    "rename", "replace", "chmod", "chown", "dup2", "_exit", "abort", "setsid", "putenv",
    "truncate", "symlink", "link", "chdir",
} | {f"exec{s}" for s in ("l", "le", "lp", "lpe", "v", "ve", "vp", "vpe")} | {
    f"spawn{s}" for s in ("l", "le", "lp", "lpe", "v", "ve", "vp", "vpe")
}
_FORBIDDEN_BUILTINS = {"eval", "exec", "compile", "__import__", "open", "breakpoint", "input",
                       "globals", "vars", "memoryview"}
_TAMPER_ROOTS = {"torch", "time", "builtins", "os", "sys", "numpy", "triton", "timeit", "gc",
                 "functools", "random", "math", "kernelwright", "__builtins__"}
_LAZY_CALLS = {"_make_subclass", "as_subclass", "_make_wrapper_subclass"}
_CACHE_DECORATORS = {"functools.lru_cache", "functools.cache", "functools.cached_property",
                     "lru_cache", "cache", "cached_property"}


def task_is_fp32(task_source: str | None, candidate: Any = None) -> bool:
    """True unless the task's inputs are (or the task source mentions) half/bfloat16 precision."""
    prog = getattr(candidate, "program", None) if candidate is not None else None
    if prog is not None and len(prog.inputs):
        dts = {s.dtype.replace("torch.", "") for s in prog.inputs if s.dtype}
        low = {"float16", "half", "bfloat16"}
        if dts & low:
            return False
        if dts:
            return True
    if task_source and re.search(r"\b(float16|bfloat16|half\(\)|torch\.half|bf16|fp16)\b", task_source):
        return False
    return True


class _KB:
    """AST analysis of one KernelBench-format source."""

    def __init__(self, source: str, tree: ast.Module, col: _Collector, fp32_task: bool) -> None:
        self.src = source
        self.tree = tree
        self.col = col
        self.fp32 = fp32_task
        self.aliases: dict[str, str] = {}  # local name -> qualified module/func name
        self.funcs: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        self.classes: dict[str, ast.ClassDef] = {}
        self.ext_names: set[str] = set()  # module-level names bound to built extensions
        self.ext_self_attrs: set[str] = set()  # self.X bound to extensions
        self.nn_self_attrs: dict[str, str] = {}  # self.X -> "torch.nn.Conv2d"
        self.containers: set[str] = set()  # module-level / class-level / self.X mutable containers
        self.model_new: ast.ClassDef | None = None
        self.ext_funcs: set[str] = set()  # module-level functions that build/return an extension

    # ---- name resolution ------------------------------------------------------------------

    def collect_imports(self) -> None:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname:
                        self.aliases[a.asname] = a.name
                    else:
                        root = a.name.split(".")[0]
                        self.aliases[root] = root
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for a in node.names:
                    self.aliases[a.asname or a.name] = f"{node.module}.{a.name}"

    def qualname(self, node: ast.AST) -> str | None:
        """Dotted name with the root resolved through imports (``F.relu`` -> torch.nn.functional.relu)."""
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "super":
            parts.append("super()")
            return ".".join(reversed(parts))
        if not isinstance(node, ast.Name):
            return None
        root = self.aliases.get(node.id, node.id)
        return ".".join([root] + list(reversed(parts)))

    def root_name(self, node: ast.AST) -> str | None:
        while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
            node = node.value if not isinstance(node, ast.Call) else node.func
        return node.id if isinstance(node, ast.Name) else None

    def is_module_alias(self, name: str | None) -> bool:
        return name is not None and name in self.aliases

    def self_attr(self, node: ast.AST) -> str | None:
        """``self.X`` (possibly followed by more attributes) -> X."""
        chain = []
        while isinstance(node, ast.Attribute):
            chain.append(node.attr)
            node = node.value
        if isinstance(node, ast.Name) and node.id == "self" and chain:
            return chain[-1]
        return None

    def is_extension_expr(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name) and node.func.id in self.ext_funcs:
                return True
            q = self.qualname(node.func) or ""
            return q.split(".")[-1] in ("load_inline", "load") and (
                "cpp_extension" in q or q in ("load_inline", "load")
            )
        if isinstance(node, ast.Name):
            return node.id in self.ext_names
        if isinstance(node, ast.Attribute):
            sa = self.self_attr(node)
            if sa is not None and sa in self.ext_self_attrs:
                return True
            return self.is_extension_expr(node.value)
        if isinstance(node, ast.Subscript):
            return self.is_extension_expr(node.value)
        return False

    # ---- setup -----------------------------------------------------------------------------

    def collect_defs(self) -> None:
        for node in self.tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.funcs[node.name] = node
            elif isinstance(node, ast.ClassDef):
                self.classes[node.name] = node
                if node.name == "ModelNew":
                    self.model_new = node
        # Functions that build an extension (e.g. `def _get_ext(): return load_inline(...)`).
        for name, fn in self.funcs.items():
            if any(isinstance(n, ast.Call) and self.is_extension_expr(n) for n in ast.walk(fn)):
                self.ext_funcs.add(name)
        # Extension names (fixpoint over module-level assignments).
        changed = True
        while changed:
            changed = False
            for node in ast.walk(self.tree):
                if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    if self.is_extension_expr(node.value):
                        for t in targets:
                            for n in ast.walk(t):
                                if isinstance(n, ast.Name) and n.id not in self.ext_names:
                                    self.ext_names.add(n.id)
                                    changed = True
                            sa = self.self_attr(t) if isinstance(t, ast.Attribute) else None
                            if sa and sa not in self.ext_self_attrs:
                                self.ext_self_attrs.add(sa)
                                changed = True
        # self.X = nn.Something(...) and mutable containers.
        for node in ast.walk(self.tree):
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    sa = self.self_attr(t) if isinstance(t, ast.Attribute) else None
                    if sa and isinstance(node.value, ast.Call):
                        q = self.qualname(node.value.func) or ""
                        if q.startswith("torch.nn.") and q.split(".")[-1] not in _NN_NONCOMPUTE and \
                                q.count(".") == 2 and q.split(".")[-1][:1].isupper():
                            self.nn_self_attrs[sa] = q
                    if _is_container(node.value, self):
                        if isinstance(t, ast.Name):
                            self.containers.add(t.id)
                        elif sa:
                            self.containers.add("self." + sa)

    # ---- reachability ----------------------------------------------------------------------

    def methods(self) -> dict[str, ast.FunctionDef]:
        if self.model_new is None:
            return {}
        return {n.name: n for n in self.model_new.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}

    def reachable(self, roots: list[ast.AST]) -> list[ast.AST]:
        """Function bodies reachable from ``roots`` through self.method() and module-level calls."""
        methods = self.methods()
        seen: list[ast.AST] = []
        stack = list(roots)
        while stack:
            fn = stack.pop()
            if any(fn is s for s in seen):
                continue
            seen.append(fn)
            for node in ast.walk(fn):
                if not isinstance(node, ast.Call):
                    continue
                f = node.func
                if isinstance(f, ast.Name) and f.id in self.funcs:
                    stack.append(self.funcs[f.id])
                elif isinstance(f, ast.Name) and f.id in self.classes and f.id != "ModelNew":
                    stack.extend(n for n in self.classes[f.id].body if isinstance(n, ast.FunctionDef))
                elif isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "self":
                    if f.attr in methods:
                        stack.append(methods[f.attr])
                # Functions passed as values (e.g. map(helper, xs)) count too.
                for a in node.args:
                    if isinstance(a, ast.Name) and a.id in self.funcs:
                        stack.append(self.funcs[a.id])
        return seen

    # ---- checks ----------------------------------------------------------------------------

    def run(self) -> None:
        self.collect_imports()
        self.collect_defs()
        col = self.col
        mn = self.model_new
        if mn is None:
            col.hit(NO_MODEL_NEW, "no top-level `class ModelNew` defined")
        else:
            methods = self.methods()
            if "forward" not in methods:
                col.hit(NO_MODEL_NEW, "ModelNew defines no forward()", mn.lineno)
            for b in mn.bases:
                q = self.qualname(b) or ast.unparse(b)
                if q not in ("torch.nn.Module", "nn.Module", "torch.nn.modules.module.Module"):
                    col.hit(TORCH_COMPUTE, f"ModelNew inherits from {ast.unparse(b)} instead of nn.Module "
                            "(inheritance bypass)", mn.lineno)
        methods = self.methods()
        all_paths = self.reachable(list(methods.values())) if mn is not None else []
        fwd_paths = self.reachable([methods["forward"]]) if "forward" in methods else []

        self.check_try(all_paths)
        self.check_compute(fwd_paths)
        self.check_module_level()
        self.check_cache(fwd_paths, all_paths)

    def check_try(self, paths: list[ast.AST]) -> None:
        for fn in paths:
            for node in ast.walk(fn):
                if isinstance(node, (ast.Try, getattr(ast, "TryStar", ast.Try))):
                    self.col.hit(TRY_EXCEPT, f"try/except in ModelNew code path ({getattr(fn, 'name', '?')})",
                                 node.lineno)
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Try):
                body_has_build = any(
                    isinstance(n, ast.Call) and self.is_extension_expr(n) for s in node.body for n in ast.walk(s)
                )
                if body_has_build and node.handlers:
                    self.col.hit(TRY_EXCEPT, "try/except around the extension build (compile-failure fallback)",
                                 node.lineno)
                for h in node.handlers:
                    for n in ast.walk(h):
                        if isinstance(n, ast.Call):
                            q = self.qualname(n.func) or ""
                            if self._torch_compute_name(q):
                                self.col.hit(TRY_EXCEPT, f"except handler calls torch op {q}", h.lineno)
                                break

    def _torch_compute_name(self, q: str) -> bool:
        if not q.startswith("torch."):
            return False
        if q.startswith("torch.nn.functional.") or q.startswith("torch.ops.aten.") or \
                q.startswith("torch.special.") or q.startswith("torch.linalg.") or q.startswith("torch.fft."):
            return True
        if any(q.startswith(p) for p in _ALLOWED_TORCH_PREFIXES):
            return False
        parts = q.split(".")
        if len(parts) == 2:
            return parts[1] not in _ALLOWED_TORCH_FUNCS and not parts[1][:1].isupper()
        if parts[1] == "nn" and len(parts) == 3 and parts[2][:1].isupper():
            return parts[2] not in _NN_NONCOMPUTE  # nn.Conv2d(...)(x) inline
        return False

    def check_compute(self, paths: list[ast.AST]) -> None:
        col = self.col
        for fn in paths:
            for node in ast.walk(fn):
                if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
                    col.hit(TORCH_COMPUTE, "`@` matrix multiply in forward path (torch matmul)", node.lineno)
                if not isinstance(node, ast.Call):
                    continue
                f = node.func
                q = self.qualname(f) or ""
                if self.is_extension_expr(f):
                    continue
                if "super()" in q and q.endswith("forward"):
                    col.hit(TORCH_COMPUTE, "calls super().forward (reference implementation)", node.lineno)
                    continue
                if isinstance(f, ast.Name) and f.id == "Model" or q.startswith("Model."):
                    col.hit(TORCH_COMPUTE, "calls the reference Model in forward path", node.lineno)
                    continue
                if self._torch_compute_name(q):
                    col.hit(TORCH_COMPUTE, f"PyTorch compute op {_short(q)} in forward path "
                            "(library calls are only allowed through a fast-format plan)", node.lineno)
                    continue
                sa = self.self_attr(f) if isinstance(f, ast.Attribute) else None
                if sa is not None and isinstance(f.value, ast.Name) and sa in self.nn_self_attrs:
                    col.hit(TORCH_COMPUTE, f"calls PyTorch module self.{sa} ({_short(self.nn_self_attrs[sa])}) "
                            "in forward path", node.lineno)
                    continue
                if isinstance(f, ast.Attribute) and f.attr in _COMPUTE_METHODS:
                    root = self.root_name(f)
                    if self.is_module_alias(root) and not (self.aliases.get(root, "").startswith("torch")):
                        continue  # math.exp, np.sum ... (not torch)
                    col.hit(TORCH_COMPUTE, f"tensor compute method .{f.attr}() in forward path", node.lineno)

    def check_module_level(self) -> None:
        col = self.col
        for node in ast.walk(self.tree):
            # ---- imports
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                mods = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                for m in mods:
                    root = m.split(".")[0]
                    if root in _THREAD_MODULES:
                        col.hit(THREAD, f"imports {m}", node.lineno)
                    elif root in _FORBIDDEN_MODULES:
                        col.hit(FORBIDDEN, f"imports {m}", node.lineno)
                    elif root == "os" and isinstance(node, ast.ImportFrom):
                        bad = [a.name for a in node.names if a.name in _FORBIDDEN_OS_FUNCS]
                        if bad:
                            col.hit(FORBIDDEN, f"imports os.{bad[0]}", node.lineno)
                    if m.startswith("torch.utils._python_dispatch") or m.startswith("torch.overrides"):
                        col.hit(LAZY, f"imports {m} (dispatch/function modes)", node.lineno)
                    if m.startswith("torch._dynamo") or m.startswith("torch._inductor"):
                        col.hit(FORBIDDEN, f"imports {m}", node.lineno)
                    if m in ("time", "timeit") and isinstance(node, ast.ImportFrom):
                        pass
                if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("torch.cuda"):
                    for a in node.names:
                        if a.name in ("Stream", "stream", "ExternalStream", "set_stream", "CUDAGraph", "graph"):
                            col.hit(STREAM, f"imports torch.cuda.{a.name}", node.lineno)
                continue
            # ---- calls
            if isinstance(node, ast.Call):
                q = self.qualname(node.func) or ""
                name = node.func.id if isinstance(node.func, ast.Name) else None
                if name in _FORBIDDEN_BUILTINS and name not in self.aliases and name not in self.funcs:
                    col.hit(FORBIDDEN, f"calls {name}()", node.lineno)
                if q.startswith("os.") and q.split(".")[1] in _FORBIDDEN_OS_FUNCS:
                    col.hit(FORBIDDEN, f"calls {q}", node.lineno)
                if q in ("setattr", "delattr") and node.args:
                    tq = self.qualname(node.args[0]) or ""
                    troot = tq.split(".")[0]
                    if troot in _TAMPER_ROOTS or self.is_module_alias(self.root_name(node.args[0])):
                        col.hit(TIMER, f"{q}() on module object {tq}", node.lineno)
                if q.split(".")[-1] in ("Stream", "stream", "ExternalStream", "set_stream", "CUDAGraph",
                                        "graph", "make_graphed_callables") and q.startswith("torch.cuda"):
                    col.hit(STREAM, f"uses {q}", node.lineno)
                last = node.func.attr if isinstance(node.func, ast.Attribute) else q.split(".")[-1]
                if last in _LAZY_CALLS:
                    col.hit(LAZY, f"calls {last} (tensor subclassing)", node.lineno)
                if q.startswith("torch.") and q.split(".")[-1] in ("autocast", "set_float32_matmul_precision"):
                    if self.fp32:
                        col.hit(PRECISION, f"{q} in an fp32 task", node.lineno)
                if isinstance(node.func, ast.Attribute) and node.func.attr in ("half", "bfloat16") \
                        and not node.args and self.fp32:
                    col.hit(PRECISION, f".{node.func.attr}() cast in an fp32 task", node.lineno)
            # ---- attribute references
            if isinstance(node, ast.Attribute):
                q = self.qualname(node) or ""
                if self.fp32 and q in ("torch.float16", "torch.half", "torch.bfloat16", "torch.cuda.amp",
                                        "torch.cuda.amp.autocast", "torch.amp"):
                    col.hit(PRECISION, f"{q} in an fp32 task", node.lineno)
                if q.startswith("torch.backends.") and q.endswith("allow_tf32") and self.fp32:
                    col.hit(PRECISION, f"{q} (TF32) in an fp32 task", node.lineno)
                if q.startswith("torch.utils._python_dispatch"):
                    col.hit(LAZY, f"uses {q}", node.lineno)
            if isinstance(node, ast.Name) and node.id == "__builtins__":
                col.hit(TIMER, "touches __builtins__", node.lineno)
            # ---- assignments that monkeypatch modules
            if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
                targets = (node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target])
                for t in targets:
                    for tt in (t.elts if isinstance(t, (ast.Tuple, ast.List)) else [t]):
                        self._check_patch_target(tt, node.lineno)
            # ---- class definitions / lazy tensors
            if isinstance(node, ast.ClassDef):
                for b in node.bases:
                    q = self.qualname(b) or ""
                    if q in ("torch.Tensor", "torch._C._TensorBase", "torch._C.TensorBase", "torch.TensorBase") \
                            or q.startswith("torch.utils._python_dispatch") or q.startswith("torch.overrides"):
                        col.hit(LAZY, f"class {node.name} subclasses {q}", node.lineno)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if node.name in ("__torch_function__", "__torch_dispatch__"):
                    col.hit(LAZY, f"defines {node.name}", node.lineno)

    def _check_patch_target(self, t: ast.AST, line: int) -> None:
        if isinstance(t, ast.Subscript):
            q = self.qualname(t.value) or ""
            if q in ("sys.modules", "builtins.__dict__") or q.startswith("torch."):
                self.col.hit(TIMER, f"assigns into {q}[...] (monkeypatching)", line)
            return
        if not isinstance(t, ast.Attribute):
            return
        root = self.root_name(t)
        q = self.qualname(t) or ""
        if root in ("self", "cls"):
            return
        qroot = q.split(".")[0]
        if self.is_module_alias(root) or qroot in _TAMPER_ROOTS:
            if q.startswith("os.environ"):
                return
            if q.startswith("torch.backends.") and q.endswith("allow_tf32"):
                return  # reported as precision
            self.col.hit(TIMER, f"assigns to module attribute {q} (monkeypatching)", line)
        elif root in self.classes or root in self.funcs:
            return  # own classes/functions
        elif root is not None and root not in self.ext_names and isinstance(t.value, ast.Attribute):
            # e.g. x.__class__.__add__ = ... on objects
            if t.attr.startswith("__") and t.attr.endswith("__"):
                self.col.hit(TIMER, f"assigns dunder attribute {ast.unparse(t)}", line)

    def check_cache(self, fwd_paths: list[ast.AST], all_paths: list[ast.AST]) -> None:
        col = self.col
        for fn in all_paths:
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for d in fn.decorator_list:
                    dq = self.qualname(d.func if isinstance(d, ast.Call) else d) or ""
                    if fn.name in self.ext_funcs:
                        continue  # memoizing the compiled extension is fine
                    if dq in _CACHE_DECORATORS or dq.split(".")[-1] in ("lru_cache", "cache", "cached_property"):
                        col.hit(GLOBAL_CACHE, f"@{_short(dq)} on {fn.name} memoizes results", fn.lineno)
        for fn in fwd_paths:
            for node in ast.walk(fn):
                # data_ptr()/id() used as a key or compared
                if isinstance(node, (ast.Subscript, ast.Compare, ast.Dict)) or (
                    isinstance(node, ast.Call) and isinstance(node.func, (ast.Attribute, ast.Name))
                    and (getattr(node.func, "attr", None) in ("get", "setdefault", "pop")
                         or getattr(node.func, "id", None) == "hash")
                ):
                    parts = [node.slice] if isinstance(node, ast.Subscript) else (
                        [node.left, *node.comparators] if isinstance(node, ast.Compare) else (
                            [k for k in node.keys if k is not None] if isinstance(node, ast.Dict) else node.args))
                    for p in parts:
                        for n in ast.walk(p):
                            if isinstance(n, ast.Call) and (
                                (isinstance(n.func, ast.Attribute) and n.func.attr == "data_ptr")
                                or (isinstance(n.func, ast.Name) and n.func.id == "id")
                            ):
                                col.hit(GLOBAL_CACHE, "tensor identity (data_ptr()/id()) used as a key or compared",
                                        node.lineno)
                                break
                # writes into a persistent container
                if isinstance(node, (ast.Assign, ast.AugAssign)):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    for t in targets:
                        if isinstance(t, ast.Subscript) and self._container_name(t.value) and \
                                not self._benign_value(node.value):
                            col.hit(GLOBAL_CACHE, f"stores into persistent container {self._container_name(t.value)}"
                                    " in forward path (output memoization)", node.lineno)
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                        node.func.attr in ("append", "update", "setdefault", "add", "insert", "extend") and \
                        self._container_name(node.func.value) and \
                        not all(self._benign_value(a) for a in node.args):
                    col.hit(GLOBAL_CACHE, f"stores into persistent container {self._container_name(node.func.value)}"
                            " in forward path (output memoization)", node.lineno)
                # self.X = <something> in forward where X later read as a shortcut: `self._last_out = out`
                if isinstance(node, ast.Assign):
                    for t in node.targets:
                        sa = self.self_attr(t) if isinstance(t, ast.Attribute) else None
                        if sa and isinstance(t.value, ast.Name) and re.search(r"(cache|memo|last|prev|saved)", sa, re.I) \
                                and not self._benign_value(node.value):
                            col.hit(GLOBAL_CACHE, f"forward stores self.{sa} (possible output memoization)",
                                    node.lineno)
        for node in self.tree.body:  # module-level dicts keyed by data_ptr outside forward
            for n in ast.walk(node):
                if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "data_ptr":
                    parent_sub = [s for s in ast.walk(node) if isinstance(s, ast.Subscript)
                                  and any(x is n for x in ast.walk(s.slice))]
                    if parent_sub:
                        col.hit(GLOBAL_CACHE, "data_ptr() used as a container key", n.lineno)

    def _container_name(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Name) and node.id in self.containers:
            return node.id
        sa = self.self_attr(node) if isinstance(node, ast.Attribute) else None
        if sa and "self." + sa in self.containers:
            return "self." + sa
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
                node.value.id in self.classes and node.attr in self.containers:
            return f"{node.value.id}.{node.attr}"
        return None

    def _benign_value(self, node: ast.AST | None) -> bool:
        """Values that are fine to cache: built extensions, fresh allocations, plain constants."""
        if node is None:
            return True
        if self.is_extension_expr(node):
            return True
        if isinstance(node, ast.Constant):
            return True
        if isinstance(node, ast.Call):
            q = self.qualname(node.func) or ""
            return q in _ALLOC_CALLS or q.split(".")[-1] in ("new_empty", "new_zeros", "empty_like", "empty")
        return False


def _is_container(node: ast.AST, kb: _KB) -> bool:
    if isinstance(node, (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp)):
        return True
    if isinstance(node, ast.Call):
        q = kb.qualname(node.func) or ""
        return q.split(".")[-1] in ("dict", "list", "set", "OrderedDict", "defaultdict", "WeakValueDictionary",
                                    "WeakKeyDictionary", "deque")
    return False


def _short(q: str) -> str:
    return q.replace("torch.nn.functional.", "F.")


def _python_comments_blanked(source: str) -> str:
    """The source with Python # comments replaced by spaces (strings, incl. '#include', kept)."""
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return source
    lines = source.splitlines(keepends=True)
    for t in toks:
        if t.type == tokenize.COMMENT:
            (r, c0), (_, c1) = t.start, t.end
            ln = lines[r - 1]
            lines[r - 1] = ln[:c0] + " " * (c1 - c0) + ln[c1:]
    return "".join(lines)


def _literal_cuda_strings(kb: _KB) -> str:
    """Every string constant in the module (CUDA text usually lives in them), with line markers."""
    return "\n".join(
        n.value for n in ast.walk(kb.tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    )


def kb_static_checks(source: str, *, fp32_task: bool = True) -> list[Finding]:
    """All KernelBench-format checks on a ``ModelNew`` source (one Finding per KB check id)."""
    col = _Collector()
    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        col.hit(SYNTAX, f"Python syntax error: {e.msg}", e.lineno)
        return [f for f in col.findings([SYNTAX])] + [
            Finding(c, False, "not analysed: the source does not parse", None) for c in KB_CHECK_IDS[1:]
        ]
    kb = _KB(source, tree, col, fp32_task)
    kb.run()
    # CUDA text checks over the raw source (line numbers are the Python file's).
    cuda_text_checks(_python_comments_blanked(source), col, fp32_task=fp32_task, python_host=True)
    if "__global__" not in _literal_cuda_strings(kb):
        col.hits.pop(NO_CUDA_KERNEL, None)
        col.hit(NO_CUDA_KERNEL, "no __global__ kernel in any string of the candidate")
    return col.findings(KB_CHECK_IDS)


def fast_static_checks(
    cuda_source: str,
    plan: Any,
    *,
    fp32_task: bool = True,
    input_names: Iterable[str] | None = None,
    param_names: Iterable[str] | None = None,
) -> list[Finding]:
    """Fast-format checks: CUDA text checks plus LaunchPlan validation."""
    col = _Collector()
    if not cuda_source.strip():
        col.hit(SYNTAX, "empty cuda_source")
    if "__global__" not in cuda_source:
        col.hit(NO_CUDA_KERNEL, "no __global__ kernel in cuda_source")
    sigs = plan_mod.parse_kernel_signatures(cuda_source)
    plan_kernels = {s.launch.kernel for s in plan.steps if s.WhichOneof("step") == "launch"}
    cuda_text_checks(cuda_source, col, fp32_task=fp32_task, launched_elsewhere=plan_kernels)
    problems = plan_mod.plan_problems(plan, input_names=input_names, param_names=param_names, kernels=sigs)
    for p in problems:
        if p.startswith("unknown kernel: "):
            col.hit(PLAN_KERNEL_UNKNOWN, p[len("unknown kernel: "):])
        elif p.startswith("library op not allowed: "):
            col.hit(LIBRARY_NOT_ALLOWED, p[len("library op not allowed: "):])
        else:
            col.hit(PLAN_INVALID, p)
    ops = [s.library_call.op for s in plan.steps if s.WhichOneof("step") == "library_call"]
    if ops and LIBRARY_NOT_ALLOWED not in col.hits:
        col.note(LIBRARY_NOT_ALLOWED, "allowlisted library calls: " + ", ".join(ops))
    if sigs:
        col.note(PLAN_KERNEL_UNKNOWN, "extern \"C\" kernels: " + ", ".join(sorted(sigs)))
    elif PLAN_KERNEL_UNKNOWN not in col.hits and plan_kernels:
        col.hit(PLAN_KERNEL_UNKNOWN, "cuda_source defines no extern \"C\" __global__ kernel")
    return col.findings(FAST_CHECK_IDS)


def static_verdict_checks(
    candidate: Any,
    *,
    task_source: str | None = None,
    fp32_task: bool | None = None,
    input_names: Iterable[str] | None = None,
    param_names: Iterable[str] | None = None,
) -> list[Finding]:
    """Static checks for a ``KernelCandidate`` (either format); one Finding per applicable id.

    ``fp32_task`` defaults to :func:`task_is_fp32` (candidate.program inputs, else task source).
    ``input_names``/``param_names`` default to ``in0..`` from ``candidate.program.inputs`` and
    ``candidate.program.parameter_names`` ('.' -> '_') when the program is present.
    """
    from kernelwright.common.v1 import kernel_pb2

    if fp32_task is None:
        fp32_task = task_is_fp32(task_source, candidate)
    fmt = candidate.format
    if fmt == kernel_pb2.CANDIDATE_FORMAT_FAST or (
        fmt == kernel_pb2.CANDIDATE_FORMAT_UNSPECIFIED and candidate.cuda_source and not candidate.kernelbench_source
    ):
        prog = candidate.program if candidate.HasField("program") else None
        if input_names is None and prog is not None and len(prog.inputs):
            input_names = [f"in{i}" for i in range(len(prog.inputs))]
        if param_names is None and prog is not None and len(prog.parameter_names):
            param_names = [p.replace(".", "_") for p in prog.parameter_names]
        return fast_static_checks(candidate.cuda_source, candidate.plan, fp32_task=fp32_task,
                                  input_names=input_names, param_names=param_names)
    if fmt == kernel_pb2.CANDIDATE_FORMAT_KERNELBENCH or candidate.kernelbench_source:
        return kb_static_checks(candidate.kernelbench_source, fp32_task=fp32_task)
    return [Finding(SYNTAX, False, "candidate has no source (format unspecified, no kernelbench_source or "
                    "cuda_source)", None)]


# =============================================================================================
# Static extraction of load_inline CUDA sources (no candidate code runs)
# =============================================================================================


@dataclass
class ExtractedExtension:
    name: str
    cuda_sources: list[str]
    cpp_sources: list[str]
    extra_cuda_cflags: list[str]
    no_implicit_headers: bool
    line: int


def extract_kb_cuda_sources(source: str) -> tuple[list[ExtractedExtension], list[str]]:
    """Find ``load_inline(...)`` calls and statically resolve their ``cuda_sources``.

    Literal strings, module-level string constants, ``+``/implicit concatenation of those and
    lists of them resolve; f-strings, ``.format`` and anything computed do not (reported in the
    returned problem list, one line each). Never executes candidate code.
    """
    tree = ast.parse(source)
    consts: dict[str, Any] = {}
    problems: list[str] = []

    def val(node: ast.AST) -> Any:
        if isinstance(node, ast.Constant) and isinstance(node.value, (str, bool, int)):
            return node.value
        if isinstance(node, ast.Name) and node.id in consts:
            return consts[node.id]
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            a, b = val(node.left), val(node.right)
            if isinstance(a, str) and isinstance(b, str):
                return a + b
            if isinstance(a, list) and isinstance(b, list):
                return a + b
        if isinstance(node, (ast.List, ast.Tuple)):
            items = [val(e) for e in node.elts]
            if all(isinstance(i, str) for i in items):
                return items
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "join" \
                and isinstance(node.func.value, ast.Constant) and isinstance(node.func.value.value, str) \
                and len(node.args) == 1:
            items = val(node.args[0])
            if isinstance(items, list):
                return node.func.value.value.join(items)
        return None

    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            v = val(node.value)
            if v is not None:
                consts[node.targets[0].id] = v
            else:
                consts.pop(node.targets[0].id, None)

    exts: list[ExtractedExtension] = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call)):
            continue
        fname = node.func.attr if isinstance(node.func, ast.Attribute) else (
            node.func.id if isinstance(node.func, ast.Name) else "")
        if fname != "load_inline":
            continue
        kw = {k.arg: k.value for k in node.keywords if k.arg}
        positional = ["name", "cpp_sources", "cuda_sources"]
        for i, a in enumerate(node.args[:3]):
            kw.setdefault(positional[i], a)
        name = val(kw["name"]) if "name" in kw else None
        name = name if isinstance(name, str) else f"ext_line{node.lineno}"
        cuda = val(kw["cuda_sources"]) if "cuda_sources" in kw else None
        if "cuda_sources" not in kw:
            problems.append(f"line {node.lineno}: load_inline({name}) has no cuda_sources")
            continue
        if isinstance(cuda, str):
            cuda = [cuda]
        if not isinstance(cuda, list):
            problems.append(
                f"line {node.lineno}: load_inline({name}) cuda_sources is not statically extractable "
                f"({ast.unparse(kw['cuda_sources'])[:60]}); build check skipped"
            )
            continue
        cpp = val(kw["cpp_sources"]) if "cpp_sources" in kw else []
        cpp = [cpp] if isinstance(cpp, str) else (cpp if isinstance(cpp, list) else [])
        flags = val(kw["extra_cuda_cflags"]) if "extra_cuda_cflags" in kw else []
        flags = flags if isinstance(flags, list) else []
        nih = val(kw["no_implicit_headers"]) if "no_implicit_headers" in kw else False
        exts.append(ExtractedExtension(name, cuda, cpp, flags, bool(nih), node.lineno))
    return exts, problems
