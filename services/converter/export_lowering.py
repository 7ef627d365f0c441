"""Fallback: ``torch.export`` (non-strict) to an ATen graph.

Used when fx cannot trace (data-dependent Python, RNNs, nn.MultiheadAttention,
...).  Lifted parameters/buffers become named arguments; the graph is
specialised to the example input shapes and to the mode the model was in
(training), which the generated function states and enforces.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.fx as fx
import torch.nn as nn
from torch.export.graph_signature import InputKind, OutputKind
from torch.utils import _pytree as pytree

from .fx_lowering import forward_input_names
from .graph import (FunctionalGraph, ParamSource, Unsupported, drop_dead_pure_nodes, inline_tensor_constant, first_tensor_input,
                    order_placeholders, param_name)

# runtime assertions export inserts about example metadata (device, dtype);
# they would pin the graph to the meta device it was captured on
_DROP_TARGETS = {"_assert_tensor_metadata", "_assert_scalar", "sym_constrain_range_for_size",
                 "_assert_async"}


def _is_droppable(node: fx.Node) -> bool:
    if node.op == "call_module":
        return node.target == "_guards_fn"
    if node.op != "call_function":
        return False
    t = node.target
    name = getattr(getattr(t, "_overloadpacket", None), "__name__", "") or getattr(t, "__name__", "")
    return name in _DROP_TARGETS


def lower_with_export(model: nn.Module, example_inputs: list[Any]) -> FunctionalGraph:
    names = forward_input_names(model, len(example_inputs))
    try:
        ep = torch.export.export(model, tuple(example_inputs), strict=False)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise Unsupported(f"torch.export failed: {type(exc).__name__}: {first}") from exc

    sig = ep.graph_signature
    g = fx.Graph()
    env: dict[fx.Node, Any] = {}
    inputs: list[fx.Node] = []
    params: list[tuple[ParamSource, fx.Node]] = []
    spec_by_name = {s.arg.name: s for s in sig.input_specs if hasattr(s.arg, "name")}
    named_params = dict(model.named_parameters(remove_duplicate=False))
    named_buffers = dict(model.named_buffers(remove_duplicate=False))
    constants: list[tuple[fx.Node, torch.Tensor, str]] = []

    # user inputs first, so the signature starts with the task's inputs
    for node in ep.graph.nodes:
        if node.op != "placeholder":
            continue
        spec = spec_by_name.get(node.name)
        if spec is not None and spec.kind == InputKind.USER_INPUT:
            p = g.placeholder(names[len(inputs)] if len(inputs) < len(names) else node.name)
            inputs.append(p)
            env[node] = p
    for node in ep.graph.nodes:
        if node.op != "placeholder" or node in env:
            continue
        spec = spec_by_name.get(node.name)
        if spec is None:
            raise Unsupported(f"export placeholder {node.name} has no signature entry")
        if spec.kind in (InputKind.PARAMETER, InputKind.BUFFER):
            kind = "parameter" if spec.kind == InputKind.PARAMETER else "buffer"
            if spec.target not in named_params and spec.target not in named_buffers:
                raise Unsupported(f"lifted {kind} {spec.target} not found on the model")
        elif spec.kind == InputKind.CONSTANT_TENSOR:
            kind = "buffer"
            try:
                obj: Any = model
                for part in spec.target.split("."):
                    obj = getattr(obj, part)
                if not isinstance(obj, torch.Tensor):
                    raise AttributeError
            except AttributeError:
                # built inside forward (torch.tensor(0.5)): small ones become literals
                value = ep.constants.get(spec.target)
                if not isinstance(value, torch.Tensor):
                    raise Unsupported(f"export lifted a constant ({spec.target}) created inside forward") from None
                constants.append((node, value, spec.target))
                continue
        else:
            raise Unsupported(f"export input of kind {spec.kind.name} ({node.name})")
        p = g.placeholder(param_name(spec.target))
        params.append((ParamSource(p.name, spec.target, kind), p))
        env[node] = p
    training = g.placeholder("training")
    for node, value, origin in constants:
        env[node] = inline_tensor_constant(g, value, origin, first_tensor_input(inputs, [isinstance(t, torch.Tensor) for t in example_inputs]))

    output: Any = None
    for node in ep.graph.nodes:
        if node.op == "placeholder":
            continue
        if _is_droppable(node):
            continue
        if node.op == "output":
            outs = node.args[0]
            user_outs = []
            for spec, val in zip(sig.output_specs, outs):
                v = fx.node.map_arg(val, lambda n: env[n]) if isinstance(val, fx.Node) else val
                if spec.kind == OutputKind.USER_OUTPUT:
                    user_outs.append(v)
                elif spec.kind in (OutputKind.BUFFER_MUTATION, OutputKind.USER_INPUT_MUTATION):
                    # functionalised in-place update: write it back like the module did
                    target_node = next(p for s, p in params if s.fqn == spec.target) \
                        if spec.kind == OutputKind.BUFFER_MUTATION else \
                        inputs[[s.arg.name for s in sig.input_specs if s.kind == InputKind.USER_INPUT].index(spec.target)]
                    g.call_method("copy_", (target_node, v))
                else:
                    raise Unsupported(f"export output of kind {spec.kind.name}")
            out_spec = ep.call_spec.out_spec
            output = pytree.tree_unflatten(user_outs, out_spec) if out_spec is not None else tuple(user_outs)
        elif node.op == "call_function":
            env[node] = g.create_node("call_function", node.target,
                                      fx.node.map_arg(node.args, lambda n: env[n]),
                                      fx.node.map_arg(node.kwargs, lambda n: env[n]), name=node.name)
        elif node.op == "get_attr":
            raise Unsupported(f"export graph reads attribute {node.target} (control flow / submodule)")
        else:
            raise Unsupported(f"unexpected export node {node.op} {node.target}")
    g.output(output)
    order_placeholders(g, inputs + [p for _, p in params] + [training])
    drop_dead_pure_nodes(g)
    return FunctionalGraph(g, inputs, params, training, output, "export", training_captured=model.training)
