"""Compile candidate CUDA with NVRTC (fast format) or nvcc (fallback / KernelBench sources).

Works without a GPU: NVRTC and nvcc only need their libraries/binaries. Results are cached on
disk, keyed by sha256(source + options + arch + compiler version), so an identical source never
compiles twice; cache entries are written atomically (temp directory + rename).

Back ends
---------
* ``nvrtc``: ``cuda.bindings.nvrtc`` (pip ``cuda-bindings==13.0.*``) with the NVRTC library from
  pip ``nvidia-cuda-nvrtc==13.0.*``. Options: ``-std=c++17 -default-device --ptxas-options=-v
  -lineinfo -I<cuda include>``; ``--use_fast_math`` only when asked (it changes numerics).
  When the requested arch is not supported by this NVRTC, compiles PTX for the newest supported
  ``compute_XX`` not above it (``cubin`` empty, ``ptx`` set; the driver JITs it).
* ``nvcc``: ``nvcc -cubin`` in a subprocess (CPU CI compile checks when cuda-bindings is absent).
  nvcc has no ``-default-device``: un-annotated helper functions are host functions there.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kernelwright.gpu_evaluator.plan import parse_kernel_signatures

__all__ = [
    "BuildResult",
    "compile_cuda",
    "cuda_include_dirs",
    "default_cache_dir",
    "nvcc_compile",
    "nvcc_path",
    "nvcc_version",
    "nvrtc_available",
    "nvrtc_version",
    "parse_ptxas_resources",
    "trim_log",
]

LOG_MAX_LINES = 60
CACHE_FORMAT = 1


@dataclass
class BuildResult:
    ok: bool
    cubin: bytes = b""
    ptx: str = ""
    # Trimmed compiler log (~60 lines; the compiler's own "file(line)" numbers kept).
    log: str = ""
    # extern "C" __global__ kernel names (fast format) or demangled entry names (nvcc).
    kernels: list[str] = field(default_factory=list)
    # kernel -> {registers, shared_bytes, spill_bytes, spill_loads_bytes, local_bytes}
    resources: dict[str, dict[str, int]] = field(default_factory=dict)
    seconds: float = 0.0
    compiler: str = ""  # e.g. "nvrtc 13.0" or "nvcc 13.0.88"
    arch: str = ""  # what was actually targeted ("sm_90a", or "compute_90" for a PTX fallback)
    cached: bool = False
    # Why resources are empty (or other remarks), one line.
    note: str = ""


# ---------------------------------------------------------------------------------------------
# Tool discovery
# ---------------------------------------------------------------------------------------------

_nvrtc_mod = None
_nvrtc_checked = False


def _nvrtc():
    global _nvrtc_mod, _nvrtc_checked
    if not _nvrtc_checked:
        _nvrtc_checked = True
        try:
            from cuda.bindings import nvrtc  # type: ignore[import-not-found]

            err, *_ = nvrtc.nvrtcVersion()
            if int(err) == 0:
                _nvrtc_mod = nvrtc
        except Exception:  # noqa: BLE001 - missing package or library: NVRTC unusable
            _nvrtc_mod = None
    return _nvrtc_mod


def nvrtc_available() -> bool:
    return _nvrtc() is not None


def nvrtc_version() -> tuple[int, int] | None:
    nv = _nvrtc()
    if nv is None:
        return None
    _, major, minor = nv.nvrtcVersion()
    return int(major), int(minor)


def _nvrtc_supported_archs() -> list[int]:
    nv = _nvrtc()
    if nv is None:
        return []
    err, archs = nv.nvrtcGetSupportedArchs()
    return sorted(int(a) for a in archs) if int(err) == 0 else []


def nvcc_path() -> str | None:
    for cand in (os.environ.get("NVCC"), shutil.which("nvcc"),
                 os.path.join(os.environ.get("CUDA_HOME", "/usr/local/cuda"), "bin", "nvcc")):
        if cand and os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    return None


_nvcc_version_cache: dict[str, str] = {}


def nvcc_version() -> str | None:
    path = nvcc_path()
    if path is None:
        return None
    if path not in _nvcc_version_cache:
        try:
            out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            return None
        m = re.search(r"V(\d+\.\d+\.\d+)", out)
        _nvcc_version_cache[path] = m.group(1) if m else "unknown"
    return _nvcc_version_cache[path]


def cuda_include_dirs() -> list[str]:
    """Directories holding the CUDA toolkit headers (cuda_fp16.h ...), best first."""
    roots: list[str] = []
    for env in ("CUDA_HOME", "CUDA_PATH"):
        if os.environ.get(env):
            roots.append(os.path.join(os.environ[env], "include"))
    nvcc = nvcc_path()
    if nvcc:
        real = os.path.realpath(nvcc)
        roots.append(os.path.join(os.path.dirname(os.path.dirname(real)), "include"))
        # /usr/local/bin/nvcc may be a wrapper script: look inside for the real path.
        try:
            with open(nvcc, "rb") as fh:
                head = fh.read(4096).decode("utf-8", "replace")
            for m in re.finditer(r"(/\S+)/bin/nvcc\b", head):
                roots.append(os.path.join(m.group(1), "include"))
        except OSError:
            pass
    roots += ["/usr/local/cuda/include"] + sorted(
        (str(p) for p in Path("/usr/local").glob("cuda-*/include")), reverse=True
    )
    try:
        import nvidia  # type: ignore[import-not-found]

        for base in list(getattr(nvidia, "__path__", [])):
            for sub in ("cu13/include", "cuda_runtime/include", "cuda_nvrtc/include"):
                roots.append(os.path.join(base, sub))
    except ImportError:
        pass
    out: list[str] = []
    for r in roots:
        if os.path.isfile(os.path.join(r, "cuda_fp16.h")) and r not in out:
            out.append(r)
            cccl = os.path.join(r, "cccl")
            if os.path.isdir(cccl):
                out.append(cccl)
            break  # one toolkit only: mixing header versions breaks builds
    return out


def default_cache_dir() -> Path:
    env = os.environ.get("KERNELWRIGHT_BUILD_CACHE")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "kernelwright" / "cuda-build"


# ---------------------------------------------------------------------------------------------
# Logs and resources
# ---------------------------------------------------------------------------------------------


def trim_log(log: str, max_lines: int = LOG_MAX_LINES) -> str:
    """Keep errors first: drop blank and ptxas info lines when too long, then head/tail cut."""
    lines = [ln.rstrip() for ln in log.replace("\r", "").split("\n")]
    lines = [ln for ln in lines if ln.strip()]
    if len(lines) <= max_lines:
        return "\n".join(lines)
    important = [ln for ln in lines if not ln.startswith("ptxas") and "warning" not in ln.lower()
                 and not ln.lstrip().startswith("Remark")]
    errs = [ln for ln in important if "error" in ln.lower()]
    src = important if important else lines
    if len(src) <= max_lines:
        return "\n".join(src) + f"\n... ({len(lines) - len(src)} info/warning lines omitted)"
    head = max_lines - 10
    keep = src[:head] + [f"... ({len(src) - head - 8} lines omitted) ..."] + src[-8:]
    if errs and not any(e in keep for e in errs[:1]):
        keep = errs[:5] + keep[: max_lines - 5]
    return "\n".join(keep)


def _demangle(name: str) -> str:
    m = re.match(r"_Z(\d+)(\w+)", name)
    if m:
        n = int(m.group(1))
        return m.group(2)[:n]
    return name


def parse_ptxas_resources(log: str) -> dict[str, dict[str, int]]:
    """Per-kernel {registers, shared_bytes, spill_bytes, spill_loads_bytes, local_bytes} from
    ``ptxas -v`` output (NVRTC ``--ptxas-options=-v`` or nvcc ``-Xptxas -v``)."""
    res: dict[str, dict[str, int]] = {}
    cur: str | None = None
    for ln in log.splitlines():
        m = re.search(r"(?:Compiling entry function|Function properties for) '?([\w$.]+)'?", ln)
        if m:
            if "Compiling entry function" in ln or _demangle(m.group(1)) in res:
                cur = _demangle(m.group(1))
                res.setdefault(cur, {"registers": 0, "shared_bytes": 0, "spill_bytes": 0,
                                     "spill_loads_bytes": 0, "local_bytes": 0})
            else:
                cur = None  # properties of a non-entry (device) function
            continue
        if cur is None:
            continue
        m = re.search(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads", ln)
        if m:
            res[cur]["local_bytes"] = int(m.group(1))
            res[cur]["spill_bytes"] = int(m.group(2))
            res[cur]["spill_loads_bytes"] = int(m.group(3))
            continue
        m = re.search(r"Used (\d+) registers", ln)
        if m:
            res[cur]["registers"] = int(m.group(1))
            s = re.search(r"(\d+) bytes smem", ln)
            res[cur]["shared_bytes"] = int(s.group(1)) if s else 0
    return res


# ---------------------------------------------------------------------------------------------
# Cache
# ---------------------------------------------------------------------------------------------


def _cache_key(parts: dict) -> str:
    blob = json.dumps(parts, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()


def _cache_load(cache_dir: Path | None, key: str) -> BuildResult | None:
    if cache_dir is None:
        return None
    d = cache_dir / key[:2] / key
    try:
        meta = json.loads((d / "meta.json").read_text())
        cubin = (d / "out.cubin").read_bytes()
        ptx = (d / "out.ptx").read_text()
    except (OSError, ValueError):
        return None
    if meta.get("format") != CACHE_FORMAT:
        return None
    meta.pop("format", None)
    return BuildResult(cubin=cubin, ptx=ptx, **meta)


def _cache_store(cache_dir: Path | None, key: str, r: BuildResult) -> None:
    if cache_dir is None:
        return
    final = cache_dir / key[:2] / key
    if final.exists():
        return
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=final.parent))
        meta = asdict(r)
        meta.pop("cubin")
        meta.pop("ptx")
        meta["cached"] = False
        meta["format"] = CACHE_FORMAT
        (tmp / "out.cubin").write_bytes(r.cubin)
        (tmp / "out.ptx").write_text(r.ptx)
        (tmp / "meta.json").write_text(json.dumps(meta))  # written last: marks completeness
        try:
            os.rename(tmp, final)  # atomic; fails if another writer won the race
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
    except OSError:
        pass  # a cache that cannot be written is only slower


def _finish(r: BuildResult, key: str, cache_dir: Path | None, t0: float) -> BuildResult:
    r.seconds = time.perf_counter() - t0
    _cache_store(cache_dir, key, r)
    return r


# ---------------------------------------------------------------------------------------------
# Compile
# ---------------------------------------------------------------------------------------------


def _arch_number(arch: str) -> tuple[int, str, str]:
    m = re.fullmatch(r"(sm|compute)_(\d+)([af]?)", arch.strip())
    if not m:
        raise ValueError(f"bad arch {arch!r}: expected e.g. 'sm_90', 'sm_90a' or 'compute_90'")
    return int(m.group(2)), m.group(1), m.group(3)


def compile_cuda(
    source: str,
    *,
    arch: str = "sm_90",
    fast_math: bool = False,
    extra_options: Sequence[str] = (),
    include_dirs: Sequence[str] | None = None,
    cache_dir: str | os.PathLike | None = None,
    use_cache: bool = True,
    backend: str = "auto",
    filename: str = "candidate.cu",
    timeout_s: float = 300.0,
) -> BuildResult:
    """Compile a CUDA translation unit (device code, ``extern "C"`` kernels) to CUBIN.

    ``backend``: "nvrtc", "nvcc" or "auto" (NVRTC when cuda-bindings loads, else nvcc).
    ``cache_dir``: defaults to :func:`default_cache_dir`; ``use_cache=False`` disables caching.
    Never raises for a bad source: ``ok=False`` with the trimmed log. Raises ValueError for a
    malformed ``arch`` and RuntimeError when no compiler is usable.
    """
    _arch_number(arch)  # validate early
    if backend == "auto":
        backend = "nvrtc" if nvrtc_available() else ("nvcc" if nvcc_path() else "none")
    if backend == "none" or (backend == "nvrtc" and not nvrtc_available()) or (
        backend == "nvcc" and not nvcc_path()
    ):
        raise RuntimeError("no CUDA compiler usable: install cuda-bindings + nvidia-cuda-nvrtc, or put nvcc on PATH")
    cdir = (Path(cache_dir) if cache_dir is not None else default_cache_dir()) if use_cache else None
    incs = list(include_dirs) if include_dirs is not None else cuda_include_dirs()
    if backend == "nvrtc":
        return _compile_nvrtc(source, arch, fast_math, list(extra_options), incs, cdir, filename)
    return nvcc_compile(source, arch=arch, fast_math=fast_math, extra_options=extra_options,
                        include_dirs=incs, cache_dir=cdir, use_cache=use_cache, mode="cubin",
                        filename=filename, timeout_s=timeout_s)


def _compile_nvrtc(source: str, arch: str, fast_math: bool, extra: list[str], incs: list[str],
                   cache_dir: Path | None, filename: str) -> BuildResult:
    nv = _nvrtc()
    t0 = time.perf_counter()
    num, kind, suffix = _arch_number(arch)
    supported = _nvrtc_supported_archs()
    target, note = arch, ""
    if kind == "compute":
        target = arch
    elif supported and num not in supported:
        lower = [a for a in supported if a <= num]
        fallback = lower[-1] if lower else supported[0]
        target = f"compute_{fallback}"
        note = f"{arch} not supported by this NVRTC ({supported}); compiled PTX for {target}"
    opts = [f"--gpu-architecture={target}", "-std=c++17", "-default-device", "--ptxas-options=-v", "-lineinfo"]
    if fast_math:
        opts.append("--use_fast_math")
    opts += extra
    opts += [f"-I{d}" for d in incs]
    ver = nvrtc_version()
    compiler = f"nvrtc {ver[0]}.{ver[1]}" if ver else "nvrtc"
    # Include paths are machine-specific but do not change the output: keep them out of the key.
    key = _cache_key({"v": CACHE_FORMAT, "backend": "nvrtc", "source": source, "arch": target,
                      "options": [o for o in opts if not o.startswith("-I")], "compiler": compiler})
    hit = _cache_load(cache_dir, key)
    if hit is not None:
        hit.cached = True
        hit.seconds = time.perf_counter() - t0
        return hit

    kernels = list(parse_kernel_signatures(source))
    err, prog = nv.nvrtcCreateProgram(source.encode(), filename.encode(), 0, [], [])
    if int(err) != 0:
        return BuildResult(False, log=f"nvrtcCreateProgram failed: {err}", compiler=compiler, arch=target,
                           seconds=time.perf_counter() - t0)
    try:
        bopts = [o.encode() for o in opts]
        (cerr,) = nv.nvrtcCompileProgram(prog, len(bopts), bopts)
        _, n = nv.nvrtcGetProgramLogSize(prog)
        buf = b" " * n
        nv.nvrtcGetProgramLog(prog, buf)
        raw_log = buf.rstrip(b"\x00 ").decode("utf-8", "replace")
        if int(cerr) != 0:
            r = BuildResult(False, log=trim_log(raw_log) or str(cerr), kernels=kernels, compiler=compiler,
                            arch=target, note=note)
            return _finish(r, key, cache_dir, t0)
        ptx = ""
        err, n = nv.nvrtcGetPTXSize(prog)
        if int(err) == 0 and n > 1:
            pbuf = b" " * n
            nv.nvrtcGetPTX(prog, pbuf)
            ptx = pbuf.rstrip(b"\x00").decode("utf-8", "replace")
        cubin = b""
        if target.startswith("sm_"):
            err, n = nv.nvrtcGetCUBINSize(prog)
            if int(err) == 0 and n > 0:
                cbuf = b" " * n
                nv.nvrtcGetCUBIN(prog, cbuf)
                cubin = bytes(cbuf)
        resources = parse_ptxas_resources(raw_log)
        if not resources:
            note = (note + "; " if note else "") + (
                "no ptxas resource info (PTX-only build: the driver JITs it)" if not cubin
                else "NVRTC printed no ptxas resource info")
        r = BuildResult(True, cubin=cubin, ptx=ptx, log=trim_log(raw_log), kernels=kernels,
                        resources=resources, compiler=compiler, arch=target, note=note)
        return _finish(r, key, cache_dir, t0)
    finally:
        nv.nvrtcDestroyProgram(prog)


def nvcc_compile(
    source: str,
    *,
    arch: str = "sm_90",
    fast_math: bool = False,
    extra_options: Sequence[str] = (),
    include_dirs: Sequence[str] = (),
    cache_dir: str | os.PathLike | None = None,
    use_cache: bool = True,
    mode: str = "cubin",
    filename: str = "candidate.cu",
    timeout_s: float = 300.0,
    std: str = "c++17",
) -> BuildResult:
    """Compile with ``nvcc`` in a subprocess. ``mode``: "cubin" (device code only, host code is
    still parsed by the front end) or "object" (``-c``: full host + device build, much slower with
    torch headers). ``cubin`` holds the cubin (mode "cubin") or the object file (mode "object")."""
    path = nvcc_path()
    if path is None:
        raise RuntimeError("nvcc not found (set NVCC or put it on PATH)")
    t0 = time.perf_counter()
    num, kind, suffix = _arch_number(arch)
    if mode not in ("cubin", "object"):
        raise ValueError("mode must be 'cubin' or 'object'")
    ver = nvcc_version() or "unknown"
    compiler = f"nvcc {ver}"
    arch_flag = f"-arch={arch}" if kind == "sm" else f"-arch={arch}"
    opts = [f"-std={std}", arch_flag, "-Xptxas", "-v", "-lineinfo"]
    if fast_math:
        opts.append("-use_fast_math")
    opts += list(extra_options)
    cdir = (Path(cache_dir) if cache_dir is not None else default_cache_dir()) if use_cache else None
    key = _cache_key({"v": CACHE_FORMAT, "backend": "nvcc", "mode": mode, "source": source, "arch": arch,
                      "options": opts, "includes": list(include_dirs), "compiler": compiler})
    hit = _cache_load(cdir, key)
    if hit is not None:
        hit.cached = True
        hit.seconds = time.perf_counter() - t0
        return hit
    with tempfile.TemporaryDirectory(prefix="kw-nvcc-") as tmp:
        src = os.path.join(tmp, filename)
        out = os.path.join(tmp, "out.cubin" if mode == "cubin" else "out.o")
        with open(src, "w") as fh:
            fh.write(source)
        cmd = [path, "-cubin" if mode == "cubin" else "-c", src, "-o", out, *opts]
        cmd += [f"-I{d}" for d in include_dirs]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, cwd=tmp)
        except subprocess.TimeoutExpired:
            return BuildResult(False, log=f"nvcc timed out after {timeout_s:.0f} s", compiler=compiler,
                               arch=arch, seconds=time.perf_counter() - t0)
        raw = (p.stdout + "\n" + p.stderr).replace(tmp + os.sep, "")
        if p.returncode != 0 or not os.path.exists(out):
            r = BuildResult(False, log=trim_log(raw) or f"nvcc exited {p.returncode}", compiler=compiler, arch=arch)
            return _finish(r, key, cdir, t0)
        data = open(out, "rb").read()
    resources = parse_ptxas_resources(raw)
    kernels = list(dict.fromkeys(list(parse_kernel_signatures(source)) + list(resources)))
    r = BuildResult(True, cubin=data, log=trim_log(raw), kernels=kernels, resources=resources,
                    compiler=compiler, arch=arch,
                    note="" if resources else "nvcc printed no ptxas resource info")
    return _finish(r, key, cdir, t0)
