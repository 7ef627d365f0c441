"""Trace a KernelBench-style task into a small ATen graph with batch-affine sizes.

The model and its inputs are built on the meta device (nothing large is allocated) and traced
with ``make_fx`` + ``functionalize`` and the core-ATen decompositions extended with the
normalizations, softmax/logsumexp, GELU and losses, so most forwards come out as pointwise ops,
reductions, views and a few library ops (mm/addmm/bmm/convolution), pooling and scans. The trace
runs twice, at the task's batch size ``B`` and at ``B + 1`` (the way the evaluator varies it),
and every tensor size becomes a ``Dim`` affine in the batch. Dropout modules are put in eval mode
first: the evaluator compares stochastic tasks with dropout as the identity (docs/evaluator.md);
everything else keeps training-mode semantics (BatchNorm uses batch statistics).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field, replace
from typing import Any

from kernelwright.translator.builtin.dims import Dim
from kernelwright.translator.builtin.task_loading import build_on_meta

__all__ = ["BatchScalar", "GNode", "Graph", "LoweringError", "rebuild", "trace_task"]


class LoweringError(Exception):
    """The task cannot be lowered; the message names the op (or what else is wrong)."""


_DTYPES = {"torch.float32": "float32", "torch.int64": "int64", "torch.bool": "bool", "torch.int32": "int32"}


@dataclass(frozen=True)
class BatchScalar:
    """A Python scalar argument that changed with the batch size: ``c + b * batch``."""

    c: float
    b: float
    sample: float  # the value at the task's batch size (for shape-free uses)


@dataclass(eq=False)
class GNode:
    name: str
    op: str  # "placeholder", "getitem" or the ATen/prims overload ("aten.add.Tensor")
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    shape: tuple[Dim, ...] | None  # None for tuple-valued nodes (max.dim, native_* ...)
    dtype: str
    plan_name: str | None = None  # placeholders: "in0" or the parameter name with '.' -> '_'
    users: list[GNode] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"GNode({self.name}: {self.op})"

    def tensor_args(self) -> list[GNode]:
        out: list[GNode] = []
        for a in list(self.args) + list(self.kwargs.values()):
            if isinstance(a, GNode):
                out.append(a)
            elif isinstance(a, (list, tuple)):
                out.extend(x for x in a if isinstance(x, GNode))
        return out


@dataclass
class Graph:
    nodes: list[GNode]  # live nodes, topological order
    outputs: list[GNode]
    batch_expr: str  # plan expression of the batch size
    batch: int  # the task's batch size (B)
    n_inputs: int

    def ops(self) -> list[str]:
        return list(dict.fromkeys(n.op for n in self.nodes if n.op != "placeholder"))


def _decomposition_table() -> dict:
    import torch
    from torch._decomp import core_aten_decompositions, get_decompositions

    aten = torch.ops.aten
    table = dict(core_aten_decompositions())
    names = ["native_batch_norm", "_native_batch_norm_legit_functional", "_native_batch_norm_legit",
             "_native_batch_norm_legit_no_training", "native_group_norm", "native_layer_norm",
             "_softmax", "_log_softmax", "logsumexp", "var_mean", "gelu", "mish",
             "hardswish", "hardsigmoid", "silu", "native_dropout", "rms_norm",
             "linalg_vector_norm", "norm", "mse_loss", "huber_loss", "smooth_l1_loss",
             "instance_norm", "softplus", "elu", "leaky_relu", "hardtanh", "addmm",
             "frobenius_norm", "std", "var", "l1_loss", "binary_cross_entropy",
             "kl_div", "cosine_similarity", "pairwise_distance", "softmax", "log_softmax",
             "glu", "selu", "celu", "logit", "hardshrink", "softshrink", "tanhshrink",
             "triplet_margin_loss", "margin_ranking_loss", "hinge_embedding_loss"]
    extra = [getattr(aten, n) for n in names if hasattr(aten, n)]
    table.update(get_decompositions(extra))
    table.update(_bool_reductions(aten))
    table.update(_splits(aten))
    return table


def _splits(aten: Any) -> dict:
    """split_with_sizes as one slice view per piece: a multi-output op the lowering has no stage for, while
    a slice is a view it indexes through. They come from real models: ``q, k, v = c_attn(x).split(n, dim=2)``
    (minGPT-style attention, dev level3/43, 44, 50)."""
    def split_with_sizes(x: Any, split_sizes: Any, dim: int = 0) -> list:
        dim = dim % x.dim()
        pieces, start = [], 0
        for size in split_sizes:
            pieces.append(aten.slice.Tensor(x, dim, start, start + size))
            start += size
        return pieces

    table = {}
    for name in ("split_with_sizes", "unsafe_split_with_sizes"):
        packet = getattr(aten, name, None)
        if packet is not None and hasattr(packet, "default"):
            table[packet.default] = split_with_sizes
    return table


def _bool_reductions(aten: Any) -> dict:
    """any/all as amax/amin of the values as floats, compared with 0: one float reduction machinery.

    They come from real models, not only from tests: the safe softmax of ``scaled_dot_product_attention``
    (every ``nn.TransformerEncoder``) masks rows with ``any(logical_not(x == -inf), dim=-1)``.
    """
    import torch

    def reduce(best: Any) -> Any:
        def over(x: Any, dim: Any = None, keepdim: bool = False) -> Any:
            v = x.to(torch.float32)
            if dim is None or (isinstance(dim, (list, tuple)) and not dim):
                return best(v) != 0  # every dim: a 0-d result, as any()/all() give
            return best(v, dim=dim, keepdim=keepdim) != 0
        return over

    table = {}
    for name, best in (("any", torch.amax), ("all", torch.amin)):
        packet = getattr(aten, name)
        for overload in ("default", "dim", "dims"):
            if hasattr(packet, overload):
                table[getattr(packet, overload)] = reduce(best)
    return table


def _load(task_source: str) -> tuple[Any, list[Any], dict[str, Any]]:
    import torch

    ns: dict[str, Any] = {"__name__": "kernelwright_builtin_task"}
    exec(compile(task_source, "<task>", "exec"), ns)  # the task's own module code (trusted input)
    for attr in ("Model", "get_inputs"):
        if attr not in ns:
            raise LoweringError(f"task defines no {attr}")
    model, inputs = build_on_meta(ns)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.dropout._DropoutNd):
            m.eval()
    return model, inputs, ns


def _vary_batch(inputs: list[Any]) -> tuple[list[Any], int | None, int]:
    """The evaluator's ``vary_batch`` on meta tensors: (inputs at B+1, index of the batch input, B)."""
    import torch

    tensors = [(i, x) for i, x in enumerate(inputs) if isinstance(x, torch.Tensor) and x.dim() > 0]
    if not tensors:
        return inputs, None, 0
    k, first = tensors[0]
    batch = first.shape[0]
    out = []
    for x in inputs:
        if isinstance(x, torch.Tensor) and x.dim() > 0 and x.shape[0] == batch:
            out.append(torch.empty((batch + 1, *x.shape[1:]), dtype=x.dtype, device="meta"))
        else:
            out.append(x)
    return out, k, batch


def _make_fx(model: Any, params: dict[str, Any], inputs: list[Any]) -> Any:
    from torch.func import functional_call, functionalize
    from torch.fx.experimental.proxy_tensor import make_fx

    from kernelwright.translator.builtin.forward_constants import ForwardConstants

    def forward(p: dict[str, Any], *xs: Any) -> Any:
        return functional_call(model, p, xs)

    # ForwardConstants: torch.tensor(v, device=x.device) in forward keeps its value (else lost on meta).
    with ForwardConstants():
        return make_fx(functionalize(forward), decomposition_table=_decomposition_table())(params, *inputs)


def _op_name(target: Any) -> str:
    if target is operator.getitem:
        return "getitem"
    return str(target)


def trace_task(task_source: str) -> Graph:
    import torch

    try:
        model, inputs, _ = _load(task_source)
    except LoweringError:
        raise
    except Exception as exc:  # noqa: BLE001 - reported as the reason
        raise LoweringError(f"could not build the task on the meta device: {type(exc).__name__}: {exc}") from None
    if not inputs:
        raise LoweringError("task has no inputs")
    recurrent = sorted({type(m).__name__ for m in model.modules() if isinstance(m, torch.nn.RNNBase)})
    if recurrent:
        # make_fx unrolls every time step of every layer into its own ops: for the dev LSTMs/GRUs that is
        # minutes of tracing (twice: batch B and B+1) behind the process-wide proposal lock, stalling every
        # other run's proposals, for a graph of thousands of stages no candidate could be built from.
        raise LoweringError(f"recurrent layers ({', '.join(recurrent)}) are not lowered: tracing would unroll "
                            "every time step into its own ops")
    for i, x in enumerate(inputs):
        if not isinstance(x, torch.Tensor):
            if isinstance(x, (int, float)) and not isinstance(x, bool):
                continue  # traced as a constant: get_inputs() returns the same scalar every trial
            raise LoweringError(f"input {i} is a {type(x).__name__}, not a tensor")
        if str(x.dtype) not in _DTYPES:
            raise LoweringError(f"input {i} has dtype {x.dtype}")
    params = {**dict(model.named_parameters()), **dict(model.named_buffers())}
    inputs1, batch_idx, batch = _vary_batch(inputs)
    try:
        gm0 = _make_fx(model, params, inputs)
    except Exception as exc:  # noqa: BLE001
        raise LoweringError(f"could not trace the forward: {type(exc).__name__}: {str(exc)[:300]}") from None
    try:
        gm1 = _make_fx(model, params, inputs1) if batch_idx is not None else gm0
    except Exception:  # noqa: BLE001 - the reference rejects B+1 too; the evaluator skips that trial
        gm1 = gm0
    nodes0, nodes1 = list(gm0.graph.nodes), list(gm1.graph.nodes)
    if len(nodes0) != len(nodes1) or any(a.target != b.target for a, b in zip(nodes0, nodes1)):
        raise LoweringError("the traced graph changes with the batch size")
    batch_expr = f"in{batch_idx}.shape[0]" if batch_idx is not None else "1"
    plan_names = [n.replace(".", "_") for n in params] + [f"in{i}" for i in range(len(inputs))]

    env: dict[Any, GNode] = {}
    all_nodes: list[GNode] = []
    outputs: list[GNode] = []
    n_placeholder = 0

    def conv(a: Any, a1: Any) -> Any:
        if isinstance(a, torch.fx.Node):
            return env[a]
        if isinstance(a, (list, tuple)):
            if not isinstance(a1, (list, tuple)) or len(a1) != len(a):
                return type(a)(conv(x, x) for x in a)
            return type(a)(conv(x, y) for x, y in zip(a, a1))
        if isinstance(a, torch.dtype):
            return str(a)
        if isinstance(a, (torch.device, torch.layout, torch.memory_format)):
            return None
        if isinstance(a, (int, float)) and not isinstance(a, bool) and isinstance(a1, (int, float)) and a1 != a:
            # A scalar baked from a size (BatchNorm's 1/(N*H*W), mean's divisor): affine in the batch.
            return BatchScalar(float(a) - (float(a1) - float(a)) * batch, float(a1) - float(a), a)
        return a

    for n0, n1 in zip(nodes0, nodes1):
        if n0.op == "output":
            outs = n0.args[0]
            outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
            for o in outs:
                if not isinstance(o, torch.fx.Node):
                    raise LoweringError("an output is not a tensor")
                outputs.append(env[o])
            continue
        if n0.op == "get_attr":
            g = _tensor_constant(n0.name, n0.target, getattr(gm0, n0.target))
            env[n0] = g
            all_nodes.append(g)
            continue
        v0, v1 = n0.meta.get("val"), n1.meta.get("val")
        shape = None
        dtype = ""
        if isinstance(v0, torch.Tensor):
            if v0.dim() != v1.dim():
                raise LoweringError(f"{n0.name}: rank changes with the batch size")
            shape = tuple(Dim.from_samples(a, b, batch) for a, b in zip(v0.shape, v1.shape))
            dtype = _DTYPES.get(str(v0.dtype), str(v0.dtype))
        if n0.op == "placeholder" and not isinstance(v0, torch.Tensor):
            g = GNode(n0.name, "const.scalar", (v0,), {}, (), "float32")
            n_placeholder += 1
        elif n0.op == "placeholder":
            g = GNode(n0.name, "placeholder", (), {}, shape, dtype, plan_name=plan_names[n_placeholder])
            n_placeholder += 1
        else:
            g = GNode(n0.name, _op_name(n0.target), conv(tuple(n0.args), tuple(n1.args)),
                      {k: conv(v, n1.kwargs.get(k)) for k, v in n0.kwargs.items()}, shape, dtype)
            g = _one_element_fill_as_scalar(g)
            const = _constant_passed_through(g)
            if const is not None:
                env[n0] = const  # the constant's lift/alias/device move: the literal itself
                continue
        env[n0] = g
        all_nodes.append(g)

    # Only what the outputs need (drops running-stat updates, aliases, empty(), ...).
    return Graph(_live_linked(all_nodes, outputs), outputs, batch_expr, batch, len(inputs))


def _tensor_constant(name: str, attr: str, t: Any) -> GNode:
    """A tensor constant the trace recorded (built in ``forward``) as a ``const.scalar`` node.

    ``forward_constants.ForwardConstants`` keeps data-built constants on the CPU, so their value
    is real here; only one-element real constants are literals a kernel can use.
    """
    import torch

    if not isinstance(t, torch.Tensor):
        raise LoweringError(f"constant {attr!r} built in forward is a {type(t).__name__}, not a tensor")
    where = f"tensor constant {attr!r} built in forward"
    if t.is_meta:
        raise LoweringError(f"{where}: its value was lost on the meta device (only constants built from "
                            "Python data, e.g. torch.tensor(0.5, device=x.device), keep their value)")
    if t.numel() != 1:
        raise LoweringError(f"{where} has {t.numel()} elements (shape {list(t.shape)}): only one-element "
                            "constants are supported")
    if str(t.dtype) not in _DTYPES:
        raise LoweringError(f"{where} has dtype {t.dtype} (supported: {', '.join(sorted(_DTYPES.values()))})")
    return GNode(name, "const.scalar", (t.item(),), {}, tuple(Dim(int(d)) for d in t.shape), _DTYPES[str(t.dtype)])


# Fills whose value is a literal argument (op -> its index), and fills of a fixed value.
_FILL_VALUE_ARG = {"aten.full.default": 1, "aten.scalar_tensor.default": 0}
_FILL_CONSTANT = {"aten.zeros.default": 0, "aten.ones.default": 1}


def _one_element_fill_as_scalar(g: GNode) -> GNode:
    """``torch.full/ones/zeros/scalar_tensor`` of one element -> a ``const.scalar`` like ``torch.tensor(v)``."""
    if g.shape is None or not all(d.is_static and d.c == 1 for d in g.shape):
        return g
    if g.op in _FILL_CONSTANT:
        value: Any = _FILL_CONSTANT[g.op]
    elif g.op in _FILL_VALUE_ARG and len(g.args) > _FILL_VALUE_ARG[g.op]:
        value = g.args[_FILL_VALUE_ARG[g.op]]
    else:
        return g
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return g  # a bool fill or a batch-dependent value (BatchScalar) stays a fill op
    return GNode(g.name, "const.scalar", (value,), {}, g.shape, g.dtype)


# Ops that hand a constant on unchanged when dtype and shape stay (torch.tensor(v, device=...) traces
# as get_attr -> lift_fresh_copy -> alias -> _to_copy).
_PASS_THROUGH = {"aten.lift_fresh_copy.default", "aten.alias.default", "aten._to_copy.default",
                 "aten.clone.default", "aten.detach.default"}


def _constant_passed_through(g: GNode) -> GNode | None:
    """The ``const.scalar`` that ``g`` only copies/moves, else None."""
    if g.op not in _PASS_THROUGH or not g.args or not isinstance(g.args[0], GNode):
        return None
    src = g.args[0]
    if src.op != "const.scalar" or src.dtype != g.dtype or src.shape != g.shape:
        return None
    return src


def _live_linked(all_nodes: list[GNode], outputs: list[GNode]) -> list[GNode]:
    """The nodes the outputs depend on (topological order kept), with their ``users`` filled in."""
    live: set[int] = set()
    stack = list(outputs)
    while stack:
        n = stack.pop()
        if id(n) in live:
            continue
        live.add(id(n))
        stack.extend(n.tensor_args())
    nodes = [n for n in all_nodes if id(n) in live]
    for n in nodes:
        for a in n.tensor_args():
            a.users.append(n)
    return nodes


def rebuild(graph: Graph, substitutes: dict[int, GNode | list[GNode]]) -> Graph:
    """A copy of ``graph`` with node ``id -> substitute`` replaced (graph rewriting passes).

    A substitute's arguments name nodes of ``graph`` that come before the node it replaces; every
    node is copied with its arguments remapped, so ``graph`` itself is left as it was (the
    lowering keeps both variants). A list of new nodes is inserted in its order, each naming
    earlier ones or nodes of ``graph``; its last node takes the replaced node's place. Nodes nothing
    reads any more are dropped.
    """
    env: dict[int, GNode] = {}

    def remap(a: Any) -> Any:
        if isinstance(a, GNode):
            return env[id(a)]
        if isinstance(a, (list, tuple)):
            return type(a)(remap(x) for x in a)
        return a

    copies = []
    for n in graph.nodes:
        sub = substitutes.get(id(n), n)
        for src in sub if isinstance(sub, list) else [sub]:
            c = replace(src, args=remap(src.args), kwargs={k: remap(v) for k, v in src.kwargs.items()}, users=[])
            env[id(src)] = c
            copies.append(c)
        env[id(n)] = c
    outputs = [env[id(o)] for o in graph.outputs]
    return Graph(_live_linked(copies, outputs), outputs, graph.batch_expr, graph.batch, graph.n_inputs)
