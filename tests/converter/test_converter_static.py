"""Fast tests that need no sandbox child: static checks, codegen helpers, in-process lowering."""

from __future__ import annotations

import pytest

from kernelwright.converter.model import ConversionResult, Outcome, TaskInvalid
from kernelwright.converter.tasks import check_task_source
from kernelwright.core.tolerances import tolerance_for as tolerances_for

from converter_tasks import BATCHNORM, CONV_RELU_BIAS, LSTM


def test_syntax_error_names_line():
    with pytest.raises(TaskInvalid, match=r"syntax error at line 3"):
        check_task_source("import torch\n\ndef broken(:\n    pass\n")


def test_missing_model():
    src = "def get_inputs():\n    return []\n\ndef get_init_inputs():\n    return []\n"
    with pytest.raises(TaskInvalid, match="`Model`"):
        check_task_source(src)


def test_missing_get_inputs():
    src = "class Model:\n    pass\n\ndef get_init_inputs():\n    return []\n"
    with pytest.raises(TaskInvalid, match="`get_inputs`"):
        check_task_source(src)


def test_model_must_be_class():
    src = "Model = 3\ndef get_inputs():\n    return []\ndef get_init_inputs():\n    return []\n"
    with pytest.raises(TaskInvalid, match="must be a class"):
        check_task_source(src)


def test_tolerances():
    assert tolerances_for("torch.float32") == (1e-4, 1e-4)
    assert tolerances_for("torch.bfloat16") == (1e-2, 1e-2)
    assert tolerances_for("torch.int64") == (0.0, 0.0)


def test_result_to_dict_is_plain():
    d = ConversionResult(outcome=Outcome.VALIDATED, message="", method="fx").to_dict()
    assert d["outcome"] == "validated"


def test_rename_model_class_keeps_attributes_and_comments():
    from kernelwright.converter.codegen import rename_model_class

    src = "class Model(nn.Module):  # Model here\n    def f(self):\n        return self.Model, super(Model, self)\n"
    out = rename_model_class(src, "OriginalModel")
    assert "class OriginalModel(nn.Module):  # Model here" in out
    assert "self.Model" in out and "super(OriginalModel, self)" in out


def _lower_in_process(src: str, method: str):
    import torch

    from kernelwright.converter.codegen import build_converted_file
    from kernelwright.converter.export_lowering import lower_with_export
    from kernelwright.converter.fx_lowering import lower_with_fx
    from kernelwright.converter.tasks import load_module, model_class_node

    mod = load_module(src, "inproc")
    torch.manual_seed(0)
    model = mod.Model(*mod.get_init_inputs())
    inputs = mod.get_inputs()
    is_tensor = [isinstance(t, torch.Tensor) for t in inputs]
    fg = lower_with_fx(model, len(inputs), is_tensor) if method == "fx" else lower_with_export(model, inputs)
    tree = check_task_source(src)
    code, ops = build_converted_file(src, "inproc", fg, "module_fn", model_class_node(tree), model)
    return mod, code, ops


def test_fx_lowering_readable_code_and_ops():
    _, code, ops = _lower_in_process(CONV_RELU_BIAS, "fx")
    assert "def module_fn(" in code
    assert "F.conv2d(x, conv_weight, conv_bias, padding=(1, 1))" in code
    assert "class OriginalModel(nn.Module):" in code and "super(OriginalModel, self)" in code
    assert "def __init__(self, in_channels, out_channels, kernel_size, bias_shape):" in code
    assert ops == ["conv2d", "relu", "add", "mul"]


def test_batchnorm_keeps_training_semantics_in_process():
    import torch

    mod, code, _ = _lower_in_process(BATCHNORM, "fx")
    assert "training=training" in code
    conv = {}
    exec(compile(code, "<converted>", "exec"), conv)
    torch.manual_seed(0)
    ref = mod.Model(5)
    torch.manual_seed(0)
    new = conv["Model"](5)
    x = torch.rand(8, 5)
    torch.testing.assert_close(new(x.clone()), ref(x.clone()))
    # running statistics are updated exactly like the module's
    torch.testing.assert_close(new.bn_running_mean, ref.bn.running_mean)
    assert not torch.equal(new.bn_running_mean, torch.zeros(5))
    ref.eval()
    new.eval()
    torch.testing.assert_close(new(x.clone()), ref(x.clone()))


def test_same_seed_gives_identical_parameters():
    import torch

    mod, code, _ = _lower_in_process(CONV_RELU_BIAS, "fx")
    conv = {}
    exec(compile(code, "<converted>", "exec"), conv)
    torch.manual_seed(3)
    ref = mod.Model(*mod.get_init_inputs())
    torch.manual_seed(3)
    new = conv["Model"](*mod.get_init_inputs())
    assert torch.equal(ref.conv.weight, new.conv_weight)
    assert torch.equal(ref.bias, new.bias)


def test_fx_rejects_lstm_and_export_takes_it():
    from kernelwright.converter.fx_lowering import lower_with_fx
    from kernelwright.converter.graph import Unsupported
    from kernelwright.converter.tasks import load_module

    mod = load_module(LSTM, "lstm")
    with pytest.raises(Unsupported, match="LSTM"):
        lower_with_fx(mod.Model(*mod.get_init_inputs()), 1)
    _, code, ops = _lower_in_process(LSTM, "export")
    assert "torch.ops.aten.lstm" in code and "lstm" in ops
    assert "device=x.device" in code


FORWARD_CONSTANT = '''
import torch
import torch.nn as nn

class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(4))

    def forward(self, n, x):
        return torch.clamp(self.scale * x, max=torch.log(torch.tensor(1. / 0.01, device=x.device))) * n

def get_inputs():
    return [3, torch.randn(2, 4)]

def get_init_inputs():
    return []
'''


@pytest.mark.parametrize("method", ["fx", "export"])
def test_constant_built_in_forward_follows_first_tensor_input_device(method):
    # SwinV2 builds torch.tensor(..., device=x.device) in forward; tracing on the CPU
    # loses the device, so the literal must take it from a tensor input (not from `n`).
    import torch

    mod, code, _ = _lower_in_process(FORWARD_CONSTANT, method)
    assert "device=x.device" in code, code
    assert "device=n.device" not in code
    ns: dict = {}
    exec(compile(code, "converted", "exec"), ns)
    torch.manual_seed(0)
    model = mod.Model()
    x = torch.randn(2, 4) * 10
    converted = ns["Model"](*mod.get_init_inputs())
    converted.load_state_dict(model.state_dict())
    torch.testing.assert_close(converted(3, x), model(3, x))
