"""KernelBench-format candidates: Python defining ``ModelNew``, usually built with load_inline.

The source runs inside the worker (never the service). Builds are cached on disk by a hash of the
source: TORCH_EXTENSIONS_DIR is a folder per source hash, so an identical candidate reuses the
built extension instead of invoking nvcc again.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import types
from pathlib import Path

_GLOBAL = re.compile(r"__global__\s+(?:__launch_bounds__\s*\([^)]*\)\s*)?void\s+(\w+)")


class CandidateBuildError(RuntimeError):
    """The candidate's CUDA/C++ did not compile (the message carries the trimmed log)."""


class CandidateLoadError(RuntimeError):
    """The candidate's Python failed before or around building (not a compiler error)."""


def kernel_names(source: str) -> list[str]:
    return sorted(set(_GLOBAL.findall(source)))


def trim_log(text: str, max_lines: int = 60) -> str:
    lines = [l for l in text.splitlines() if l.strip()]
    errors = [l for l in lines if "error" in l.lower()]
    keep = errors[:max_lines] if errors else lines[-max_lines:]
    return "\n".join(keep)


def source_key(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()[:20]


def load_model_new(source: str, cache_root: Path) -> type:
    key = source_key(source)
    build_dir = cache_root / "kernelbench" / key
    build_dir.mkdir(parents=True, exist_ok=True)
    os.environ["TORCH_EXTENSIONS_DIR"] = str(build_dir)
    module = types.ModuleType(f"kw_candidate_{key}")
    module.__file__ = f"<candidate {key}>"
    captured = io.StringIO()
    try:
        with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
            exec(compile(source, "<candidate>", "exec"), module.__dict__)
    except SyntaxError as exc:
        raise CandidateLoadError(f"candidate does not parse: line {exc.lineno}: {exc.msg}") from exc
    except Exception as exc:  # noqa: BLE001 - classify build failures vs other Python errors
        text = f"{exc}\n{captured.getvalue()}"
        if "Error building extension" in text or "error:" in text:
            raise CandidateBuildError(trim_log(text)) from exc
        raise CandidateLoadError(f"{type(exc).__name__}: {exc}") from exc
    model_new = getattr(module, "ModelNew", None)
    if not isinstance(model_new, type):
        raise CandidateLoadError("candidate defines no class ModelNew")
    return model_new
