"""First choice: torch.fx symbolic tracing, then lowering module calls.

Standard ``torch.nn`` modules stay leaves during tracing and are replaced by
their functional equivalents from the handler table; user-defined modules
are traced through.  Parameters, buffers and tensor attributes reached via
``get_attr`` become named arguments.  Anything the table does not know
(nn.LSTM, nn.MultiheadAttention, ...) raises ``Unsupported`` so the caller
can fall back to ``torch.export``.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import torch
import torch.fx as fx
import torch.nn as nn

from .graph import (FunctionalGraph, ParamSource, Unsupported, drop_dead_pure_nodes, inline_tensor_constant, first_tensor_input,
                    order_placeholders, param_name, safe_name)
from .handlers import HANDLERS, HandlerContext


class _Tracer(fx.Tracer):
    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        if type(m) in HANDLERS:
            return True
        return super().is_leaf_module(m, qualname)


def forward_input_names(model: nn.Module, n_inputs: int) -> list[str]:
    """Names of the first ``n_inputs`` forward parameters (input_<i> for *args)."""
    sig = inspect.signature(model.forward)
    names: list[str] = []
    for p in sig.parameters.values():
        if len(names) >= n_inputs:
            break
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            names.append(p.name)
        elif p.kind == p.VAR_POSITIONAL:
            names.extend(f"{p.name}_{i}" for i in range(n_inputs - len(names)))
    if len(names) < n_inputs:
        raise Unsupported(f"forward takes fewer positional arguments than get_inputs() returns ({n_inputs})")
    return [safe_name(n) for n in names]


class _Lowering:
    def __init__(self, model: nn.Module):
        self.model = model
        self.graph = fx.Graph()
        self.params: list[tuple[ParamSource, fx.Node]] = []
        self._by_id: dict[int, fx.Node] = {}
        self._training: fx.Node | None = None
        self._param_kinds = {id(p): "parameter" for p in model.parameters()}
        self._param_kinds.update({id(b): "buffer" for b in model.buffers()})

    def tensor_arg(self, fqn: str, value: Any) -> fx.Node:
        if not isinstance(value, torch.Tensor):
            raise Unsupported(f"attribute {fqn} is a {type(value).__name__}, not a tensor")
        # the same tensor reached through two paths (shared weights) is one argument
        if id(value) in self._by_id:
            return self._by_id[id(value)]
        kind = self._param_kinds.get(id(value), "buffer")
        node = self.graph.placeholder(param_name(fqn))
        self.params.append((ParamSource(node.name, fqn, kind), node))
        self._by_id[id(value)] = node
        return node

    def training_arg(self) -> fx.Node:
        if self._training is None:
            self._training = self.graph.placeholder("training")
        return self._training


def _fetch_attr(model: nn.Module, target: str) -> Any:
    obj: Any = model
    for part in target.split("."):
        obj = getattr(obj, part)
    return obj


def lower_with_fx(model: nn.Module, n_inputs: int, is_tensor: Sequence[bool] | None = None) -> FunctionalGraph:
    """``is_tensor[i]``: whether forward input i is a tensor (constants built in forward follow its device)."""
    names = forward_input_names(model, n_inputs)
    sig = inspect.signature(model.forward)
    concrete = {}
    for i, p in enumerate(sig.parameters.values()):
        # optional arguments get_inputs() does not supply keep their defaults;
        # tracing them as proxies would flip `if h0 is None` branches
        if i >= n_inputs and p.kind == p.POSITIONAL_OR_KEYWORD and p.default is not p.empty:
            concrete[p.name] = p.default
    tracer = _Tracer()
    preexisting = set(vars(model))
    # forward code may rebind plain tensor attributes (self.hidden = ...); during
    # tracing that stores Proxies on the model, so put the real tensors back after
    saved = [(m, k, v) for m in model.modules() for k, v in list(vars(m).items())
             if isinstance(v, torch.Tensor)]
    try:
        traced = tracer.trace(model, concrete_args=concrete or None)
    except Exception as exc:
        raise Unsupported(f"fx tracing failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from exc
    finally:
        for m, k, v in saved:
            m.__dict__[k] = v

    low = _Lowering(model)
    g = low.graph
    env: dict[fx.Node, Any] = {}
    inputs: list[fx.Node] = []
    output: Any = None
    modules = dict(model.named_modules())

    def mapped(a):
        return fx.node.map_arg(a, lambda n: env[n])

    for node in traced.nodes:
        if node.op == "placeholder":
            if len(inputs) < n_inputs:
                p = g.placeholder(names[len(inputs)])
                inputs.append(p)
                env[node] = p
            else:
                if any(getattr(u.target, "__name__", "") != "_assert_is_none" for u in node.users):
                    raise Unsupported(f"forward argument {node.target!r} is not supplied by get_inputs() but used")
                env[node] = None
        elif node.op == "get_attr":
            value = _fetch_attr(model, node.target)
            if node.target.startswith("_tensor_constant") and node.target not in preexisting:
                # fx stored a tensor the forward built from Python values
                env[node] = inline_tensor_constant(g, value, node.target, first_tensor_input(inputs, is_tensor))
                env[node]._rename("constant")
            else:
                env[node] = low.tensor_arg(node.target, value)
        elif node.op == "call_module":
            mod = modules[node.target]
            handler = HANDLERS.get(type(mod))
            if handler is None:
                raise Unsupported(f"no functional handler for nn.{type(mod).__name__} (module {node.target!r})")
            ctx = HandlerContext(low, mod, node.target)
            out = handler(ctx, mod, mapped(node.args), mapped(node.kwargs))
            if isinstance(out, fx.Node) and out.op != "placeholder":
                out._rename(safe_name(node.target.replace(".", "_")))
            env[node] = out
        elif node.op in ("call_function", "call_method"):
            if node.op == "call_function" and getattr(node.target, "__name__", "") == "_assert_is_none":
                continue  # fx guard for concrete None args
            env[node] = g.create_node(node.op, node.target, mapped(node.args), mapped(node.kwargs),
                                      name=node.name)
        elif node.op == "output":
            output = mapped(node.args[0])
        else:
            raise Unsupported(f"unexpected fx node {node.op}")

    order = inputs + [n for _, n in low.params] + ([low._training] if low._training is not None else [])
    out_node = g.output(output)
    order_placeholders(g, order)
    drop_dead_pure_nodes(g)
    if low._training is None:
        # keep a uniform signature: module_fn(..., training)
        low._training = g.placeholder("training")
        out_node.prepend(low._training)
        order_placeholders(g, order + [low._training])
    return FunctionalGraph(g, inputs, low.params, low._training, output, "fx")
