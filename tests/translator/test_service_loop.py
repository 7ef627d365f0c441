"""The attempt loop (``translate.py``) with a stub evaluator: the rules that keep it honest."""

from __future__ import annotations

import pytest

from kernelwright.common.v1 import kernel_pb2, task_pb2, verdict_pb2
from kernelwright.translator.proposers import ProposalRequest, ProposalResult
from kernelwright.translator.translate import (
    TranslationJob,
    declares_unsupported,
    is_verified,
    translate,
    unsupported_ops_from,
)

V = verdict_pb2
TASK = task_pb2.Task(name="t", source="import torch\n")


def cand(tag: str) -> kernel_pb2.KernelCandidate:
    return kernel_pb2.KernelCandidate(format=kernel_pb2.CANDIDATE_FORMAT_FAST, cuda_source=f"// {tag}\n")


class Fixed:
    """Returns the same answer every call."""

    def __init__(self, *candidates: kernel_pb2.KernelCandidate, problems: tuple[str, ...] = ()) -> None:
        self.candidates, self.problems, self.calls = candidates, list(problems), 0

    async def propose(self, request: ProposalRequest) -> ProposalResult:
        self.calls += 1
        return ProposalResult(candidates=[kernel_pb2.KernelCandidate.FromString(c.SerializeToString())
                                          for c in self.candidates], problems=list(self.problems))


def evaluator(outcomes: dict[str, int], *, wrong_id: bool = False):
    """Verdicts by the candidate's tag; ``wrong_id``: claims to be about another candidate."""
    seen: list[str] = []

    async def evaluate(task, candidate):
        tag = candidate.cuda_source.removeprefix("// ").strip()
        seen.append(tag)
        return V.Verdict(candidate_id="someone-else" if wrong_id else candidate.id, outcome=outcomes[tag])

    evaluate.seen = seen
    return evaluate


def job(*proposers, **kw) -> TranslationJob:
    return TranslationJob(task=TASK, program=None, proposers=[(f"p{i}", p) for i, p in enumerate(proposers)], **kw)


@pytest.mark.parametrize("outcome", [o for o in V.VerdictOutcome.values()
                                     if o not in (V.VERDICT_OUTCOME_ACCEPTED, V.VERDICT_OUTCOME_VERIFIED_UNTIMED)])
async def test_only_verified_outcomes_are_a_translation(outcome):
    ev = evaluator({"a": outcome})
    r = await translate(job(Fixed(cand("a"))), ev)
    assert not r.translated and not r.HasField("candidate") and not is_verified(r.attempts[0].verdict)


async def test_a_verdict_about_another_candidate_is_not_trusted():
    r = await translate(job(Fixed(cand("a"))), evaluator({"a": V.VERDICT_OUTCOME_ACCEPTED}, wrong_id=True))
    assert not r.translated


async def test_first_verified_wins_and_later_candidates_are_not_evaluated():
    ev = evaluator({"a": V.VERDICT_OUTCOME_WRONG_ANSWER, "b": V.VERDICT_OUTCOME_VERIFIED_UNTIMED,
                    "c": V.VERDICT_OUTCOME_ACCEPTED})
    r = await translate(job(Fixed(cand("a"), cand("b"), cand("c"))), ev)
    assert r.translated and r.candidate.cuda_source == "// b\n" and ev.seen == ["a", "b"]


async def test_duplicates_within_an_answer_are_evaluated_once():
    ev = evaluator({"a": V.VERDICT_OUTCOME_COMPILE_ERROR})
    p = Fixed(cand("a"), cand("a"))
    r = await translate(job(p, max_rounds=5), ev)
    assert ev.seen == ["a"] and len(r.attempts) == 1 and p.calls == 2   # round 2 only repeated: left


async def test_an_unusable_answer_with_new_problems_is_asked_again_until_the_round_limit():
    class Varying:
        calls = 0

        async def propose(self, request):
            self.calls += 1
            return ProposalResult(problems=[f"parse problem {self.calls}"])

    p = Varying()
    r = await translate(job(p, max_rounds=3, max_attempts=10), evaluator({}))
    assert p.calls == 3 and len(r.attempts) == 3 and not r.translated


def test_unsupported_parsing():
    assert declares_unsupported(["builtin: unsupported: op conv2d is not elementwise-supported"])
    assert not declares_unsupported(["no code block"]) and not declares_unsupported([])
    assert unsupported_ops_from(["x: unsupported: op Tensor.unfold is not supported",
                                 "y: unsupported: op conv2d and op conv2d", "z: unsupported: scalar inputs"]) == [
        "unfold", "conv2d", "scalar inputs"]
