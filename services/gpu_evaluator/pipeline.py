"""One candidate's evaluation inside a GPU worker, in the order the evaluator promises:

static checks -> build -> correctness trials (fresh seeded inputs, several distributions, a varied
batch, inputs cloned per model and checked afterwards, outputs poisoned, the reference output kept
alive while the candidate runs) -> launch proof (profiler kernel names) -> timing (eager,
torch.compile and the candidate back to back; the candidate alone with baselines=False) ->
re-verification with new inputs -> suspicion.

Every candidate problem becomes a field of the returned Verdict; only evaluator bugs raise.
"""

from __future__ import annotations

import copy
import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from kernelwright.common.v1 import hardware_pb2, kernel_pb2, verdict_pb2
from kernelwright.gpu_evaluator import harness, launch_proof, roofline
from kernelwright.gpu_evaluator.compare import Comparison, as_outputs, compare_outputs, within_reference_error
from kernelwright.gpu_evaluator.runners import BuildFailed, CandidateRunner, KernelBenchRunner, build_runner
from kernelwright.gpu_evaluator.timing import L2Flusher, LazySets, time_forward

V = verdict_pb2
SUSPICIOUS_VS_COMPILE = 10.0
# Measured time may sit a little under the bound from clock noise; below this fraction it is implausible.
ROOFLINE_SLACK = 0.9
# Timed trials of the candidate whose outputs are checked against the reference afterwards, one per
# equal stretch of the trials (timing.time_forward): a reused result on every other call escapes 2**-8.
AUDITED_TRIALS = 8
# Audit sets and kept outputs over this fraction of the GPU's memory are not held all at once: each audit
# set is made when its trial comes and its output is checked right away (level-1 tasks have 6 GiB inputs;
# 8 sets and 8 outputs of them ran the worker out of memory on an H200 next to the compile warmer).
LAZY_AUDIT_FRACTION = 0.2


@dataclass
class EvalOptions:
    correctness_trials: int = 5
    timing_trials: int = 100
    warmup: int = 10
    input_sets: int = 3
    verify_only: bool = False
    profile: bool = False
    compile_baseline: bool = True
    # False: time only the candidate (EvaluateOptions.skip_baselines) — for ranking inside a search.
    baselines: bool = True
    # EvaluateOptions.measurement: n > 0 is a repeat; it changes the verdict cache key, not the evaluation.
    measurement: int = 0
    launcher: str = "cuda-python"
    arch: str = ""
    cache_dir: str = "/tmp/kernelwright-evaluator"


class FatalWorkerError(RuntimeError):
    """The CUDA context is unusable (illegal address, launch failure): the worker must be replaced."""


_FATAL_MARKERS = ("illegal memory access", "unspecified launch failure", "illegal instruction",
                  "misaligned address", "device-side assert", "an illegal", "CUDA_ERROR_ILLEGAL",
                  "CUDA_ERROR_LAUNCH_FAILED", "hardware stack error", "context is destroyed")


def is_fatal(exc: BaseException) -> bool:
    text = f"{type(exc).__name__}: {exc}"
    return any(m.lower() in text.lower() for m in _FATAL_MARKERS)


@dataclass
class TaskState:
    """What a worker keeps per task: the loaded module, reference model, compiled reference."""

    module: Any
    model: torch.nn.Module
    init_inputs: list[Any]
    seed: int
    stochastic: bool = False
    degenerate: bool = False
    compiled: Any = None
    # "<ExceptionType>: <first line>" once torch.compile of the reference failed; later candidates of
    # the task get the same check instead of paying for (and failing) the compilation again.
    compile_failure: str = ""
    flops: int | None = None
    n_inputs: int = 0
    # The fp32 reference against fp64 on one failing trial's inputs (reference_conditioning); None until
    # a candidate first fails correctness on this task.
    fp64_agreement: Comparison | None = None
    model64: Any = None  # the model in fp64, built on the first element-wise miss
    # The fp32 reference missed the tolerance against fp64 on some trial (of any candidate): the task is
    # ill-conditioned, and compare.within_reference_error judges every element-wise miss by error ratios.
    reference_missed_fp64: bool = False


@dataclass
class WorkerContext:
    device: torch.device
    hardware: hardware_pb2.Hardware
    flusher: L2Flusher
    tasks: dict[str, TaskState] = field(default_factory=dict)

    def task(self, source: str) -> TaskState:
        key = hashlib.sha256(source.encode()).hexdigest()
        if key not in self.tasks:
            module = harness.load_task(source)
            init_inputs = list(module.get_init_inputs())
            model = harness.build_model(module.Model, init_inputs, seed=42, device=self.device)
            state = TaskState(module, model, init_inputs, seed=42)
            _probe_task(state, self.device)
            if len(self.tasks) >= 8:  # bounded: a long-lived worker sees many tasks
                self.tasks.pop(next(iter(self.tasks)))
            self.tasks[key] = state
        return self.tasks[key]


def _probe_task(state: TaskState, device: torch.device) -> None:
    """Stochastic? (same inputs, different RNG -> different output) Degenerate? (output ignores inputs)."""
    a = harness.make_inputs(state.module, harness.TrialSpec("probe-a", 11, "task"), device)
    b = harness.make_inputs(state.module, harness.TrialSpec("probe-b", 22, "scaled x4 shifted -1"), device)
    state.n_inputs = len(a)
    torch.manual_seed(1)
    out1 = harness.run(state.model, harness.clone_inputs(a))
    torch.manual_seed(2)
    out2 = harness.run(state.model, harness.clone_inputs(a))
    if not compare_outputs(out1, out2).passed:
        state.stochastic = True
        harness.disable_dropout(state.model)
        out1 = harness.run(state.model, harness.clone_inputs(a))
    out_b = harness.run(state.model, harness.clone_inputs(b))
    same = compare_outputs(out1, out_b).passed
    constant = all(isinstance(t, torch.Tensor) and t.numel() > 1 and bool((t == t.flatten()[0]).all())
                   for t in as_outputs(out1))
    state.degenerate = same or constant


def _check(verdict: V.Verdict, name: str, passed: bool, message: str = "", **extra: Any) -> None:
    verdict.checks.append(V.CheckResult(name=name, passed=passed, message=message, **extra))


def _finish(verdict: V.Verdict, outcome: int, message: str) -> V.Verdict:
    verdict.outcome = outcome
    verdict.message = message
    return verdict


def _poison_free_memory(outputs: list[Any]) -> None:
    """Fill blocks the caching allocator will hand out next with NaN, sized like the outputs.

    With the reference output still alive, a candidate that returns torch.empty(...) without
    writing it gets NaN, not a stale correct answer.
    """
    poison = [torch.full_like(t, float("nan")) for t in outputs if isinstance(t, torch.Tensor)
              and t.is_floating_point() for _ in range(2)]
    del poison


def _correctness(ctx: WorkerContext, task: TaskState, runner: CandidateRunner, verdict: V.Verdict,
                 specs: list[harness.TrialSpec]) -> int | None:
    """Run trials; returns a failing outcome or None when every trial passed."""
    for spec in specs:
        inputs = harness.make_inputs(task.module, spec, ctx.device)
        try:
            torch.manual_seed(spec.seed)
            expected = harness.run(task.model, harness.clone_inputs(inputs))
        except Exception as exc:  # noqa: BLE001
            if spec.vary_batch:
                _check(verdict, "correctness.shape_varied", True,
                       f"skipped: the reference does not accept a varied batch ({type(exc).__name__})")
                continue
            raise
        candidate_inputs = harness.clone_inputs(inputs)
        _poison_free_memory(as_outputs(expected))
        runner.poison_outputs = True
        torch.manual_seed(spec.seed)
        actual = harness.run(runner, candidate_inputs)
        harness.synchronize(ctx.device)
        changed = harness.inputs_unchanged(inputs, candidate_inputs)
        if changed:
            _check(verdict, "inputs_unmodified", False, changed, seed=spec.seed, distribution=spec.distribution)
            return V.VERDICT_OUTCOME_INPUTS_MODIFIED
        written = runner.modified_parameter()
        if written:
            _check(verdict, "parameters_unmodified", False,
                   f"the candidate wrote to its copy of parameter/buffer {written!r}", seed=spec.seed,
                   distribution=spec.distribution)
            return V.VERDICT_OUTCOME_INPUTS_MODIFIED
        result: Comparison = compare_outputs(expected, actual)
        exact = rescue = None
        if not result.passed and result.worst:
            # An element-wise miss: is the reference itself off fp64 here, and the candidate no further off?
            exact = _fp64_outputs(task, inputs, spec)
            if exact is not None:
                rescue = within_reference_error(expected, actual, exact,
                                                known_ill_conditioned=task.reference_missed_fp64)
                task.reference_missed_fp64 |= rescue.passed
        name = "correctness.shape_varied" if spec.vary_batch else f"correctness.{spec.name}"
        passed = result.passed or (rescue is not None and rescue.passed)
        message = result.message if result.passed or not passed else (
            f"ill-conditioned here: the fp32 reference misses the tolerance against fp64 ({result.message}); "
            f"judged against fp64 instead: {rescue.message}")
        _check(verdict, name, passed, message, seed=spec.seed, distribution=spec.distribution,
               max_abs_error=result.max_abs_error, max_rel_error=result.max_rel_error)
        verdict.max_abs_error = max(verdict.max_abs_error, result.max_abs_error)
        verdict.max_rel_error = max(verdict.max_rel_error, result.max_rel_error)
        verdict.atol, verdict.rtol = result.atol, result.rtol
        if passed and not result.passed and V.SUSPICION_FLAG_ILL_CONDITIONED not in verdict.suspicion:
            verdict.suspicion.append(V.SUSPICION_FLAG_ILL_CONDITIONED)
        if not passed:
            if result.worst:
                out, idx, exp, act, bad, numel = result.worst
                verdict.worst_mismatch.CopyFrom(V.Mismatch(output=out, index=idx, expected=exp, actual=act,
                                                           mismatched=bad, numel=numel))
            if result.worst and exact is None:
                exact = _fp64_outputs(task, inputs, spec) if task.fp64_agreement is None else None
            _reference_conditioning(task, exact, expected, verdict)
            if rescue is not None and not rescue.passed:
                _check(verdict, "correctness.against_fp64", False, rescue.message)
            return V.VERDICT_OUTCOME_WRONG_ANSWER
        del expected, actual
    _check(verdict, "inputs_unmodified", True, "every input bit-identical after every trial")
    return None


def _fp64_outputs(task: TaskState, inputs: list[Any], spec: harness.TrialSpec) -> list[Any] | None:
    """The task's model run in fp64 on these inputs (the stand-in for the exact answer); None when some op
    does not run in fp64."""
    try:
        if task.model64 is None:
            task.model64 = copy.deepcopy(task.model).double()
        inputs64 = [x.double() if isinstance(x, torch.Tensor) and x.is_floating_point() else x
                    for x in harness.clone_inputs(inputs)]
        torch.manual_seed(spec.seed)
        with torch.no_grad():
            return as_outputs(task.model64(*inputs64))
    except Exception:  # noqa: BLE001 - fp64 unsupported by some op: nothing is claimed
        task.model64 = None
        return None


def _reference_conditioning(task: TaskState, exact: list[Any] | None, expected: Any, verdict: V.Verdict) -> None:
    """Does the task's fp32 reference itself pass against fp64? Checked once per task, on a failing trial.

    Some tasks amplify rounding, e.g. a train-mode BatchNorm over two values, or a long sum that cancels to
    about 1. For them, the fp32 reference misses the tolerance against the same model run in fp64, and
    only an op-for-op replica of its rounding can match it. Where the candidate is also no closer to fp64
    than ``compare.within_reference_error`` allows, the WRONG_ANSWER stands; the check and the
    ILL_CONDITIONED flag say why it says little.
    """
    if task.fp64_agreement is None:
        if exact is None:
            _check(verdict, "reference.fp64_agreement", True, "not checked: the reference does not run in fp64")
            return
        as64 = [t.to(e.dtype) if isinstance(t, torch.Tensor) and isinstance(e, torch.Tensor) else t
                for t, e in zip(exact, as_outputs(expected), strict=False)]
        # The fp64 result rounded to fp32 stands in for the exact answer; the fp32 reference is judged against it.
        task.fp64_agreement = compare_outputs(as64, as_outputs(expected))
    agreement = task.fp64_agreement
    if agreement.passed and task.reference_missed_fp64:
        # Measured on this failing trial's inputs, where the reference happens to be within tolerance; it missed
        # fp64 on an earlier trial (rescued then), so the task is ill-conditioned all the same.
        _check(verdict, "reference.fp64_agreement", False,
               "the task is ill-conditioned: its own fp32 reference missed the tolerance against fp64 on an earlier "
               "trial (within it on this one)")
    elif agreement.passed:
        _check(verdict, "reference.fp64_agreement", True, "the fp32 reference matches the same model run in fp64")
        return
    else:
        task.reference_missed_fp64 = True
        _check(verdict, "reference.fp64_agreement", False,
               f"the task is ill-conditioned: its own fp32 reference misses the tolerance against fp64 "
               f"({agreement.message})", max_abs_error=agreement.max_abs_error, max_rel_error=agreement.max_rel_error)
    if V.SUSPICION_FLAG_ILL_CONDITIONED not in verdict.suspicion:
        verdict.suspicion.append(V.SUSPICION_FLAG_ILL_CONDITIONED)


def _launch_proof(ctx: WorkerContext, task: TaskState, runner: CandidateRunner, verdict: V.Verdict) -> int | None:
    """Profile one forward (launch_proof.py); a failing outcome, or None when the proof holds."""
    from torch.profiler import ProfilerActivity, profile

    inputs = harness.make_inputs(task.module, harness.TrialSpec("launch", 5, "task"), ctx.device)
    runner.poison_outputs = False
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        harness.run(runner, inputs)
        torch.cuda.synchronize()
    launched = sorted({e.name for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA
                       and not e.name.startswith(("Memcpy", "Memset"))})
    verdict.launched_kernels.extend(launched)
    own, foreign = launch_proof.split_kernels(launched, runner.kernel_names)
    if not own:
        _check(verdict, "launch_proof", False,
               f"none of the candidate's kernels ({', '.join(runner.kernel_names) or 'none declared'}) ran; "
               f"saw: {', '.join(launched[:8]) or 'no kernels'}")
        return V.VERDICT_OUTCOME_NO_KERNEL_LAUNCHED
    _check(verdict, "launch_proof", True, f"launched: {', '.join(own[:5])}")
    if isinstance(runner, KernelBenchRunner):
        if foreign:
            names = sorted({launch_proof.short_name(k) for k in foreign})
            _check(verdict, "launch_proof.foreign_compute", False,
                   f"{len(foreign)} PyTorch/library compute kernel(s) ran besides the candidate's own: "
                   f"{', '.join(names[:5])}")
            return V.VERDICT_OUTCOME_FOREIGN_COMPUTE
        _check(verdict, "launch_proof.foreign_compute", True,
               "no PyTorch or library compute kernels (memory housekeeping only)")
    return None


def _stats(result: Any) -> V.TimingStats:
    return V.TimingStats(median_ms=result.median_ms, iqr_ms=result.iqr_ms, min_ms=result.min_ms,
                         mean_ms=result.mean_ms, trials=len(result.times_ms))


def _time_compile_baseline(task: TaskState, sets: list[list[Any]], kwargs: dict[str, Any],
                           verdict: V.Verdict) -> None:
    """Time torch.compile of the reference; a failure to compile it is the baseline's, not the candidate's.

    Inductor can fail on a reference (e.g. InductorError on some ConvTranspose3d fusions). That is
    recorded as a failed ``baseline.torch_compile`` check with no compile timing, and the verdict goes
    on. Fatal CUDA errors and OOM still propagate: the worker's context is then suspect and must be
    replaced, exactly as when the candidate causes them.
    """
    if not task.compile_failure:
        try:
            if task.compiled is None:
                task.compiled = torch.compile(task.model)
            result = time_forward(task.compiled, sets, **kwargs)
        except torch.cuda.OutOfMemoryError:
            raise
        except Exception as exc:  # noqa: BLE001 - any compiler failure of the reference
            if is_fatal(exc):
                raise
            lines = str(exc).strip().splitlines()
            task.compile_failure = f"{type(exc).__name__}: {lines[0] if lines else ''}"[:500]
            task.compiled = None
        else:
            verdict.timings.compiled.CopyFrom(_stats(result))
            return
    _check(verdict, "baseline.torch_compile", False,
           f"torch.compile of the reference failed ({task.compile_failure}); no compile baseline for this task, "
           "speedup_vs_compile is 0")


def _audit_timed_outputs(task: TaskState, sets: list[list[Any]], kept: list[tuple[int, Any]],
                         verdict: V.Verdict) -> int | None:
    """Outputs of randomly chosen timed trials against the reference on the same inputs.

    Timing hands every call the same input tensors with their contents rewritten in place (time_forward's
    ``refill``), and an audited trial's contents are new to it, so a result cached by input pointer (or
    reused in any other way) is stale there even though every correctness trial (fresh tensors) passed."""
    for k, actual in kept:
        result = _audit_compare(task, sets[k], actual, k)
        if result is not None:
            return _audit_verdict(verdict, result, len(kept))
    return _audit_verdict(verdict, None, len(kept))


def _audit_compare(task: TaskState, inputs: list[Any], actual: Any, k: int) -> Comparison | None:
    """The failed comparison of an audited output, judged as the correctness trials judge: an
    element-wise miss where the fp32 reference itself is off fp64, and the candidate no further off,
    passes (an ill-conditioned task was called "cached" otherwise). None when it passes."""
    expected = harness.run(task.model, harness.clone_inputs(inputs))
    result = compare_outputs(expected, actual)
    if result.passed or not result.worst:
        return None if result.passed else result
    exact = _fp64_outputs(task, inputs, harness.TrialSpec(f"audit-{k}", 600 + k, "task"))
    if exact is not None:
        rescue = within_reference_error(expected, actual, exact, known_ill_conditioned=task.reference_missed_fp64)
        task.reference_missed_fp64 |= rescue.passed
        if rescue.passed:
            return None
    return result


def _audit_verdict(verdict: V.Verdict, miss: Comparison | None, audited: int) -> int | None:
    if miss is not None:
        _check(verdict, "timing.outputs_audited", False,
               f"a timed trial's output is wrong ({miss.message}): a result reused across calls "
               "(cached by input pointer?) instead of computed", max_abs_error=miss.max_abs_error)
        return V.VERDICT_OUTCOME_WRONG_ANSWER
    _check(verdict, "timing.outputs_audited", True,
           f"{audited} randomly chosen timed trials (inputs rewritten in place, contents new at those trials) "
           "match the reference")
    return None


def _audit_is_lazy(one_set: list[Any], device: torch.device) -> bool:
    """Would the audit sets plus as many kept outputs (taken as large as the inputs) fill more than
    LAZY_AUDIT_FRACTION of the GPU's memory?"""
    if device.type != "cuda":
        return False
    total = torch.cuda.get_device_properties(device).total_memory
    return 2 * AUDITED_TRIALS * roofline.tensor_bytes(one_set) > LAZY_AUDIT_FRACTION * total


def _timing(ctx: WorkerContext, task: TaskState, runner: CandidateRunner, verdict: V.Verdict,
            opts: EvalOptions) -> int | None:
    """Time the baselines (unless skipped) and the candidate; a failing outcome if the audit of the
    candidate's timed outputs fails."""
    sets = [harness.make_inputs(task.module, harness.TrialSpec(f"timing-{i}", 500 + i, "task"), ctx.device)
            for i in range(opts.input_sets)]
    runner.poison_outputs = False
    kwargs = dict(trials=opts.timing_trials, warmup=opts.warmup, flusher=ctx.flusher, refill=True)
    if opts.baselines:
        eager = time_forward(task.model, sets, **kwargs)
        verdict.timings.eager.CopyFrom(_stats(eager))
        if opts.compile_baseline:
            _time_compile_baseline(task, sets, kwargs, verdict)
    def audit_set(i: int) -> list[Any]:
        return harness.make_inputs(task.module, harness.TrialSpec(f"audit-{i}", 600 + i, "task"), ctx.device)

    if _audit_is_lazy(sets[0], ctx.device):
        audit_sets = LazySets(AUDITED_TRIALS, audit_set)
        misses: list[Comparison] = []

        def check_now(j: int, actual: Any) -> None:
            result = _audit_compare(task, audit_sets[j], actual, j)
            if result is not None:
                misses.append(result)

        candidate = time_forward(runner, sets, audit_sets=audit_sets, on_audited=check_now, **kwargs)
        failing = _audit_verdict(verdict, misses[0] if misses else None, AUDITED_TRIALS)
    else:
        eager_sets = [audit_set(i) for i in range(AUDITED_TRIALS)]
        candidate = time_forward(runner, sets, audit_sets=eager_sets, **kwargs)
        failing = _audit_timed_outputs(task, eager_sets, candidate.kept, verdict)
    if failing is not None:
        return failing
    verdict.timings.candidate.CopyFrom(_stats(candidate))
    if task.flops is None:
        task.flops = roofline.count_flops(task.model, sets[0])
    expected = harness.run(task.model, harness.clone_inputs(sets[0]))
    nbytes = roofline.tensor_bytes(sets[0]) + roofline.tensor_bytes(as_outputs(expected)) + sum(
        p.numel() * p.element_size() for p in task.model.parameters())
    verdict.timings.roofline_bound_ms = roofline.bound_ms(ctx.hardware.gpu_name, nbytes, task.flops)
    return None


def static_findings(task: TaskState, task_source: str, candidate: kernel_pb2.KernelCandidate,
                    prepared_static: dict[str, Any] | None = None) -> list[Any]:
    """The static checks' findings, with plan names checked against the task's inputs and parameters.

    ``prepared_static``: findings the pool computed ahead (prepare.py); used only when they were
    computed with these same names, so the result is the same either way."""
    from kernelwright.gpu_evaluator.prepare import reuse_prepared_findings
    from kernelwright.gpu_evaluator.static_checks import static_verdict_checks

    input_names = [f"in{i}" for i in range(task.n_inputs)]
    params = [n.replace(".", "_") for n, _ in [*task.model.named_parameters(), *task.model.named_buffers()]]
    reused = reuse_prepared_findings(prepared_static, candidate, input_names, params)
    if reused is not None:
        return reused
    return static_verdict_checks(candidate, task_source=task_source, input_names=input_names, param_names=params)


def evaluate(ctx: WorkerContext, task_source: str, candidate: kernel_pb2.KernelCandidate,
             opts: EvalOptions, prepared_static: dict[str, Any] | None = None) -> V.Verdict:
    verdict = V.Verdict(candidate_id=candidate.id)
    verdict.hardware.CopyFrom(ctx.hardware)
    phases = verdict.phase_seconds
    t = time.perf_counter()

    # The task is loaded first (cached per task) so plan names can be checked against its inputs
    # and parameters; the checks themselves never run candidate code.
    task = ctx.task(task_source)
    findings = static_findings(task, task_source, candidate, prepared_static)
    for f in findings:
        _check(verdict, f.check, f.passed, f.message)
    phases["static"] = time.perf_counter() - t
    failed = [f for f in findings if not f.passed]
    if failed:
        return _finish(verdict, V.VERDICT_OUTCOME_REJECTED_STATIC, f"{failed[0].check}: {failed[0].message}")

    t = time.perf_counter()
    if task.degenerate:
        verdict.suspicion.append(V.SUSPICION_FLAG_DEGENERATE_TASK)
    try:
        runner = build_runner(candidate, task, ctx.device, opts, Path(opts.cache_dir))
    except BuildFailed as exc:
        verdict.log = exc.log
        phases["build"] = time.perf_counter() - t
        return _finish(verdict, exc.outcome, exc.message)
    verdict.compiled = True
    verdict.resources.extend(runner.resources())
    phases["build"] = time.perf_counter() - t

    t = time.perf_counter()
    specs = harness.trial_specs(max(5, opts.correctness_trials))
    failing = _correctness(ctx, task, runner, verdict, specs)
    phases["verify"] = time.perf_counter() - t
    if failing is not None:
        message = next(c.message for c in verdict.checks if not c.passed)
        if V.SUSPICION_FLAG_ILL_CONDITIONED in verdict.suspicion:
            message += "; the task is ill-conditioned (check reference.fp64_agreement)"
        return _finish(verdict, failing, message)
    verdict.correct = True
    if task.stochastic:
        _check(verdict, "stochastic_task", True,
               "the reference is stochastic (dropout); compared with dropout in eval mode in both models")
    failed_proof = _launch_proof(ctx, task, runner, verdict)
    if failed_proof is not None:
        verdict.correct = False
        return _finish(verdict, failed_proof, f"{verdict.checks[-1].name}: {verdict.checks[-1].message}")

    if opts.verify_only:
        return _finish(verdict, V.VERDICT_OUTCOME_VERIFIED_UNTIMED, "correct; timing not requested")

    t = time.perf_counter()
    failing = _timing(ctx, task, runner, verdict, opts)
    phases["time"] = time.perf_counter() - t
    if failing is not None:
        verdict.correct = False
        verdict.suspicion.append(V.SUSPICION_FLAG_REVERIFY_FAILED)
        return _finish(verdict, failing, next(c.message for c in verdict.checks if not c.passed))

    t = time.perf_counter()
    reverify = [harness.TrialSpec("reverify", 900_001, "normal x2")]
    failing = _correctness(ctx, task, runner, verdict, reverify)
    phases["reverify"] = time.perf_counter() - t
    if failing is not None:
        verdict.correct = False
        verdict.suspicion.append(V.SUSPICION_FLAG_REVERIFY_FAILED)
        return _finish(verdict, failing, "failed re-verification after timing: "
                       + next(c.message for c in verdict.checks if not c.passed))

    tm = verdict.timings
    cand = tm.candidate.median_ms
    suspicious = []
    if tm.roofline_bound_ms and cand < ROOFLINE_SLACK * tm.roofline_bound_ms:
        suspicious.append(V.SUSPICION_FLAG_BEATS_ROOFLINE)
    if tm.compiled.median_ms and tm.compiled.median_ms / cand > SUSPICIOUS_VS_COMPILE:
        # Re-verified once more with extra trials before it may count.
        extra = [harness.TrialSpec(f"extra-{i}", 777_000 + i, harness.DISTRIBUTIONS[i % 4]) for i in range(5)]
        if _correctness(ctx, task, runner, verdict, extra) is not None:
            verdict.correct = False
            verdict.suspicion.append(V.SUSPICION_FLAG_REVERIFY_FAILED)
            return _finish(verdict, V.VERDICT_OUTCOME_WRONG_ANSWER, "failed the extra re-verification of a "
                           ">10x-vs-compile candidate")
        verdict.suspicion.append(V.SUSPICION_FLAG_TEN_X_COMPILE)
    verdict.suspicion.extend(suspicious)
    if suspicious:
        return _finish(verdict, V.VERDICT_OUTCOME_SUSPICIOUS,
                       f"{cand:.4f} ms is under the roofline bound {tm.roofline_bound_ms:.4f} ms for this task's "
                       "bytes and FLOPs: not reported as a speedup")
    if tm.eager.median_ms:
        tm.speedup_vs_eager = tm.eager.median_ms / cand
    if tm.compiled.median_ms:
        tm.speedup_vs_compile = tm.compiled.median_ms / cand
    if opts.profile:
        from kernelwright.gpu_evaluator.profiling import torch_profile

        verdict.profile.CopyFrom(torch_profile(runner, task, ctx.device))
    if not opts.baselines:
        return _finish(verdict, V.VERDICT_OUTCOME_ACCEPTED,
                       f"correct; {cand:.4f} ms (candidate only: baselines not timed, no speedups)")
    return _finish(verdict, V.VERDICT_OUTCOME_ACCEPTED,
                   f"correct; {cand:.4f} ms, {tm.speedup_vs_eager:.2f}x vs eager"
                   + (f", {tm.speedup_vs_compile:.2f}x vs torch.compile" if tm.speedup_vs_compile else ""))
