"""Build a task's model and inputs on the meta device (shapes only, no memory, no compute) for tracing.

Some models read tensor values while they are built, e.g. Swin's ``[x.item() for x in torch.linspace(...)]``
stochastic-depth rule. On the meta device that raises. Such a model is built on the CPU instead and
then moved to the meta device. The trace needs shapes only, because parameters and buffers are bound by
name when the candidate runs.
"""

from __future__ import annotations

from typing import Any


def build_on_meta(ns: dict[str, Any]) -> tuple[Any, list[Any]]:
    """(model, inputs) of an exec'd task namespace, every tensor on the meta device."""
    import torch

    def build() -> tuple[Any, list[Any]]:
        init = list(ns["get_init_inputs"]()) if "get_init_inputs" in ns else []
        model = ns["Model"](*init)
        inputs = list(ns["get_inputs"]()) if "get_inputs" in ns else []
        return model, inputs

    try:
        with torch.device("meta"):
            return build()
    except Exception as meta_error:  # noqa: BLE001 - retried on the CPU; the first error is kept if that fails too
        try:
            with torch.device("cpu"):
                model, inputs = build()
        except Exception:  # noqa: BLE001
            raise meta_error from None
    model = model.to("meta")
    inputs = [x.to("meta") if isinstance(x, torch.Tensor) else x for x in inputs]
    return model, inputs
