"""Numeric comparison of the original task against its converted form.

Protocol per trial (seed s = base_seed + trial):
  manual_seed(s) -> build original;  manual_seed(s) -> build converted
  manual_seed(s) -> get_inputs() on the validation device; odd trials rescale (x*4-1)
  manual_seed(s) -> original(*inputs); manual_seed(s) -> converted(*clone(inputs))
so dropout and random tensors drawn in forward match.  Every output leaf is
compared (shape, dtype, values with dtype-aware tolerances) and the inputs
each model saw must end up equal (same in-place effects, if any).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable

import torch
from torch.utils import _pytree as pytree

from .model import TrialCheck
from .tasks import TaskError
from kernelwright.core.tolerances import tolerance_for as tolerances_for

DISTRIBUTIONS = ("get_inputs", "get_inputs*4-1")


class ConvertedCodeError(Exception):
    """The converted code raised although the original did not."""


@dataclasses.dataclass
class _Comparison:
    passed: bool = True
    max_abs: float = 0.0
    max_rel: float = 0.0
    atol: float = 0.0
    rtol: float = 0.0
    problems: list[str] = dataclasses.field(default_factory=list)


def _compare(ref: Any, got: Any, what: str, cmp: _Comparison) -> None:
    ref_leaves, ref_spec = pytree.tree_flatten(ref)
    got_leaves, got_spec = pytree.tree_flatten(got)
    if ref_spec != got_spec:
        cmp.passed = False
        cmp.problems.append(f"{what}: structure differs ({ref_spec} vs {got_spec})")
        return
    for i, (r, g) in enumerate(zip(ref_leaves, got_leaves)):
        where = f"{what}[{i}]" if len(ref_leaves) > 1 else what
        if isinstance(r, torch.Tensor) != isinstance(g, torch.Tensor):
            cmp.passed = False
            cmp.problems.append(f"{where}: tensor vs {type(g).__name__}")
            continue
        if not isinstance(r, torch.Tensor):
            if r != g and not (isinstance(r, float) and math.isnan(r) and isinstance(g, float) and math.isnan(g)):
                cmp.passed = False
                cmp.problems.append(f"{where}: {r!r} != {g!r}")
            continue
        if r.shape != g.shape:
            cmp.passed = False
            cmp.problems.append(f"{where}: shape {list(g.shape)} != expected {list(r.shape)}")
            continue
        if r.dtype != g.dtype:
            cmp.passed = False
            cmp.problems.append(f"{where}: dtype {g.dtype} != expected {r.dtype}")
            continue
        atol, rtol = tolerances_for(str(r.dtype))
        cmp.atol, cmp.rtol = max(cmp.atol, atol), max(cmp.rtol, rtol)
        if r.numel() == 0:
            continue
        if r.is_floating_point() or r.is_complex():
            ok, max_abs, max_rel, n_bad = _compare_float(r.detach(), g.detach(), atol, rtol)
        else:
            ok = bool(torch.equal(g, r))
            diff = (g.long() - r.long()).abs() if r.dtype != torch.bool else (g != r).long()
            max_abs = float(diff.max())
            max_rel = max_abs
            n_bad = int((g != r).sum())
        cmp.max_abs = max(cmp.max_abs, max_abs) if not math.isnan(max_abs) else float("nan")
        cmp.max_rel = max(cmp.max_rel, max_rel) if not math.isnan(max_rel) else float("nan")
        if not ok:
            cmp.passed = False
            cmp.problems.append(f"{where}: {n_bad} of {r.numel()} elements outside atol={atol:g}, rtol={rtol:g} "
                                f"(max abs err {max_abs:.3g})")


_CHUNK = 1 << 24


def _compare_float(r: torch.Tensor, g: torch.Tensor, atol: float, rtol: float) -> tuple[bool, float, float, int]:
    """allclose-style check with max abs/rel error, in float64, chunk by chunk.

    Chunked so multi-GiB outputs (KernelBench level 1 has 6 GiB tensors) compare without
    multiplying their memory on the GPU.
    """
    rf, gf = r.reshape(-1), g.reshape(-1)
    max_abs = max_rel = 0.0
    n_bad = 0
    for start in range(0, rf.numel(), _CHUNK):
        rc, gc = rf[start:start + _CHUNK], gf[start:start + _CHUNK]
        n_bad += int((~torch.isclose(gc, rc, atol=atol, rtol=rtol, equal_nan=True)).sum())
        if rc.is_complex():
            rd, gd = rc, gc
            both_nan = torch.zeros(rc.shape, dtype=torch.bool, device=rc.device)
        else:
            rd, gd = rc.double(), gc.double()
            both_nan = torch.isnan(rd) & torch.isnan(gd)
        diff = (gd - rd).abs()
        diff = torch.where(both_nan | (gd == rd), torch.zeros_like(diff), diff)  # inf == inf is exact
        max_abs = max(max_abs, float(diff.max()))
        # relative error against |reference|, floored at atol so near-zero references do not
        # produce meaningless huge ratios
        max_rel = max(max_rel, float((diff / rd.abs().clamp_min(max(atol, 1e-12))).max()))
        del rd, gd, diff, both_nan
    return n_bad == 0, max_abs, max_rel, n_bad


def _fingerprints(obj: Any) -> list[tuple[float, float]]:
    """Per-tensor (sum, sum of squares) in float64, chunked: detects in-place changes without a copy."""
    prints = []
    for t in pytree.tree_leaves(obj):
        if isinstance(t, torch.Tensor) and t.numel():
            flat = t.detach().reshape(-1)
            total = squares = 0.0
            for start in range(0, flat.numel(), _CHUNK):
                c = flat[start:start + _CHUNK]
                c = c.double() if not c.is_complex() else c.abs().double()
                total += float(c.nan_to_num(0.0).sum())
                squares += float((c.nan_to_num(0.0) ** 2).sum())
            prints.append((total, squares))
    return prints


def _clone(obj: Any) -> Any:
    return pytree.tree_map(lambda t: t.clone() if isinstance(t, torch.Tensor) else t, obj)


def _to(obj: Any, device: torch.device) -> Any:
    return pytree.tree_map(lambda t: t.to(device) if isinstance(t, torch.Tensor) else t, obj)


def _rescale(inputs: list[Any]) -> list[Any]:
    return [x * 4 - 1 if isinstance(x, torch.Tensor) and x.is_floating_point() else x for x in inputs]


def _user(stage: str, fn: Callable, *args):
    try:
        return fn(*args)
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as exc:
        from kernelwright.core.sandbox import _is_memory_error

        if _is_memory_error(exc):
            raise
        raise TaskError(stage, exc) from exc


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_trial(task_mod, converted_mod, trial: int, seed: int,
              device: torch.device) -> tuple[TrialCheck, float, float]:
    """One trial; returns the check and the (atol, rtol) that applied."""
    distribution = DISTRIBUTIONS[trial % 2]
    torch.manual_seed(seed)
    original = _user("Model.__init__", lambda: task_mod.Model(*task_mod.get_init_inputs()))
    torch.manual_seed(seed)
    try:
        converted = converted_mod.Model(*task_mod.get_init_inputs())
    except Exception as exc:
        raise ConvertedCodeError(f"converted Model(...) raised {type(exc).__name__}: {exc}") from exc
    original.to(device)
    converted.to(device)
    torch.manual_seed(seed)
    # Generated on the validation device directly: KernelBench level-1 inputs reach 8 GiB, which
    # take seconds to draw on the host and copy over.
    with torch.device(device):
        inputs = list(_user("get_inputs()", task_mod.get_inputs))
    if distribution != "get_inputs":
        inputs = _rescale(inputs)
    inputs = _to(inputs, device)
    # The original works on `inputs` itself and the converted model on one copy: two copies, not
    # three. Fingerprints (taken before the forward) tell whether the original mutated its inputs.
    in_orig = inputs
    in_conv = _clone(in_orig)
    before = _fingerprints(in_orig)
    with torch.no_grad():
        torch.manual_seed(seed)
        out_orig = _user("Model.forward", lambda: original(*in_orig))
        _sync(device)
        torch.manual_seed(seed)
        try:
            out_conv = converted(*in_conv)
            _sync(device)
        except Exception as exc:
            from kernelwright.core.sandbox import _is_memory_error

            if _is_memory_error(exc):
                raise
            raise ConvertedCodeError(f"converted forward raised {type(exc).__name__}: {exc}") from exc

    del original, converted
    cmp = _Comparison()
    _compare(out_orig, out_conv, "output", cmp)
    del out_orig, out_conv
    in_cmp = _Comparison()
    _compare(in_orig, in_conv, "input after forward", in_cmp)
    notes = []
    if not in_cmp.passed:
        cmp.passed = False
        cmp.problems += in_cmp.problems
    del in_conv
    if _fingerprints(in_orig) != before:
        notes.append("note: the original forward modifies its inputs in place (the converted one does the same)")
    msg = "; ".join(cmp.problems + notes) if (cmp.problems or notes) else "ok"
    check = TrialCheck(trial=trial, seed=seed, distribution=distribution, passed=cmp.passed,
                       max_abs_error=cmp.max_abs, max_rel_error=cmp.max_rel, message=msg)
    return check, cmp.atol, cmp.rtol
