"""End-to-end conversions through the sandbox child (each starts a fresh Python + torch)."""

from __future__ import annotations

import dataclasses

import pytest
from converter_tasks import (BATCHNORM, CONV_RELU_BIAS, DROPOUT, FORWARD_RAISES, HUGE_IN_FORWARD, HUGE_INPUTS,
                             LSTM, NON_TENSOR_INPUTS, OS_SYSTEM, OS_SYSTEM_SWALLOWED, SLEEPS)

from kernelwright.converter.convert import convert_task, validate_converted
from kernelwright.converter.model import Outcome

pytestmark = pytest.mark.slow


def test_fx_conversion_validates(cpu_options):
    res = convert_task(CONV_RELU_BIAS, cpu_options, task_name="conv_relu_bias")
    assert res.outcome == Outcome.VALIDATED, res.message
    assert res.method == "fx"
    assert res.ops == ["conv2d", "relu", "add", "mul"]
    assert res.parameter_names == ["conv_weight", "conv_bias", "bias"]
    assert [dataclasses.astuple(s) for s in res.inputs] == [([2, 3, 8, 8], "float32")]
    assert len(res.checks) == 2 and all(c.passed for c in res.checks)
    assert {c.distribution for c in res.checks} == {"get_inputs", "get_inputs*4-1"}
    assert res.atol == res.rtol == 1e-4
    assert res.max_abs_error <= 1e-4
    assert res.device == "cpu"


def test_export_fallback_for_lstm(cpu_options):
    res = convert_task(LSTM, cpu_options, task_name="lstm")
    assert res.outcome == Outcome.VALIDATED, res.message
    assert res.method == "export"
    assert "lstm" in res.ops
    # h0 is drawn with torch.randn inside forward: matching needs the shared seed
    assert "randn" in res.ops


def test_training_mode_batchnorm(cpu_options):
    res = convert_task(BATCHNORM, cpu_options, task_name="bn")
    assert res.outcome == Outcome.VALIDATED, res.message
    assert "F.batch_norm(" in res.functional_source and "training=training" in res.functional_source
    assert "bn_running_mean" in res.parameter_names


def test_dropout_matches_under_shared_seed(cpu_options):
    res = convert_task(DROPOUT, cpu_options, task_name="dropout")
    assert res.outcome == Outcome.VALIDATED, res.message
    assert "F.dropout(" in res.functional_source


def test_mismatch_is_detected(cpu_options):
    res = convert_task(CONV_RELU_BIAS, dataclasses.replace(cpu_options, convert_only=True), task_name="c")
    assert res.outcome == Outcome.NOT_VALIDATED
    assert "convert-only" in res.not_validated_reason
    broken = res.functional_source.replace("x * 0.5", "x * 0.51")
    broken = broken.replace("mul = add * 0.5", "mul = add * 0.51")
    assert broken != res.functional_source
    bad = validate_converted(CONV_RELU_BIAS, broken, cpu_options, task_name="c")
    assert bad.outcome == Outcome.MISMATCH, bad.message
    assert not bad.checks[0].passed and bad.max_abs_error > 1e-4
    good = validate_converted(CONV_RELU_BIAS, res.functional_source, cpu_options, task_name="c")
    assert good.outcome == Outcome.VALIDATED, good.message


def test_get_inputs_non_tensors(cpu_options):
    res = convert_task(NON_TENSOR_INPUTS, cpu_options)
    assert res.outcome == Outcome.TASK_ERROR
    assert "get_inputs()" in res.message and "str" in res.message


def test_forward_raising_is_task_error(cpu_options):
    res = convert_task(FORWARD_RAISES, cpu_options)
    assert res.outcome == Outcome.TASK_ERROR, res.message
    assert "Model.forward" in res.message and "boom in forward" in res.message


def test_sleeping_task_times_out(cpu_options):
    res = convert_task(SLEEPS, dataclasses.replace(cpu_options, timeout_s=15.0))
    assert res.outcome == Outcome.TIMEOUT
    assert "timed out after 15 s" in res.message and "got as far as" in res.message


def test_huge_inputs_are_not_validated_without_allocating(cpu_options):
    res = convert_task(HUGE_INPUTS, cpu_options)
    assert res.outcome == Outcome.NOT_VALIDATED, res.message
    assert res.method == "fx"
    assert "inputs and parameters need 200.0 GiB" in res.not_validated_reason
    assert "limit 1.0 GiB" in res.not_validated_reason
    assert res.inputs[0].shape == [50 * 2**30 // 4]


def test_huge_allocation_in_forward_hits_memory_limit(cpu_options):
    res = convert_task(HUGE_IN_FORWARD, cpu_options)
    assert res.outcome == Outcome.MEMORY_LIMIT, res.message
    assert "allocate" in res.message  # fx runs constant factory calls while tracing


def test_os_system_is_forbidden(cpu_options):
    res = convert_task(OS_SYSTEM, cpu_options)
    assert res.outcome == Outcome.FORBIDDEN
    assert res.message == "task called os.system, which is not allowed"


def test_swallowed_forbidden_call_still_counts(cpu_options):
    res = convert_task(OS_SYSTEM_SWALLOWED, cpu_options)
    assert res.outcome == Outcome.FORBIDDEN
    assert "os.system" in res.message


DATA = __import__("pathlib").Path(__file__).resolve().parents[1] / "data" / "kernelbench"


@pytest.mark.parametrize("name,method", [
    ("level1_19_ReLU.py", "fx"),
    ("level2_100_ConvTranspose3d_Clamp_Min_Divide.py", "fx"),
    ("level3_35_LSTM.py", "export"),
])
def test_real_kernelbench_tasks_convert_only(cpu_options, name, method):
    # real sizes are too big for a quick CPU validation: convert on meta only, and say so
    res = convert_task((DATA / name).read_text(), dataclasses.replace(cpu_options, convert_only=True), name)
    assert res.outcome == Outcome.NOT_VALIDATED, res.message
    assert res.method == method
    assert "numeric validation was skipped" in res.not_validated_reason
    assert not res.checks
