from __future__ import annotations

import pytest

from kernelwright.common.v1 import kernel_pb2, verdict_pb2
from kernelwright.translator.proposers import (Attempt, ProposalRequest, ProposalResult, build_prompt,
                                               propose_with_repair)
from kernelwright.translator.proposers.parsing import parse_answer
from kernelwright.translator.proposers.prompts import PromptError, load_template, placeholders, render

from .helpers import FAST, GOOD_KB_ANSWER, KB, MODEL_NEW, NO_CODE_ANSWER, request

LEFTOVER = ("{task_name}", "{feedback}", "{format_rules}", "{compile_log}", "{stepping_stones}", "{answer_instructions}")


def _verdict_compile_error() -> verdict_pb2.Verdict:
    return verdict_pb2.Verdict(outcome=verdict_pb2.VERDICT_OUTCOME_COMPILE_ERROR, message="nvcc failed",
                               log="kernel.cu(12): error: identifier \"blockIdxx\" is undefined")


def _verdict_wrong() -> verdict_pb2.Verdict:
    v = verdict_pb2.Verdict(outcome=verdict_pb2.VERDICT_OUTCOME_WRONG_ANSWER, message="trial 2 mismatched",
                            compiled=True, max_abs_error=0.5, max_rel_error=1.0, atol=1e-4, rtol=1e-4)
    v.worst_mismatch.CopyFrom(verdict_pb2.Mismatch(output=0, index=[3, 17], expected=1.25, actual=0.75,
                                                   mismatched=42, numel=262144))
    v.timings.candidate.median_ms = 0.5
    v.timings.eager.median_ms = 1.0
    v.timings.compiled.median_ms = 0.8
    v.timings.speedup_vs_eager = 2.0
    v.timings.speedup_vs_compile = 1.6
    v.profile.tool = "ncu"
    v.profile.text = "relu_kernel  dram 91%"
    v.checks.add(name="correctness.trial-2", passed=False, message="42 elements off")
    return v


def test_render_fills_and_leaves_code_braces():
    assert render("a {x} {\"k\": 1} { return; } {x}", {"x": "{y}"}) == "a {y} {\"k\": 1} { return; } {y}"
    with pytest.raises(PromptError, match="missing|without a value"):
        render("{a} {b}", {"a": "1"})


def test_templates_exist_and_have_expected_placeholders():
    assert placeholders(load_template("system")) == {"format_rules"}
    assert "compile_log" in placeholders(load_template("repair"))
    assert "ShapeExpr" in load_template("format_fast") and "load_inline" in load_template("format_kernelbench")


@pytest.mark.parametrize("fmt", [KB, FAST])
def test_translate_prompt_all_filled(fmt):
    p = build_prompt(request(fmt))
    whole = p.system + p.context + p.user
    assert not any(x in whole for x in LEFTOVER)
    assert "19_ReLU" in whole and "torch.relu" in whole and "in0: float32[16, 16384]" in whole
    assert "stone_kernel" in whole and "2.50x" in whole and "1e-4" in whole
    if fmt == FAST:
        assert 'extern "C" __global__' in p.system and "ceil_div" in p.system and "```json" in p.user
    else:
        assert "class ModelNew" in p.system


def test_translate_prompt_includes_previous_verdict_feedback():
    prev = kernel_pb2.KernelCandidate(format=KB, kernelbench_source=MODEL_NEW, id="abc")
    p = build_prompt(request(KB, history=[Attempt(prev, _verdict_wrong())]))
    assert "WRONG_ANSWER" in p.user and "[3, 17]" in p.user and "expected 1.25, got 0.75" in p.user
    assert "42 of 262144" in p.user and "speedup 2.00x" in p.user and "speedup 1.60x" in p.user
    assert "dram 91%" in p.user and "correctness.trial-2" in p.user and "class ModelNew" in p.user


def test_failed_baseline_check_is_not_fed_back_to_the_model():
    from kernelwright.translator.proposers.prompts import verdict_feedback

    v = _verdict_wrong()
    v.checks.add(name="baseline.torch_compile", passed=False, message="torch.compile of the reference failed")
    text = verdict_feedback(v)
    assert "correctness.trial-2" in text and "baseline.torch_compile" not in text


def test_repair_prompt_has_compile_log_trimmed():
    prev = kernel_pb2.KernelCandidate(format=KB, kernelbench_source=MODEL_NEW)
    v = _verdict_compile_error()
    v.log += "\n" + "x" * 20000
    p = build_prompt(request(KB, history=[Attempt(prev, v)], mode="repair"))
    assert "blockIdxx" in p.user and "characters cut" in p.user and len(p.user) < 20000
    assert "nvcc failed" in p.user and "class ModelNew" in p.user
    assert not any(x in p.user for x in LEFTOVER)


class ScriptedProposer:
    """A fake proposer answering from a list of texts; records the requests."""

    name = "scripted"

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.requests: list[ProposalRequest] = []

    async def propose(self, request: ProposalRequest) -> ProposalResult:
        self.requests.append(request)
        text = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        parsed = parse_answer(text, request.format, proposer=self.name)
        for i, c in enumerate(parsed.candidates):
            c.id = f"cand-{len(self.requests)}-{i}"
        return ProposalResult(parsed.candidates, raw_text=text, problems=parsed.problems)


BROKEN = GOOD_KB_ANSWER.replace("ext.relu", "ext.BROKEN")


def check(candidate):
    if "BROKEN" in candidate.kernelbench_source:
        return _verdict_compile_error()
    return verdict_pb2.Verdict(compiled=True)


async def test_repair_loop_fixes_after_compile_error():
    prop = ScriptedProposer(BROKEN, GOOD_KB_ANSWER)
    out = await propose_with_repair(prop, request(KB), check, max_repairs=3)
    assert len(out.candidates) == 1 and out.attempts == 2 and out.repairs == 1
    second = prop.requests[1]
    assert second.mode == "repair" and second.history[-1].verdict.log.startswith("kernel.cu(12)")
    assert "blockIdxx" in build_prompt(second).user


async def test_repair_loop_is_bounded():
    prop = ScriptedProposer(BROKEN)
    out = await propose_with_repair(prop, request(KB), check, max_repairs=2)
    assert out.candidates == [] and out.attempts == 3 and out.repairs == 2 and len(prop.requests) == 3
    assert len(out.history) == 3


async def test_repair_loop_feeds_parse_problems_and_accepts_async_check():
    prop = ScriptedProposer(NO_CODE_ANSWER, GOOD_KB_ANSWER)

    async def acheck(c):
        return verdict_pb2.Verdict(compiled=True)

    out = await propose_with_repair(prop, request(KB), acheck, max_repairs=1)
    assert out.candidates and out.attempts == 2
    assert "no code block" in build_prompt(prop.requests[1]).user
    assert out.result.problems == ["no code block in the answer"]


@pytest.mark.integration
async def test_repair_over_http_sends_compile_log(fake_llm):
    from kernelwright.translator.proposers import ProposerSettings, make_proposer

    from . import fake_llm_server as fk

    fake_llm.set_script(fk.text(BROKEN), fk.text(GOOD_KB_ANSWER))
    s = ProposerSettings(anthropic_api_key="k", anthropic_base_url=fake_llm.anthropic_base_url,
                         backoff_initial_s=0.01, max_retries=1)
    out = await propose_with_repair(make_proposer("anthropic", s), request(KB), check, max_repairs=2)
    assert out.candidates and out.attempts == 2 and out.result.usage.calls == 2
    repair_body = fake_llm.requests[1].body
    assert "blockIdxx" in repair_body["messages"][0]["content"]
    assert out.candidates[0].parent_ids  # the repaired candidate names the broken one


def test_price_lookup_exact_or_dated_never_a_shorter_prefix():
    from kernelwright.translator.proposers.pricing import PriceTable

    table = PriceTable.load()
    assert table.lookup("claude-opus-4-5").input == 5.0  # not claude-opus-4's 15.0
    assert table.lookup("claude-opus-4-1-20250805").input == 15.0
    assert table.lookup("claude-opus-4-1@20250805").output == 75.0
    assert table.lookup("claude-sonnet-4-6").cache_read == 0.3
    assert table.lookup("claude-opus-4-9") is None  # unknown: flagged unpriced, not guessed
    usd, priced = table.cost("claude-opus-4-9", input_tokens=1000, output_tokens=1000)
    assert (usd, priced) == (0.0, False)
    usd, priced = table.cost("claude-haiku-4-5", input_tokens=1_000_000, output_tokens=1_000_000,
                             cache_read=1_000_000, cache_write=1_000_000)
    assert priced and abs(usd - (1.0 + 5.0 + 0.1 + 1.25)) < 1e-9
