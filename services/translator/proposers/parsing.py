"""Turning a model's answer (fenced code blocks or a ``submit_candidate`` tool call) into
KernelCandidates. Never raises on bad model output: every defect becomes a readable problem."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from google.protobuf import json_format

from kernelwright.common.v1 import kernel_pb2
from kernelwright.gpu_evaluator.plan import parse_kernel_signatures, plan_problems

__all__ = ["CodeBlock", "ParsedAnswer", "extract_code_blocks", "parse_answer", "SUBMIT_TOOL"]

KB = kernel_pb2.CANDIDATE_FORMAT_KERNELBENCH
FAST = kernel_pb2.CANDIDATE_FORMAT_FAST

PY_LANGS = {"python", "py", "python3"}
CUDA_LANGS = {"cuda", "cu", "cpp", "c++", "cxx", "c", "cuh", "h", "hpp"}
JSON_LANGS = {"json", "jsonc", "json5"}

# The Anthropic tool a model may call instead of writing fenced blocks.
SUBMIT_TOOL: dict[str, Any] = {
    "name": "submit_candidate",
    "description": (
        "Submit one candidate implementation. KernelBench format: set kernelbench_source (Python "
        "defining class ModelNew). Fast format: set cuda_source (extern \"C\" __global__ kernels) "
        "and plan (a LaunchPlan as a JSON object)."
    ),
    "input_schema": {
        "type": "object",
        "properties": {
            "kernelbench_source": {"type": "string", "description": "Python source defining class ModelNew"},
            "cuda_source": {"type": "string", "description": "CUDA C++ translation unit for NVRTC"},
            "plan": {"type": "object", "description": "LaunchPlan as protobuf JSON"},
            "notes": {"type": "string", "description": "one paragraph on the approach"},
        },
    },
}

_UNKNOWN_PARAM_RE = re.compile(r"unknown (?:tensor|name) '(?!in\d+')")
_FENCE_RE = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)\n", re.MULTILINE)


@dataclass(frozen=True)
class CodeBlock:
    lang: str  # lower-cased first word of the info string; "" when unlabeled
    code: str
    closed: bool = True


@dataclass
class ParsedAnswer:
    candidates: list[kernel_pb2.KernelCandidate]
    problems: list[str]


def extract_code_blocks(text: str) -> list[CodeBlock]:
    """Every fenced block, in order. An unclosed last fence (a truncated answer) runs to the end."""
    blocks: list[CodeBlock] = []
    pos = 0
    while True:
        m = _FENCE_RE.search(text, pos)
        if not m:
            return blocks
        fence = m.group("fence")
        info = m.group("info").strip().lower()
        lang = info.split()[0].strip("{}.") if info else ""
        close = re.compile(r"^[ \t]*" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}[ \t]*$", re.MULTILINE)
        cm = close.search(text, m.end())
        if cm is None:
            blocks.append(CodeBlock(lang, text[m.end():].rstrip() + "\n", closed=False))
            return blocks
        blocks.append(CodeBlock(lang, text[m.end():cm.start()], closed=True))
        pos = cm.end()


def _looks_like_json_object(code: str) -> bool:
    s = code.strip()
    return s.startswith("{") and s.endswith("}") and "__global__" not in s


def _defines_model_new(source: str) -> tuple[bool, str | None]:
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return False, f"python syntax error at line {exc.lineno}: {exc.msg}"
    ok = any(isinstance(n, ast.ClassDef) and n.name == "ModelNew" for n in ast.walk(tree))
    return ok, None


def _kernelbench(source: str, problems: list[str]) -> kernel_pb2.KernelCandidate | None:
    ok, err = _defines_model_new(source)
    if err:
        problems.append(err)
        return None
    if not ok:
        problems.append("wrong signature: the Python source does not define class ModelNew")
        return None
    return kernel_pb2.KernelCandidate(format=KB, kernelbench_source=source)


def _strip_json_comments(s: str) -> str:
    # Tolerate // line comments and trailing commas, which models often add.
    s = re.sub(r"(?m)^\s*//.*$", "", s)
    return re.sub(r",(\s*[}\]])", r"\1", s)


def _fast(
    cuda_source: str,
    plan_obj: Any,
    problems: list[str],
    *,
    input_names: Iterable[str] | None,
    param_names: Iterable[str] | None,
) -> kernel_pb2.KernelCandidate | None:
    if "__global__" not in cuda_source:
        problems.append("no __global__ kernel in the CUDA source")
        return None
    sigs = parse_kernel_signatures(cuda_source)
    if not sigs:
        problems.append('no extern "C" __global__ kernel in the CUDA source (the plan names kernels by their C name)')
        return None
    if plan_obj is None:
        problems.append("no launch plan (a ```json block with the LaunchPlan)")
        return None
    if isinstance(plan_obj, str):
        try:
            plan_obj = json.loads(plan_obj)
        except json.JSONDecodeError:
            try:
                plan_obj = json.loads(_strip_json_comments(plan_obj))
            except json.JSONDecodeError as exc:
                problems.append(f"plan JSON invalid: {exc}")
                return None
    if not isinstance(plan_obj, dict):
        problems.append(f"plan JSON invalid: expected an object, got {type(plan_obj).__name__}")
        return None
    if "plan" in plan_obj and "steps" not in plan_obj and isinstance(plan_obj["plan"], dict):
        plan_obj = plan_obj["plan"]
    plan = kernel_pb2.LaunchPlan()
    try:
        json_format.ParseDict(plan_obj, plan)
    except json_format.ParseError as exc:
        problems.append(f"plan JSON invalid: not a LaunchPlan: {exc}")
        return None
    bad = plan_problems(plan, input_names=input_names, param_names=param_names, kernels=sigs)
    if param_names is None:
        # Unknown parameter names cannot be judged without the reference's names.
        # (an unknown ``inN`` is still an error when the inputs are known).
        bad = [p for p in bad if not _UNKNOWN_PARAM_RE.search(p)]
    if bad:
        problems.append("plan invalid: " + "; ".join(bad[:8]) + (f" (+{len(bad) - 8} more)" if len(bad) > 8 else ""))
        return None
    cand = kernel_pb2.KernelCandidate(format=FAST, cuda_source=cuda_source)
    cand.plan.CopyFrom(plan)
    return cand


def _from_tool(tool_input: Mapping[str, Any], fmt: int, problems: list[str], **names: Any) -> kernel_pb2.KernelCandidate | None:
    if not isinstance(tool_input, Mapping):
        problems.append("submit_candidate input is not an object")
        return None
    if fmt == FAST:
        src = tool_input.get("cuda_source")
        if not isinstance(src, str) or not src.strip():
            problems.append("submit_candidate: cuda_source missing")
            return None
        return _fast(src, tool_input.get("plan"), problems, **names)
    src = tool_input.get("kernelbench_source")
    if not isinstance(src, str) or not src.strip():
        problems.append("submit_candidate: kernelbench_source missing")
        return None
    return _kernelbench(src, problems)


def parse_answer(
    text: str,
    fmt: int,
    *,
    tool_inputs: list[Mapping[str, Any]] | None = None,
    input_names: Iterable[str] | None = None,
    param_names: Iterable[str] | None = None,
    proposer: str = "",
) -> ParsedAnswer:
    """Candidates in ``text`` (and tool calls) for the requested format, plus parse problems.

    Tool calls win over text; otherwise the first usable candidate of the text is taken.
    """
    names = {"input_names": list(input_names) if input_names is not None else None,
             "param_names": list(param_names) if param_names is not None else None}
    problems: list[str] = []
    candidates: list[kernel_pb2.KernelCandidate] = []
    for ti in tool_inputs or []:
        c = _from_tool(ti, fmt, problems, **names)
        if c is not None:
            candidates.append(c)
    if not candidates and not tool_inputs:
        c = _from_text(text or "", fmt, problems, **names)
        if c is not None:
            candidates.append(c)
    for c in candidates:
        c.proposer = proposer
    return ParsedAnswer(candidates, problems)


def _from_text(text: str, fmt: int, problems: list[str], **names: Any) -> kernel_pb2.KernelCandidate | None:
    blocks = extract_code_blocks(text)
    if not blocks:
        problems.append("no code block in the answer")
        return None
    if any(not b.closed for b in blocks):
        problems.append("answer truncated: a code block is not closed")
    if fmt == FAST:
        cuda = [b for b in blocks if b.lang in CUDA_LANGS or (b.lang == "" and "__global__" in b.code)]
        plans = [b for b in blocks if b.lang in JSON_LANGS or (b.lang == "" and _looks_like_json_object(b.code))]
        if not cuda:
            cuda = [b for b in blocks if "__global__" in b.code and b.lang not in JSON_LANGS]
        if not cuda:
            problems.append("no CUDA code block (```cuda) with a __global__ kernel")
            return None
        # Prefer a block with extern "C" kernels.
        cuda.sort(key=lambda b: ('extern "C"' not in b.code, "__global__" not in b.code))
        plan_text = plans[-1].code if plans else None
        return _fast(cuda[0].code, plan_text, problems, **names)
    py = [b for b in blocks if b.lang in PY_LANGS or b.lang == ""]
    if not py:
        problems.append("no Python code block (```python) in the answer")
        return None
    with_model = [b for b in py if "ModelNew" in b.code]
    return _kernelbench((with_model or py)[-1].code if with_model else py[0].code, problems)
