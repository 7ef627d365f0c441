"""Prompt templates (``services/translator/prompts/*.md``) and the small renderer that fills them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from kernelwright.common.v1 import kernel_pb2, verdict_pb2
from kernelwright.translator.proposers.base import Attempt, ProposalRequest

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"
_PLACEHOLDER_RE = re.compile(r"\{([a-z_][a-z0-9_]*)\}")

MAX_LOG_CHARS = 4000
MAX_SOURCE_CHARS = 12000
MAX_PROFILE_CHARS = 2000
MAX_STONE_CHARS = 6000
MAX_STONES = 3
MAX_HISTORY = 3


class PromptError(ValueError):
    """A template names a placeholder that was not supplied (or an unknown template)."""


@lru_cache(maxsize=None)
def load_template(name: str) -> str:
    path = PROMPTS_DIR / f"{name}.md"
    if not path.is_file():
        raise PromptError(f"no prompt template {path}")
    return path.read_text()


def placeholders(template: str) -> set[str]:
    return set(_PLACEHOLDER_RE.findall(template))


def render(template: str, values: dict[str, str]) -> str:
    """Fill ``{name}`` placeholders in one pass (values are never re-expanded); a missing value
    raises PromptError. Braces that are not ``{identifier}`` (JSON, C code) are left alone."""
    missing = sorted(placeholders(template) - values.keys())
    if missing:
        raise PromptError(f"prompt placeholders without a value: {', '.join(missing)}")
    return _PLACEHOLDER_RE.sub(lambda m: str(values[m.group(1)]), template)


def trim(text: str, limit: int, *, keep: str = "head") -> str:
    text = text or ""
    if len(text) <= limit:
        return text
    cut = len(text) - limit
    if keep == "tail":
        return f"[... {cut} characters cut ...]\n" + text[-limit:]
    return text[:limit] + f"\n[... {cut} characters cut ...]"


def format_name(fmt: int) -> str:
    return "fast (CUDA + LaunchPlan)" if fmt == kernel_pb2.CANDIDATE_FORMAT_FAST else "KernelBench (ModelNew)"


def answer_instructions(fmt: int) -> str:
    if fmt == kernel_pb2.CANDIDATE_FORMAT_FAST:
        return "one ```cuda block with the extern \"C\" __global__ kernels and one ```json block with the LaunchPlan"
    return "one ```python block defining class ModelNew"


def _fence(lang: str, code: str) -> str:
    return f"```{lang}\n{code.rstrip()}\n```"


def candidate_source(candidate: kernel_pb2.KernelCandidate) -> str:
    if candidate.format == kernel_pb2.CANDIDATE_FORMAT_FAST:
        from google.protobuf import json_format

        plan = json_format.MessageToJson(candidate.plan, indent=1)
        return _fence("cuda", trim(candidate.cuda_source, MAX_SOURCE_CHARS)) + "\n\n" + _fence("json", plan)
    return _fence("python", trim(candidate.kernelbench_source, MAX_SOURCE_CHARS))


def _fmt_ms(stats: verdict_pb2.TimingStats) -> str:
    return f"{stats.median_ms:.4f} ms (IQR {stats.iqr_ms:.4f}, {stats.trials} trials)"


def verdict_feedback(verdict: verdict_pb2.Verdict, *, include_log: bool = True) -> str:
    """The parts of a verdict a model can act on, as readable lines."""
    outcome = verdict_pb2.VerdictOutcome.Name(verdict.outcome).removeprefix("VERDICT_OUTCOME_")
    lines = [f"Outcome: {outcome}" + (f" — {verdict.message}" if verdict.message else "")]
    # A failed baseline (torch.compile of the reference) is the evaluator's, not something the
    # candidate's author can fix: it would only mislead the model.
    failed = [c for c in verdict.checks if not c.passed and not c.name.startswith("baseline.")]
    for c in failed[:8]:
        lines.append(f"- failed check {c.name}: {c.message}".rstrip(": "))
    if verdict.HasField("worst_mismatch") and verdict.worst_mismatch.numel:
        m = verdict.worst_mismatch
        idx = ", ".join(str(i) for i in m.index)
        lines.append(
            f"Worst mismatch: output {m.output} at index [{idx}]: expected {m.expected!r}, got {m.actual!r} "
            f"({m.mismatched} of {m.numel} elements outside tolerance; max abs error "
            f"{verdict.max_abs_error:.3g}, max rel error {verdict.max_rel_error:.3g}, atol {verdict.atol:g}, "
            f"rtol {verdict.rtol:g})"
        )
    if verdict.HasField("timings") and verdict.timings.candidate.median_ms:
        t = verdict.timings
        parts = [f"candidate {_fmt_ms(t.candidate)}"]
        if t.eager.median_ms:
            parts.append(f"eager {_fmt_ms(t.eager)} (speedup {t.speedup_vs_eager:.2f}x)")
        if t.compiled.median_ms:
            parts.append(f"torch.compile {_fmt_ms(t.compiled)} (speedup {t.speedup_vs_compile:.2f}x)")
        if t.roofline_bound_ms:
            parts.append(f"roofline bound {t.roofline_bound_ms:.4f} ms")
        lines.append("Timings: " + "; ".join(parts))
    for r in list(verdict.resources)[:4]:
        lines.append(
            f"Resources {r.kernel}: {r.registers_per_thread} registers/thread, {r.static_shared_bytes} B shared, "
            f"{r.spill_bytes} B spilled"
        )
    if verdict.profile.text:
        lines.append(f"Profile ({verdict.profile.tool or 'profiler'}):\n" + trim(verdict.profile.text, MAX_PROFILE_CHARS))
    if include_log and verdict.log:
        lines.append("Log:\n" + _fence("text", trim(verdict.log, MAX_LOG_CHARS, keep="head")))
    return "\n".join(lines)


def history_feedback(history: list[Attempt], *, skip_last_log: bool = False) -> str:
    if not history:
        return ""
    recent = history[-MAX_HISTORY:]
    parts = ["## Feedback on previous attempts (most recent last)"]
    for i, att in enumerate(recent, 1):
        last = i == len(recent)
        text = verdict_feedback(att.verdict, include_log=not (last and skip_last_log))
        parts.append(f"### Attempt {len(history) - len(recent) + i}\n{text}")
    if not skip_last_log:
        parts.append("The most recent candidate was:\n\n" + candidate_source(recent[-1].candidate))
    return "\n\n".join(parts)


def stepping_stones_text(request: ProposalRequest) -> str:
    stones = request.stepping_stones[:MAX_STONES]
    if not stones:
        return "(none found for this task)"
    out = []
    for i, s in enumerate(stones, 1):
        notes = f" — {s.notes}" if s.notes else ""
        out.append(f"### Stone {i}: {s.speedup:.2f}x faster than eager{notes}\n\n" + _fence("cuda", trim(s.cuda_source, MAX_STONE_CHARS)))
    return "\n\n".join(out)


def input_specs_text(request: ProposalRequest) -> str:
    if not request.input_specs:
        return "(see get_inputs)"
    return ", ".join(
        f"in{i}: {s.dtype or 'float32'}[{', '.join(str(d) for d in s.shape)}]" for i, s in enumerate(request.input_specs)
    )


@dataclass
class RenderedPrompt:
    system: str  # role + general rules + format rules (shared, cacheable)
    context: str  # task, functional program, stepping stones (shared per task, cacheable)
    user: str  # the instruction: translate or repair, with feedback


def build_prompt(request: ProposalRequest) -> RenderedPrompt:
    fmt = request.format
    rules = load_template("format_fast" if fmt == kernel_pb2.CANDIDATE_FORMAT_FAST else "format_kernelbench")
    system = render(load_template("system"), {"format_rules": rules})
    context = render(
        load_template("context"),
        {
            "task_name": request.task_name,
            "target_gpu": request.target_gpu or "an NVIDIA GPU",
            "task_source": request.task_source.rstrip(),
            "functional_source": request.functional_source.rstrip(),
            "ops": ", ".join(request.ops) if request.ops else "(not listed)",
            "input_specs": input_specs_text(request),
            "stepping_stones": stepping_stones_text(request),
        },
    )
    common = {
        "task_name": request.task_name,
        "format_name": format_name(fmt),
        "answer_instructions": answer_instructions(fmt),
    }
    if request.mode == "repair" and request.history:
        last = request.history[-1]
        earlier = history_feedback(request.history[:-1])
        user = render(
            load_template("repair"),
            {
                **common,
                "failure_summary": last.verdict.message or verdict_pb2.VerdictOutcome.Name(last.verdict.outcome),
                "previous_source": candidate_source(last.candidate),
                "compile_log": trim(last.verdict.log, MAX_LOG_CHARS) or "(no log)",
                "feedback": verdict_feedback(last.verdict, include_log=False) + ("\n\n" + earlier if earlier else ""),
            },
        )
    else:
        user = render(
            load_template("translate"),
            {**common, "feedback": history_feedback(request.history) or "This is the first attempt."},
        )
    return RenderedPrompt(system=system, context=context, user=user)
