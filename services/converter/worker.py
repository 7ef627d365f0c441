"""The part of a conversion that runs inside the sandbox child.

Order matters for honesty and safety: sizes are estimated on the meta device
before anything real is allocated, conversion works on meta tensors, the
generated code is smoke-tested on meta, and only then (if the estimate fits
the budget) are real tensors created for the numeric trials.
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Any

import torch
from torch.utils import _pytree as pytree

from kernelwright.core.sandbox import _is_memory_error, limit_address_space, report_progress

from .codegen import build_converted_file
from .export_lowering import lower_with_export
from .fx_lowering import lower_with_fx
from .graph import Unsupported
from .model import ConversionResult, ConvertOptions, Outcome, TensorSpec
from .tasks import TaskError, check_task_source, load_module, model_class_node
from .validate import ConvertedCodeError, run_trial

FUNCTION_NAME = "module_fn"
_GIB = 2**30


def _fmt_bytes(n: float) -> str:
    return f"{n / _GIB:.1f} GiB" if n >= 0.1 * _GIB else f"{n / 2**20:.1f} MiB"


def _call_user(stage: str, fn, *args):
    try:
        return fn(*args)
    except Exception as exc:
        if _is_memory_error(exc):
            raise
        raise TaskError(stage, exc) from exc


def _tensor_bytes(objs) -> int:
    total = 0
    for t in pytree.tree_leaves(objs):
        if isinstance(t, torch.Tensor):
            total += t.numel() * t.element_size()
    return total


def _check_inputs(inputs: Any) -> list[Any]:
    if not isinstance(inputs, (list, tuple)):
        raise TaskError("get_inputs()", TypeError(
            f"get_inputs() must return a list of tensors, got {type(inputs).__name__}"))
    for i, x in enumerate(inputs):
        if not isinstance(x, (torch.Tensor, int, float, bool)):
            raise TaskError("get_inputs()", TypeError(
                f"get_inputs() element {i} is a {type(x).__name__}; expected a tensor (or a number)"))
    if not any(isinstance(x, torch.Tensor) for x in inputs):
        raise TaskError("get_inputs()", TypeError("get_inputs() returned no tensors"))
    return list(inputs)


def _specs(inputs: list[Any]) -> list[TensorSpec]:
    out = []
    for x in inputs:
        if isinstance(x, torch.Tensor):
            out.append(TensorSpec(shape=list(x.shape), dtype=str(x.dtype).replace("torch.", "")))
        else:
            out.append(TensorSpec(shape=[], dtype=type(x).__name__))
    return out


def _meta_smoke_test(task_mod, converted_src: str, task_name: str, init_inputs_fn, meta_inputs,
                     sizes: dict) -> str:
    """Run original and converted on meta tensors; '' if fine, else the problem.

    Also records the output size in ``sizes["output_bytes"]`` for the memory estimate.

    Catches codegen mistakes (bad names, wrong signatures, shape errors) without
    allocating; ops without meta kernels make the test inconclusive, not failed.
    """
    try:
        conv_mod = load_module(converted_src, f"{task_name}_converted_meta")
        with torch.device("meta"):
            torch.manual_seed(0)
            ref = task_mod.Model(*init_inputs_fn())
            torch.manual_seed(0)
            conv = conv_mod.Model(*init_inputs_fn())
            with torch.no_grad():
                out_ref = ref(*[x.clone() if isinstance(x, torch.Tensor) else x for x in meta_inputs])
                out = conv(*[x.clone() if isinstance(x, torch.Tensor) else x for x in meta_inputs])
    except NotImplementedError:
        return ""
    except Exception as exc:
        text = str(exc)
        if "meta" in text.lower() and ("not implemented" in text.lower() or "data-dependent" in text.lower()
                                       or "item()" in text or "cannot copy out of meta" in text.lower()):
            return ""
        return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"
    sizes["output_bytes"] = _tensor_bytes(out_ref)
    ref_leaves, ref_spec = pytree.tree_flatten(out_ref)
    leaves, spec = pytree.tree_flatten(out)
    if ref_spec != spec:
        return f"output structure differs on meta: {spec} vs {ref_spec}"
    for r, g in zip(ref_leaves, leaves):
        if isinstance(r, torch.Tensor) and isinstance(g, torch.Tensor):
            if r.shape != g.shape or r.dtype != g.dtype:
                return f"output {list(g.shape)}/{g.dtype} != expected {list(r.shape)}/{r.dtype} on meta"
    return ""


def _convert(task_mod, source: str, task_name: str, model, meta_inputs, notes: list[str], sizes: dict,
             real_model_fn=None):
    """Try fx, then export; returns (method, converted source, fg, ops)."""
    tree = check_task_source(source, task_name)
    cls_node = model_class_node(tree)
    errors = []
    for method in ("fx", "export"):
        try:
            used_model = model
            if method == "fx":
                fg = lower_with_fx(model, len(meta_inputs), [isinstance(t, torch.Tensor) for t in meta_inputs])
            else:
                try:
                    fg = lower_with_export(model, meta_inputs)
                except Unsupported as exc:
                    if "device" not in str(exc).lower() or real_model_fn is None:
                        raise
                    # forward mixes in CPU tensors it creates itself: capture with a
                    # real CPU model (export still propagates fake tensors, no compute)
                    used_model, real_inputs = real_model_fn()
                    fg = lower_with_export(used_model, real_inputs)
            src, ops = build_converted_file(source, task_name, fg, FUNCTION_NAME, cls_node, used_model)
            compile(src, f"<{task_name}_converted>", "exec")
        except Unsupported as exc:
            errors.append(f"{method}: {exc}")
            continue
        problem = _meta_smoke_test(task_mod, src, task_name, task_mod.get_init_inputs, meta_inputs, sizes)
        if problem:
            errors.append(f"{method}: generated code failed a meta-device run: {problem}")
            continue
        if errors:
            notes.append("fx could not convert it (" + errors[0].split(": ", 1)[1] + "); used torch.export")
        return method, src, fg, ops
    raise Unsupported("; ".join(errors))


def convert_in_child(source: str, options: ConvertOptions, task_name: str) -> ConversionResult:
    result = ConversionResult(outcome=Outcome.NOT_VALIDATED, message="", method="",
                              function_name=FUNCTION_NAME)
    t0 = time.monotonic()
    try:
        _run(source, options, task_name, result)
    except TaskError as exc:
        result.outcome = Outcome.TASK_ERROR
        result.message = str(exc)
    except Unsupported as exc:
        result.outcome = Outcome.UNSUPPORTED
        result.message = str(exc)
    except Exception as exc:
        if _is_memory_error(exc):
            result.outcome = Outcome.MEMORY_LIMIT
            result.message = f"memory limit hit: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        else:
            raise
    if result.outcome != Outcome.VALIDATED and not result.not_validated_reason:
        result.not_validated_reason = result.message
    result.duration_s = time.monotonic() - t0
    return result


class _quiet_torch_logs:
    """export logs whole graphs at WARNING when it meets data-dependent code; that is expected here."""

    def __enter__(self):
        import logging

        self._logger = logging.getLogger("torch")
        self._level = self._logger.level
        self._logger.setLevel(logging.ERROR)

    def __exit__(self, *exc):
        self._logger.setLevel(self._level)
        return False


def _run_original_once(task_mod, seed: int) -> None:
    torch.manual_seed(seed)
    model = _call_user("Model.__init__", lambda: task_mod.Model(*task_mod.get_init_inputs()))
    torch.manual_seed(seed)
    inputs = _check_inputs(_call_user("get_inputs()", task_mod.get_inputs))
    with torch.no_grad():
        _call_user("Model.forward", lambda: model(*inputs))


def validate_in_child(source: str, converted_source: str, options: ConvertOptions,
                      task_name: str) -> ConversionResult:
    """Numeric trials of an already converted source against the task."""
    result = ConversionResult(outcome=Outcome.NOT_VALIDATED, message="", method="",
                              functional_source=converted_source, function_name=FUNCTION_NAME)
    try:
        device = _resolve_device(options.device)
        result.device = str(device)
        if device.type == "cpu":
            limit_address_space(options.memory_limit_bytes)
        task_mod = _call_user("module top level", load_module, source, task_name)
        try:
            conv_mod = load_module(converted_source, f"{task_name}_converted")
        except Exception as exc:
            result.outcome = Outcome.MISMATCH
            result.message = f"converted source does not load: {type(exc).__name__}: {exc}"
            return result
        _trials(task_mod, conv_mod, options, device, result, "")
    except TaskError as exc:
        result.outcome = Outcome.TASK_ERROR
        result.message = str(exc)
    except Unsupported as exc:
        result.outcome = Outcome.UNSUPPORTED
        result.message = str(exc)
    if result.outcome != Outcome.VALIDATED and not result.not_validated_reason:
        result.not_validated_reason = result.message
    return result


def _resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise Unsupported("device 'cuda' requested but CUDA is not available")
    return dev


def _run(source: str, options: ConvertOptions, task_name: str, result: ConversionResult) -> None:
    device = _resolve_device(options.device)
    result.device = str(device)
    if device.type == "cpu":
        limit_address_space(options.memory_limit_bytes)

    report_progress("loading the task module")
    task_mod = _call_user("module top level", load_module, source, task_name)

    # sizes first, on meta, so nothing big is allocated before we know it fits
    report_progress("estimating sizes on the meta device")
    meta_ok = True
    try:
        with torch.device("meta"):
            meta_inputs = task_mod.get_inputs()
            meta_inputs = _check_inputs(meta_inputs)
            torch.manual_seed(options.base_seed)
            meta_model = task_mod.Model(*task_mod.get_init_inputs())
    except TaskError:
        raise
    except Exception:
        # code that cannot run on meta (e.g. .item() on a weight): real tensors later
        meta_ok = False
    if not meta_ok:
        # the same calls for real: a genuine task bug surfaces here with its stage
        inputs_real = _check_inputs(_call_user("get_inputs()", task_mod.get_inputs))
        param_est = None
        meta_inputs = [x.to("meta") if isinstance(x, torch.Tensor) else x for x in inputs_real]
        input_bytes = _tensor_bytes(inputs_real)
        torch.manual_seed(options.base_seed)
        meta_model = _call_user("Model.__init__", lambda: task_mod.Model(*task_mod.get_init_inputs()))
        del inputs_real
    else:
        input_bytes = _tensor_bytes(meta_inputs)
    param_bytes = _tensor_bytes(list(meta_model.parameters()) + list(meta_model.buffers()))
    param_est = param_bytes
    result.inputs = _specs(meta_inputs)
    if not callable(getattr(meta_model, "forward", None)):
        raise TaskError("Model", TypeError("Model has no forward"))

    def real_model_fn():
        if 2 * param_bytes + 3 * input_bytes > options.max_tensor_bytes:
            raise Unsupported("export on meta tensors failed and real tensors would exceed the memory budget")
        torch.manual_seed(options.base_seed)
        real = _call_user("Model.__init__", lambda: task_mod.Model(*task_mod.get_init_inputs()))
        torch.manual_seed(options.base_seed)
        return real, _check_inputs(_call_user("get_inputs()", task_mod.get_inputs))

    report_progress("converting (fx, then export)", result)
    notes: list[str] = []
    sizes: dict = {}
    try:
        with warnings.catch_warnings(), _quiet_torch_logs():
            warnings.simplefilter("ignore")
            method, src, fg, ops = _convert(task_mod, source, task_name, meta_model, meta_inputs, notes, sizes,
                                            real_model_fn=real_model_fn)
    except Unsupported:
        # a forward that raises for real is the task's bug, not a conversion gap
        if 2 * param_bytes + 3 * input_bytes <= options.max_tensor_bytes:
            report_progress("conversion failed; checking whether the task's own forward raises", result)
            _run_original_once(task_mod, options.base_seed)
        raise
    result.method = method
    result.functional_source = src
    result.parameter_names = [s.name for s, _ in fg.params]
    result.ops = ops
    note = ("; ".join(notes) + ". ") if notes else ""

    if options.convert_only:
        result.outcome = Outcome.NOT_VALIDATED
        result.not_validated_reason = "convert-only run: numeric validation was skipped (meta-device shape check passed)"
        result.message = note + result.not_validated_reason
        return

    # live at once during a trial: the inputs and one copy, both models, both outputs
    # (intermediate activations come on top and are not known)
    output_bytes = sizes.get("output_bytes", 0)
    need = 2 * param_est + 2 * input_bytes + 2 * output_bytes
    if need > options.max_tensor_bytes:
        result.outcome = Outcome.NOT_VALIDATED
        result.not_validated_reason = (
            f"inputs and parameters need {_fmt_bytes(need)} (inputs {_fmt_bytes(input_bytes)} x2 copies, "
            f"parameters+buffers {_fmt_bytes(param_est)} x2 models, outputs {_fmt_bytes(output_bytes)} x2), "
            f"limit {_fmt_bytes(options.max_tensor_bytes)}")
        result.message = note + result.not_validated_reason
        return

    report_progress("loading the converted module", result)
    conv_mod = load_module(src, f"{task_name}_converted")
    _trials(task_mod, conv_mod, options, device, result, note)


def _trials(task_mod, conv_mod, options: ConvertOptions, device: torch.device, result: ConversionResult,
            note: str) -> None:
    max_abs = max_rel = 0.0
    for trial in range(options.trials):
        seed = options.base_seed + trial
        report_progress(f"trial {trial + 1}/{options.trials} (seed {seed}) on {device}", result)
        try:
            check, atol, rtol = run_trial(task_mod, conv_mod, trial, seed, device)
        except ConvertedCodeError as exc:
            result.outcome = Outcome.MISMATCH
            result.message = note + f"trial {trial} (seed {seed}): {exc}"
            return
        result.checks.append(check)
        result.atol, result.rtol = max(result.atol, atol), max(result.rtol, rtol)
        max_abs = max(max_abs, check.max_abs_error) if not math.isnan(check.max_abs_error) else float("nan")
        max_rel = max(max_rel, check.max_rel_error) if not math.isnan(check.max_rel_error) else float("nan")
        result.max_abs_error, result.max_rel_error = max_abs, max_rel
        if not check.passed:
            result.outcome = Outcome.MISMATCH
            result.message = note + f"trial {trial} (seed {seed}, {check.distribution}): {check.message}"
            return
    if options.trials == 0:
        result.outcome = Outcome.NOT_VALIDATED
        result.not_validated_reason = "trials=0: no numeric checks were requested"
        result.message = note + result.not_validated_reason
        return
    result.outcome = Outcome.VALIDATED
    result.message = note + (f"{options.trials} trials passed on {device} "
                             f"(max abs err {max_abs:.3g}, max rel err {max_rel:.3g})")


__all__ = ["convert_in_child", "validate_in_child"]
