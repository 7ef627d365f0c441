from __future__ import annotations

import json

from kernelwright.translator.proposers.parsing import extract_code_blocks, parse_answer

from .helpers import (BAD_PLAN_ANSWER, CUDA, FAST, GOOD_FAST_ANSWER, GOOD_KB_ANSWER, KB, MODEL_NEW, NO_CODE_ANSWER,
                      NO_MODELNEW_ANSWER, PLAN, PLAN_JSON)


def test_extract_labeled_unlabeled_and_tildes():
    text = "intro\n```python\na = 1\n```\nmid\n```\nplain\n```\n~~~cuda\nk\n~~~\n````json\n{}\n````\nend"
    blocks = extract_code_blocks(text)
    assert [(b.lang, b.code) for b in blocks] == [("python", "a = 1\n"), ("", "plain\n"), ("cuda", "k\n"), ("json", "{}\n")]


def test_extract_unclosed_fence_runs_to_end():
    blocks = extract_code_blocks("```python\nclass ModelNew: pass")
    assert len(blocks) == 1 and not blocks[0].closed and "ModelNew" in blocks[0].code


def test_kernelbench_good_with_prose():
    p = parse_answer(GOOD_KB_ANSWER, KB, proposer="x")
    assert p.problems == []
    assert len(p.candidates) == 1
    c = p.candidates[0]
    assert c.format == KB and "class ModelNew" in c.kernelbench_source and c.proposer == "x"


def test_kernelbench_picks_block_with_model_new_among_several():
    text = f"```python\nprint('example')\n```\n\n```\n{MODEL_NEW}```"
    p = parse_answer(text, KB)
    assert p.candidates and "ModelNew" in p.candidates[0].kernelbench_source


def test_kernelbench_problems_never_raise():
    assert parse_answer(NO_CODE_ANSWER, KB).problems == ["no code block in the answer"]
    p = parse_answer(NO_MODELNEW_ANSWER, KB)
    assert not p.candidates and "ModelNew" in p.problems[0]
    p = parse_answer("```python\nclass ModelNew(:\n```", KB)
    assert not p.candidates and "syntax error" in p.problems[0]
    assert parse_answer("", KB).problems and parse_answer(None, KB).problems  # type: ignore[arg-type]


def test_fast_good_parses_plan():
    p = parse_answer(GOOD_FAST_ANSWER, FAST, input_names=["in0"])
    assert p.problems == []
    c = p.candidates[0]
    assert c.format == FAST and "__global__" in c.cuda_source
    assert c.plan.steps[0].launch.kernel == "relu_kernel" and c.plan.allocations[0].is_output


def test_fast_unlabeled_blocks_and_cpp_label():
    text = f"```cpp\n{CUDA}```\n```\n{PLAN_JSON}\n```"
    p = parse_answer(text, FAST)
    assert p.problems == [] and p.candidates


def test_fast_trailing_comma_tolerated():
    text = f"```cuda\n{CUDA}```\n```json\n{PLAN_JSON[:-1]},\n}}\n```"
    assert parse_answer(text, FAST).candidates


def test_fast_problems():
    p = parse_answer(BAD_PLAN_ANSWER, FAST)
    assert not p.candidates and p.problems[0].startswith("plan JSON invalid")
    p = parse_answer(f"```cuda\n{CUDA}```", FAST)
    assert "no launch plan" in p.problems[0]
    p = parse_answer("```cuda\n__global__ void k() {}\n```\n```json\n{}\n```", FAST)
    assert 'extern "C"' in p.problems[0]
    p = parse_answer("```json\n{}\n```", FAST)
    assert "no CUDA code block" in p.problems[0]
    bad_field = json.dumps({"allocations": [], "stepz": []})
    p = parse_answer(f"```cuda\n{CUDA}```\n```json\n{bad_field}\n```", FAST)
    assert "not a LaunchPlan" in p.problems[0]


def test_fast_plan_validated_against_kernels_and_inputs():
    plan = json.loads(PLAN_JSON)
    plan["steps"][0]["launch"]["kernel"] = "nope_kernel"
    p = parse_answer(f"```cuda\n{CUDA}```\n```json\n{json.dumps(plan)}\n```", FAST, input_names=["in0"])
    assert not p.candidates and "unknown kernel" in p.problems[0]
    plan = json.loads(PLAN_JSON)
    plan["steps"][0]["launch"]["args"][0] = {"tensor": "in3"}
    p = parse_answer(f"```cuda\n{CUDA}```\n```json\n{json.dumps(plan)}\n```", FAST, input_names=["in0"])
    assert not p.candidates and "plan invalid" in p.problems[0]


def test_tool_inputs():
    p = parse_answer("", FAST, tool_inputs=[{"cuda_source": CUDA, "plan": PLAN}])
    assert p.problems == [] and p.candidates[0].plan.steps
    p = parse_answer("", FAST, tool_inputs=[{"cuda_source": CUDA, "plan": PLAN_JSON}])  # plan as a string
    assert p.candidates
    p = parse_answer("", KB, tool_inputs=[{"kernelbench_source": MODEL_NEW}])
    assert p.candidates
    p = parse_answer("", KB, tool_inputs=[{"cuda_source": CUDA}])
    assert not p.candidates and "kernelbench_source missing" in p.problems[0]
