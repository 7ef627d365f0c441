"""Output comparison: it must be able to fail, for each way an output can be wrong."""

import torch

from kernelwright.gpu_evaluator.compare import compare_outputs


def test_equal_within_fp32_tolerance_passes():
    e = torch.randn(64, 64)
    r = compare_outputs(e, e + 5e-5)
    assert r.passed and r.atol == 1e-4 and r.max_abs_error > 0


def test_one_bad_element_fails_with_location():
    e = torch.randn(8, 8)
    a = e.clone()
    a[3, 5] += 1.0
    r = compare_outputs(e, a)
    assert not r.passed and r.worst[1] == [3, 5] and r.worst[4] == 1 and "(3, 5)" in r.message


def test_nan_where_reference_is_finite_fails():
    e = torch.randn(16)
    a = e.clone()
    a[7] = float("nan")  # an unwritten, poisoned element
    assert not compare_outputs(e, a).passed


def test_shape_dtype_count_and_subclass_are_checked():
    e = torch.randn(4, 4)
    assert "shape" in compare_outputs(e, torch.randn(4, 5)).message
    assert "dtype" in compare_outputs(e, e.double()).message
    assert "outputs" in compare_outputs((e, e), (e,)).message

    class Lazy(torch.Tensor):
        pass

    assert "plain torch.Tensor" in compare_outputs(e, e.clone().as_subclass(Lazy)).message


def test_fp16_downcast_fails_fp32_tolerance():
    e = torch.randn(4096) * 4
    assert not compare_outputs(e, e.half().float()).passed


def test_half_outputs_use_loose_tolerance():
    e = torch.randn(128).half()
    assert compare_outputs(e, (e.float() + 1e-3).half()).passed


def test_tuple_outputs_all_compared():
    e = (torch.ones(3), torch.zeros(3))
    assert compare_outputs(e, (torch.ones(3), torch.zeros(3))).passed
    assert not compare_outputs(e, (torch.ones(3), torch.ones(3))).passed
