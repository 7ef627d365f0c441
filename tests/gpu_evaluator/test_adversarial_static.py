"""The adversarial corpus against the CPU part of the evaluator (no GPU needed).

Every exploit whose expected rejection is a static check must be rejected by exactly that check,
statically; every other candidate (honest ones, and exploits only a GPU run can expose) must pass
the static checks, so their GPU-side rejection is for the specific dynamic reason. The GPU part of
the table is produced by scripts/evaluator_gpu_suite.py --adversarial (see docs/evaluator.md).
"""

import json
from pathlib import Path

import pytest

from kernelwright.gpu_evaluator.candidate_files import load_candidate
from kernelwright.gpu_evaluator.static_checks import static_verdict_checks

ADVERSARIAL = Path(__file__).parent / "adversarial"
EXPECTED = json.loads((ADVERSARIAL / "expected.json").read_text())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_static_part_of_adversarial_table(name):
    meta = EXPECTED[name]
    task = (ADVERSARIAL / meta["task"]).read_text()
    findings = static_verdict_checks(load_candidate(ADVERSARIAL / name), task_source=task,
                                     input_names=["in0", "in1"], param_names=[])
    failed = {f.check for f in findings if not f.passed}
    expected = meta["expected_rejection"]
    if expected and expected.startswith("static."):
        assert expected in failed, f"{name}: expected {expected}, static checks failed {sorted(failed) or 'nothing'}"
        allowed = {expected, *meta.get("also_flagged", [])}
        assert failed <= allowed, f"{name}: unexpected extra rejections {sorted(failed - allowed)}"
    else:
        assert not failed, f"{name} must reach the GPU stages, but static checks failed {sorted(failed)}"


def test_corpus_covers_every_exploit_in_the_issue():
    exploits = " ".join(m["exploit"] for m in EXPECTED.values()).lower()
    for word in ("freed", "input", "stream", "pointer", "fallback", "torch", "never", "thread", "synchronize",
                 "subclass", "row", "half", "hardcoded", "uninitialized", "l2"):
        assert word in exploits or any(word in n for n in EXPECTED), word
    assert sum(1 for m in EXPECTED.values() if m["expected_rejection"] is None) >= 4
