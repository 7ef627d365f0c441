"""The correctness stage's logic on the CPU, with candidates written as plain Python runners.

The GPU suite runs the real candidates; these tests pin down that each dynamic check can fail:
partial outputs, input overwrites, hard-coded sizes, lazy subclasses — and that an honest runner
passes every trial.
"""

import textwrap

import torch

from kernelwright.common.v1 import verdict_pb2
from kernelwright.gpu_evaluator import harness, pipeline
from kernelwright.gpu_evaluator.runners import CandidateRunner

V = verdict_pb2
TASK = textwrap.dedent("""
    import torch
    class Model(torch.nn.Module):
        def forward(self, x, y):
            return torch.relu(x) * 2.0 + y
    def get_inputs():
        return [torch.randn(16, 32), torch.randn(16, 32)]
    def get_init_inputs():
        return []
""")


class Runner(CandidateRunner):
    kernel_names = ["k"]

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, x, y):
        return self.fn(x, y)


def _run(fn):
    ctx = pipeline.WorkerContext(torch.device("cpu"), None, None)  # hardware/flusher unused here
    task = ctx.task(TASK)
    verdict = V.Verdict()
    outcome = pipeline._correctness(ctx, task, Runner(fn), verdict, harness.trial_specs(5))
    return outcome, verdict


def honest(x, y):
    return torch.clamp_min(x, 0) * 2 + y


def test_honest_runner_passes_every_trial_including_varied_batch():
    outcome, v = _run(honest)
    assert outcome is None
    names = [c.name for c in v.checks]
    assert sum(n.startswith("correctness.trial-") for n in names) == 5
    assert "correctness.shape_varied" in names and "inputs_unmodified" in names
    assert all(c.passed for c in v.checks)


def test_partial_output_is_wrong_answer_with_location():
    def first_row_only(x, y):
        out = torch.full_like(x, float("nan"))
        out[0] = honest(x, y)[0]
        return out

    outcome, v = _run(first_row_only)
    assert outcome == V.VERDICT_OUTCOME_WRONG_ANSWER
    assert v.worst_mismatch.index[0] >= 1 and v.worst_mismatch.mismatched == 15 * 32


def test_overwriting_inputs_is_caught():
    def clobber(x, y):
        out = honest(x, y)
        y.zero_()
        return out

    outcome, v = _run(clobber)
    assert outcome == V.VERDICT_OUTCOME_INPUTS_MODIFIED
    assert any(c.name == "inputs_unmodified" and not c.passed for c in v.checks)


def test_sizes_hard_coded_to_the_task_fail_the_varied_batch_trial():
    def fixed(x, y):
        out = torch.empty(16, 32)
        out.copy_(honest(x[:16], y[:16]))
        return out

    outcome, v = _run(fixed)
    assert outcome == V.VERDICT_OUTCOME_WRONG_ANSWER
    failed = [c.name for c in v.checks if not c.passed]
    assert failed == ["correctness.shape_varied"]


def test_a_runner_tuned_to_one_value_range_fails_another_distribution():
    def positive_inputs_only(x, y):
        return x * 2.0 + y  # relu skipped: right only when x >= 0

    outcome, v = _run(positive_inputs_only)
    assert outcome == V.VERDICT_OUTCOME_WRONG_ANSWER


def test_lazy_subclass_output_is_rejected():
    class Lazy(torch.Tensor):
        pass

    outcome, v = _run(lambda x, y: honest(x, y).as_subclass(Lazy))
    assert outcome == V.VERDICT_OUTCOME_WRONG_ANSWER
    assert "plain torch.Tensor" in next(c.message for c in v.checks if not c.passed)


def test_degenerate_task_is_detected():
    ctx = pipeline.WorkerContext(torch.device("cpu"), None, None)
    constant = TASK.replace("return torch.relu(x) * 2.0 + y", "return torch.zeros_like(x)")
    assert ctx.task(constant).degenerate and not ctx.task(TASK).degenerate


def test_stochastic_task_compares_with_dropout_off():
    ctx = pipeline.WorkerContext(torch.device("cpu"), None, None)
    dropout_task = TASK.replace(
        "class Model(torch.nn.Module):\n    def forward(self, x, y):\n        return torch.relu(x) * 2.0 + y",
        "class Model(torch.nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.drop = torch.nn.Dropout(0.5)\n    def forward(self, x, y):\n        return self.drop(x) + y")
    state = ctx.task(dropout_task)
    assert state.stochastic and not state.model.drop.training


# Two sums of the same large terms that cancel exactly: the fp32 reference's rounding (~0.1 here) is far above
# atol=1e-4 while fp64 gets ~1e-10. Dev level3/24_EfficientNetB2 and level2/14_Gemm_Divide_Sum_Scaling are of this kind.
ILL_CONDITIONED_TASK = textwrap.dedent("""
    import torch
    class Model(torch.nn.Module):
        def forward(self, x):
            y = x * 1000.0
            return y.sum(dim=1) * 3.0 - (y * 3.0).sum(dim=1)
    def get_inputs():
        return [torch.randn(16, 4096)]
    def get_init_inputs():
        return []
""")


class OneInput(CandidateRunner):
    kernel_names = ["k"]

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, x):
        return self.fn(x)


def _run_task(source: str, runner):
    ctx = pipeline.WorkerContext(torch.device("cpu"), None, None)
    task = ctx.task(source)
    verdict = V.Verdict()
    outcome = pipeline._correctness(ctx, task, runner, verdict, harness.trial_specs(5))
    return outcome, verdict, task


def test_a_wrong_answer_on_an_ill_conditioned_task_says_so():
    # The exact answer (zeros) fails against the fp32 reference: the verdict stays WRONG_ANSWER, and says why.
    outcome, v, task = _run_task(ILL_CONDITIONED_TASK, OneInput(lambda x: torch.zeros(x.shape[0])))
    assert outcome == V.VERDICT_OUTCOME_WRONG_ANSWER
    check = next(c for c in v.checks if c.name == "reference.fp64_agreement")
    assert not check.passed and "ill-conditioned" in check.message
    assert V.SUSPICION_FLAG_ILL_CONDITIONED in v.suspicion
    assert task.fp64_agreement is not None and not task.fp64_agreement.passed  # kept for the task's next failures


def test_a_wrong_answer_on_a_well_conditioned_task_is_not_excused():
    outcome, v, task = _run_task(TASK, Runner(lambda x, y: torch.relu(x) * 2.0 + y + 1e-2))
    assert outcome == V.VERDICT_OUTCOME_WRONG_ANSWER
    check = next(c for c in v.checks if c.name == "reference.fp64_agreement")
    assert check.passed and V.SUSPICION_FLAG_ILL_CONDITIONED not in v.suspicion


# A long fp32 dot product: the reference's rounding (a few 1e-3 on answers of ~1e2) misses atol=rtol=1e-4 on
# elements near zero, yet its answer means something (relative RMS error ~1e-6) — dev level1/6 and /16 on the H200.
LONG_SUM_TASK = textwrap.dedent("""
    import torch
    class Model(torch.nn.Module):
        def forward(self, a, b):
            return torch.matmul(a, b)
    def get_inputs():
        return [torch.randn(8, 1 << 18), torch.randn(1 << 18, 8)]
    def get_init_inputs():
        return []
""")


class TwoInputs(CandidateRunner):
    kernel_names = ["k"]

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, a, b):
        return self.fn(a, b)


def _tf32(t: torch.Tensor) -> torch.Tensor:
    """Inputs rounded to TF32's 10-bit mantissa (what a tensor-core TF32 GEMM multiplies)."""
    return (t.contiguous().view(torch.int32) & ~0x1FFF).view(torch.float32)


def _sequential_fp32(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """fp32 products summed in chunks of another order than the reference's: fp32-class, not bit-identical."""
    out = torch.zeros(a.shape[0], b.shape[1])
    for k in range(0, a.shape[1], 1 << 14):
        out += a[:, k:k + (1 << 14)] @ b[k:k + (1 << 14)]
    return out


def test_the_long_sum_reference_itself_misses_fp64():
    # The premise of the tests below (and of dev level1/6): if it ever fails, they test nothing.
    ctx = pipeline.WorkerContext(torch.device("cpu"), None, None)
    task = ctx.task(LONG_SUM_TASK)
    misses = 0
    for spec in harness.trial_specs(5):
        inputs = harness.make_inputs(task.module, spec, torch.device("cpu"))
        expected = harness.run(task.model, harness.clone_inputs(inputs))
        exact = (inputs[0].double() @ inputs[1].double()).float()
        misses += not pipeline.compare_outputs(exact, expected).passed
    assert misses >= 1


def test_an_fp32_kernel_summing_in_another_order_passes_against_fp64():
    outcome, v, _ = _run_task(LONG_SUM_TASK, TwoInputs(_sequential_fp32))
    assert outcome is None, [c.message for c in v.checks if not c.passed]
    rescued = [c for c in v.checks if c.name.startswith("correctness.") and "judged against fp64" in c.message]
    assert rescued and all(c.passed for c in rescued)
    assert V.SUSPICION_FLAG_ILL_CONDITIONED in v.suspicion


def test_the_exact_answer_passes_against_fp64():
    outcome, v, _ = _run_task(LONG_SUM_TASK, TwoInputs(lambda a, b: (a.double() @ b.double()).float()))
    assert outcome is None, [c.message for c in v.checks if not c.passed]


def test_tf32_and_bf16_inputs_are_still_wrong_answers():
    for lossy in (_tf32, lambda t: t.bfloat16().float()):
        outcome, v, _ = _run_task(LONG_SUM_TASK, TwoInputs(lambda a, b, f=lossy: f(a) @ f(b)))
        assert outcome == V.VERDICT_OUTCOME_WRONG_ANSWER
        check = next(c for c in v.checks if c.name == "correctness.against_fp64")
        assert not check.passed and "x the fp32 reference" in check.message


def test_a_small_error_added_to_the_exact_answer_is_caught():
    # 10x the reference's own error scale (a few 1e-3) on every element: over the 4x allowance.
    outcome, v, _ = _run_task(LONG_SUM_TASK, TwoInputs(lambda a, b: (a.double() @ b.double()).float() + 0.05))
    assert outcome == V.VERDICT_OUTCOME_WRONG_ANSWER


def test_a_chaotic_task_gets_no_fp64_allowance():
    # ILL_CONDITIONED_TASK's exact answer is 0 (the reference is all rounding): zeros stay a WRONG_ANSWER.
    outcome, v, _ = _run_task(ILL_CONDITIONED_TASK, OneInput(lambda x: torch.zeros(x.shape[0])))
    assert outcome == V.VERDICT_OUTCOME_WRONG_ANSWER
    check = next(c for c in v.checks if c.name == "correctness.against_fp64")
    assert "zero answer" in check.message or "too ill-conditioned" in check.message


def test_an_integer_output_gets_no_allowance():
    from kernelwright.gpu_evaluator.compare import within_reference_error

    e = torch.arange(6)
    assert not within_reference_error([e], [e + 1], [e.double()]).passed
    x = torch.randn(6)
    assert within_reference_error([x], [x], [x.double()]).passed


def test_parameter_copies_see_a_write_bit_for_bit():
    from kernelwright.gpu_evaluator.runners import ParameterCopies

    model = torch.nn.Linear(4, 3)
    model.bias.data[0] = float("nan")  # NaN is not a change by itself
    copies = ParameterCopies(list(model.named_parameters()))
    assert copies.modified() == ""
    assert copies.tensors["weight"].data_ptr() != model.weight.data_ptr(), "the candidate never gets the originals"
    copies.tensors["weight"][1, 2] = -0.0 if copies.tensors["weight"][1, 2] == 0 else 0.0
    assert copies.modified() == "weight"
    assert torch.equal(model.weight, ParameterCopies(list(model.named_parameters())).tensors["weight"])


class WritesItsWeights(Runner):
    """A candidate that answers correctly, then rewrites the weights it was handed (zeros), as a fast-format
    kernel could through a parameter pointer."""

    def __init__(self, fn):
        super().__init__(fn)
        from kernelwright.gpu_evaluator.runners import ParameterCopies

        self.copies = ParameterCopies([("w", torch.ones(3))])

    def __call__(self, x, y):
        out = super().__call__(x, y)
        self.copies.tensors["w"].zero_()
        return out

    def modified_parameter(self) -> str:
        return self.copies.modified()


def test_a_candidate_that_writes_its_parameters_is_caught():
    outcome, v, _ = _run_task(TASK, WritesItsWeights(lambda x, y: torch.relu(x) * 2.0 + y))
    assert outcome == V.VERDICT_OUTCOME_INPUTS_MODIFIED
    check = next(c for c in v.checks if c.name == "parameters_unmodified")
    assert not check.passed and "'w'" in check.message


def _audit(runner_fn, stale: bool) -> int | None:
    """pipeline._audit_timed_outputs on LONG_SUM_TASK: each kept output is runner_fn of its audit set's
    inputs, or (stale) of the previous set's, as a result reused across calls would be."""
    ctx = pipeline.WorkerContext(torch.device("cpu"), None, None)
    task = ctx.task(LONG_SUM_TASK)
    sets = [harness.make_inputs(task.module, harness.TrialSpec(f"audit-{k}", 600 + k, "task"), torch.device("cpu"))
            for k in range(3)]
    kept = [(k, runner_fn(*sets[k - 1 if stale and k else k])) for k in range(3)]
    if stale:
        kept = kept[1:]
    return pipeline._audit_timed_outputs(task, sets, kept, V.Verdict())


def test_the_timing_audit_judges_an_ill_conditioned_task_against_fp64_too():
    # Dev level2/14 on the H200: every correctness trial passed against fp64 (0.18x the reference's error),
    # then the audit of the timed outputs compared with the fp32 reference alone and called it a cache.
    def exact(a, b):
        return (a.double() @ b.double()).float()

    assert _audit(exact, stale=False) is None
    assert _audit(exact, stale=True) == V.VERDICT_OUTCOME_WRONG_ANSWER


def test_once_the_reference_missed_fp64_an_fp32_kernel_as_good_passes_every_audit():
    # _sequential_fp32 is ~5x closer to fp64 than the reference on every audit set, but on audit set 1 the
    # reference happens to be within tolerance of fp64 and the kernel is not within tolerance of the reference.
    # Judged by the error ratios once the task is known to be ill-conditioned (set 0), it passes there too.
    assert _audit(_sequential_fp32, stale=False) is None
    assert _audit(_sequential_fp32, stale=True) == V.VERDICT_OUTCOME_WRONG_ANSWER


def test_the_ratio_judgement_still_fails_a_wrong_answer_where_the_reference_is_exact():
    from kernelwright.gpu_evaluator.compare import within_reference_error

    x = torch.randn(64, 64)
    exact = x.double() * 2.0
    expected = x * 2.0  # exact in fp32: the reference's error is 0
    actual = expected + 1e-2
    verdict = within_reference_error(expected, actual, exact, known_ill_conditioned=True)
    assert not verdict.passed


def test_a_reference_that_missed_fp64_earlier_is_not_reported_as_agreeing():
    # Level-2/18 on the H200: the reference missed fp64 on trials 1, 3 and 4 (rescued) and was within tolerance on
    # trial 5, where the candidate failed; the check then said "the fp32 reference matches ... fp64".
    from kernelwright.gpu_evaluator.compare import Comparison

    task = pipeline.TaskState(module=None, model=None, init_inputs=[], seed=0,
                              fp64_agreement=Comparison(True, "ok"), reference_missed_fp64=True)
    verdict = V.Verdict()
    pipeline._reference_conditioning(task, None, torch.zeros(1), verdict)
    check = next(c for c in verdict.checks if c.name == "reference.fp64_agreement")
    assert not check.passed and "earlier trial" in check.message
    assert V.SUSPICION_FLAG_ILL_CONDITIONED in verdict.suspicion
