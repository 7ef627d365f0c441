"""The functional graph both lowerings produce and codegen consumes.

A ``FunctionalGraph`` is an ``fx.Graph`` whose placeholders are, in order, the
task's inputs, the named parameters/buffers and a final ``training`` flag,
plus where each parameter comes from in the original module tree so that the
generated wrapper can hand over the very same tensors.
"""

from __future__ import annotations

import dataclasses
import keyword
import re
from collections.abc import Sequence
from typing import Any

import torch.fx as fx


class Unsupported(Exception):
    """This lowering cannot express the construct named in the message."""


@dataclasses.dataclass
class ParamSource:
    name: str          # argument name in module_fn
    fqn: str           # dotted path in the original model ("" for inline constants)
    kind: str          # "parameter" | "buffer"


@dataclasses.dataclass
class FunctionalGraph:
    graph: fx.Graph
    inputs: list[fx.Node]
    params: list[tuple[ParamSource, fx.Node]]
    training: fx.Node | None
    output: Any  # nested tuples/lists/dicts of Nodes/constants
    method: str
    training_captured: bool | None = None  # export path: graph specialised to this mode
    notes: list[str] = dataclasses.field(default_factory=list)


_RESERVED = {"torch", "nn", "F", "math", "operator", "training", "fn", "self", "module_fn"}


def safe_name(text: str) -> str:
    name = re.sub(r"\W+", "_", text).strip("_") or "t"
    if name[0].isdigit():
        name = "t_" + name
    if keyword.iskeyword(name) or name in _RESERVED:
        name = name + "_"
    return name


def param_name(fqn: str) -> str:
    """``layer1.0.conv1.weight`` -> ``layer1_0_conv1_weight``."""
    return safe_name(fqn.replace(".", "_"))


def order_placeholders(graph: fx.Graph, order: list[fx.Node]) -> None:
    """Move placeholders (created lazily while lowering) to the front, in ``order``."""
    first = next((n for n in graph.nodes if n.op != "placeholder"), None)
    if first is None:
        return
    for p in order:
        first.prepend(p)


def drop_dead_pure_nodes(graph: fx.Graph) -> None:
    """Remove unused getitem/getattr nodes (tuple unpacking leftovers); never in-place ops."""
    import operator

    changed = True
    while changed:
        changed = False
        for node in reversed(list(graph.nodes)):
            if node.users or node.op == "output" or node.op == "placeholder":
                continue
            if node.op == "call_function" and node.target in (operator.getitem, getattr):
                graph.erase_node(node)
                changed = True
            elif node.op == "call_method" and node.target in ("size", "dim", "contiguous", "view", "reshape"):
                graph.erase_node(node)
                changed = True


MAX_INLINE_NUMEL = 64


def inline_tensor_constant(graph: fx.Graph, value, origin: str, device_of: fx.Node | None = None) -> fx.Node:
    """Emit ``torch.tensor(<literal>, dtype=..., device=<input>.device)`` for a small tensor the task built in forward.

    Tracing evaluates e.g. ``torch.tensor(self.constant_value)`` once; writing the
    value back as a literal keeps the code self-contained. Tracing runs on the CPU,
    so where the constant was created is lost (SwinV2 builds one with
    ``device=x.device``); placing it on the first tensor input's device is
    equivalent either way: a 0-dim tensor promotes like a scalar on any device,
    and a larger CPU constant mixed with CUDA tensors would have failed in the original.
    """
    import torch

    if value.numel() > MAX_INLINE_NUMEL or value.device.type not in ("cpu",) or value.requires_grad:
        raise Unsupported(f"tensor constant {origin} created inside forward ({list(value.shape)}) cannot be inlined")
    kwargs: dict = {"dtype": value.dtype}
    if device_of is not None:
        kwargs["device"] = graph.call_function(getattr, (device_of, "device"))
    return graph.call_function(torch.tensor, (value.tolist(),), kwargs)


def first_tensor_input(inputs: list[fx.Node], is_tensor: Sequence[bool] | None) -> fx.Node | None:
    """The first placeholder whose example input is a tensor (None when unknown or none is)."""
    if is_tensor is None:
        return None
    return next((node for node, t in zip(inputs, is_tensor) if t), None)
