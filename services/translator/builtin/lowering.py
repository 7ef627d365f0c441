"""Partition a traced graph into stages: what is materialized, what is fused inline.

Materialized (written to memory): the inputs and parameters, library ops (GEMM / convolution),
reductions, scans, pooling windows and the outputs. Everything else — pointwise ops, broadcasts
and views — is fused as inline index math into the kernel of each consumer that is materialized
(so a chain "conv -> bias -> GELU -> mean" becomes a library call and ONE reduction kernel that
computes bias + GELU while it reads the conv output). An operand of a library op that is not a
plain buffer (a view or an expression) gets a pointwise stage of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kernelwright.translator.builtin import cexpr
from kernelwright.translator.builtin.dims import static_numel
from kernelwright.translator.builtin.graph import GNode, Graph, LoweringError, rebuild
from kernelwright.translator.builtin.kernel_builder import Buffer

__all__ = ["Program", "Stage", "classify", "fold_linear_bias", "lower_graph"]

REDUCE = {"aten.sum", "aten.mean", "aten.amax", "aten.amin", "aten.argmax", "aten.argmin", "aten.prod",
          "prims.sum", "prims.var", "prims.amax", "prims.amin", "prims.prod", "aten.var", "aten.any", "aten.all"}
TUPLE_REDUCE = {"aten.max.dim", "aten.min.dim"}
FULL_REDUCE = {"aten.max.default": "amax", "aten.min.default": "amin"}
SCAN = {"aten.cumsum", "aten.cumprod"}
WINDOW = {"aten.max_pool2d_with_indices", "aten.max_pool3d_with_indices", "aten.avg_pool2d", "aten.avg_pool3d"}
LIBRARY = {"aten.convolution", "aten.mm", "aten.bmm", "aten.linear"}  # linear: made by fold_linear_bias


@dataclass
class Stage:
    kind: str  # "pointwise" | "reduce" | "scan" | "window" | "library"
    node: GNode  # the node this stage materializes
    out: Buffer  # where it goes
    is_output: bool = False
    # Reduce stages only: reductions of the same input and dims that this stage's kernel computes
    # too (their buffers are written by it; they have no kernel of their own).
    siblings: list[Stage] = field(default_factory=list)


@dataclass
class Program:
    graph: Graph
    stages: list[Stage]
    buffers: dict[int, Buffer]  # id(node) -> buffer (placeholders, materialized nodes)
    allocations: list[Buffer]  # intermediates the plan allocates (not outputs, not library results)
    outputs: list[Buffer]
    index_type: str
    ops: list[str] = field(default_factory=list)
    # The lowering of the graph before fold_linear_bias, when that changed it: own GEMM kernels
    # (use_library=0) take the bias in their epilogue kernel as before.
    own_kernel_program: Program | None = None

    @property
    def has_library(self) -> bool:
        return any(s.kind == "library" for s in self.stages)

    @property
    def library_only(self) -> bool:
        """Nothing but library ops and copies: own GEMM/conv kernels are the only honest candidate."""
        return self.has_library and all(
            s.kind == "library" or (s.kind == "pointwise" and _is_copy_of_buffer(s, self.buffers))
            for s in self.stages)


def _is_copy_of_buffer(stage: Stage, buffers: dict[int, Buffer]) -> bool:
    """The stage only copies another buffer (through views): its node is materialized elsewhere (an
    output copy of a library result), or it is a chain of views down to some other buffer.

    A stage's own node is in ``buffers`` too (its output), so that alone says nothing: an intermediate
    relu between two GEMMs is computed, not copied."""
    n = stage.node
    if id(n) in buffers and buffers[id(n)] is not stage.out:
        return True
    while True:
        op = cexpr.base_op(n.op)
        if op not in cexpr.VIEWS or op == "aten.cat" or not isinstance(n.args[0], GNode):
            return False
        n = n.args[0]
        if id(n) in buffers:
            return True


def classify(node: GNode) -> str:
    """The stage kind a node needs: input/inline/tuple/reduce/scan/window/library; else LoweringError."""
    if node.op == "placeholder":
        return "input"
    if node.op == "getitem":
        parent, i = node.args[0], node.args[1]
        if parent.op in TUPLE_REDUCE:
            return "reduce"
        if cexpr.base_op(parent.op) in WINDOW and i == 0:
            return "window"
        raise LoweringError(f"output {i} of {parent.op} is not supported")
    op = cexpr.base_op(node.op)
    if node.op in TUPLE_REDUCE or (cexpr.base_op(node.op) in WINDOW and node.shape is None):
        return "tuple"
    if node.op in FULL_REDUCE or op in REDUCE:
        return "reduce"
    if op in SCAN:
        return "scan"
    if op in WINDOW:
        return "window"
    if op in LIBRARY:
        return "library"
    if op in cexpr.POINTWISE or op in cexpr.VIEWS or op in cexpr.CONSTANTS:
        if node.shape is None:
            raise LoweringError(f"op {node.op} returns several values")
        if node.dtype not in cexpr.CTYPES:
            raise LoweringError(f"op {node.op} produces dtype {node.dtype}")
        return "inline"
    raise LoweringError(f"op {node.op} is not supported by the builtin lowering")


def _library_operand_ok(node: GNode, a: GNode, buffers: dict[int, Buffer]) -> bool:
    """A library op can take ``a`` as is: a buffer, or (mm's second operand) a transposed buffer."""
    if id(a) in buffers:
        return True
    # mm(x, w.t()) is linear(x, w) for the library and a strided operand for the own GEMM.
    if cexpr.base_op(node.op) == "aten.mm" and a is node.args[1] and cexpr.base_op(a.op) == "aten.permute":
        src = a.args[0]
        return isinstance(src, GNode) and id(src) in buffers and list(a.args[1]) == [1, 0]
    return False


def _unit_scale_operand(n: GNode) -> GNode | None:
    """``t`` when ``n`` is ``t * 1`` (addmm's decomposition scales both terms by alpha = beta = 1)."""
    if n.op != "aten.mul.Tensor" or len(n.args) != 2:
        return None
    for t, k in (n.args, reversed(n.args)):
        if isinstance(t, GNode) and type(k) in (int, float) and k == 1:
            return t
    return None


def _linear_with_bias(add: GNode, outputs: set[int]) -> GNode | None:
    """``linear(x, w, bias)`` for ``add(mm(x, permute(w, [1, 0])), bias)`` (either order, each term
    possibly scaled by 1), when nothing else reads the mm and ``bias`` is a 1-D buffer of the
    GEMM's output columns; else None."""
    if add.op != "aten.add.Tensor" or len(add.args) != 2 or add.kwargs.get("alpha", 1) != 1:
        return None
    for p, q in (add.args, reversed(add.args)):
        if not (isinstance(p, GNode) and isinstance(q, GNode)):
            return None
        chain = [p]  # from the add's operand down to the mm; each link read by the next one only
        while (inner := _unit_scale_operand(chain[-1])) is not None:
            chain.append(inner)
        mm = chain[-1]
        bias = q
        while (inner := _unit_scale_operand(bias)) is not None:
            bias = inner
        if mm.op != "aten.mm.default" or any(len(c.users) != 1 or id(c) in outputs for c in chain):
            continue
        x, wt = mm.args[0], mm.args[1]
        if not (isinstance(wt, GNode) and wt.op == "aten.permute.default" and list(wt.args[1]) == [1, 0]):
            continue
        w = wt.args[0]
        if not (isinstance(w, GNode) and w.op == "placeholder" and bias.op == "placeholder"):
            continue
        assert mm.shape is not None
        if bias.shape != (mm.shape[1],) or bias.dtype != mm.dtype or add.shape != mm.shape or add.dtype != mm.dtype:
            continue
        return GNode(mm.name, "aten.linear.default", (x, w, bias), {}, add.shape, add.dtype)
    return None


def fold_linear_bias(graph: Graph) -> Graph:
    """Graph pass: ``nn.Linear``'s bias goes back into the GEMM (one ``linear(x, w, bias)`` call).

    The trace decomposes addmm into ``mm`` + ``add``; calling the library without the bias and
    adding it in our epilogue kernel made a different, slower cuBLAS GEMM than eager's addmm
    (cuBLASLt bias epilogue). The add's readers read the linear's result instead. Returns
    ``graph`` itself when nothing matches (the input graph is never modified).
    """
    outputs = {id(o) for o in graph.outputs}
    subs = {}
    for n in graph.nodes:
        lin = _linear_with_bias(n, outputs)
        if lin is not None:
            subs[id(n)] = lin
    return rebuild(graph, subs) if subs else graph


def lower_graph(graph: Graph) -> Program:
    """The library path's Program (linear bias folded), with the unfolded one for own kernels.
    Row sums of GEMMs are rewritten first (:func:`algebra.sum_through_matmul`)."""
    from kernelwright.translator.builtin.algebra import sum_through_matmul

    graph = sum_through_matmul(graph)
    folded = fold_linear_bias(graph)
    prog = _partition(folded)
    if folded is not graph:
        prog.own_kernel_program = _partition(graph)
    return prog


def _fuse_sibling_reductions(stages: list[Stage]) -> list[Stage]:
    """Sibling reductions (sum / mean / var of the same input expression over the same dims, e.g.
    a norm's mean and variance) become one stage: the first of them, listing the others in
    ``siblings``. Its kernel reads the input once and writes every sibling's buffer. The first
    one's place is early enough: every reader of a sibling comes after that sibling."""
    # stage_reduce imports this module: the key is looked up when the pass runs.
    from kernelwright.translator.builtin.stage_reduce import sibling_key

    first: dict[tuple[int, tuple[int, ...]], Stage] = {}
    kept = []
    for st in stages:
        key = sibling_key(st.node) if st.kind == "reduce" else None
        if key is not None and key in first:
            first[key].siblings.append(st)
            continue
        if key is not None:
            first[key] = st
        kept.append(st)
    return kept


def _partition(graph: Graph) -> Program:
    problems = []
    kinds: dict[int, str] = {}
    for n in graph.nodes:
        try:
            kinds[id(n)] = classify(n)
        except LoweringError as exc:
            problems.append(str(exc))
    if problems:
        raise LoweringError("; ".join(dict.fromkeys(problems)))
    for n in graph.nodes:
        if n.dtype and n.dtype not in cexpr.CTYPES and kinds[id(n)] != "tuple":
            raise LoweringError(f"{n.op} produces dtype {n.dtype}")

    buffers: dict[int, Buffer] = {}
    for n in graph.nodes:
        if kinds[id(n)] == "input":
            assert n.plan_name is not None and n.shape is not None
            buffers[id(n)] = Buffer(n.plan_name, n.shape, n.dtype)

    out_ids = {}
    for j, o in enumerate(graph.outputs):
        out_ids.setdefault(id(o), j)
    stages: list[Stage] = []
    allocations: list[Buffer] = []
    outputs: list[Buffer] = []

    def materialize(n: GNode, kind: str) -> None:
        assert n.shape is not None
        j = out_ids.get(id(n))
        if kind == "library":
            buf = Buffer(f"lib_{n.name}", n.shape, n.dtype)
        elif j is not None and kind != "inline_copy":
            buf = Buffer(f"out{j}", n.shape, n.dtype)
        else:
            buf = Buffer(f"buf_{n.name}", n.shape, n.dtype)
            allocations.append(buf)
        stages.append(Stage("pointwise" if kind == "inline_copy" else kind, n, buf, is_output=buf.name.startswith("out")))
        buffers[id(n)] = buf

    for n in graph.nodes:
        k = kinds[id(n)]
        if k in ("input", "tuple"):
            continue
        if k == "library":
            for a in n.tensor_args():
                if not _library_operand_ok(n, a, buffers):
                    if id(a) in buffers:
                        continue
                    materialize(a, "inline_copy")
            materialize(n, "library")
        elif k in ("reduce", "scan", "window"):
            materialize(n, k)
    # Outputs: kernel-made ones already write out{j}; the rest get a pointwise stage.
    for j, o in enumerate(graph.outputs):
        assert o.shape is not None
        buf = buffers.get(id(o))
        if buf is not None and buf.name == f"out{j}":
            outputs.append(buf)
            continue
        ob = Buffer(f"out{j}", o.shape, o.dtype)
        stages.append(Stage("pointwise", o, ob, is_output=True))
        outputs.append(ob)
    stages = _fuse_sibling_reductions(stages)
    # Stages that read an output buffer before... cannot happen: outputs are written when made.
    max_numel = max((static_numel(n.shape, graph.batch + 1) for n in graph.nodes if n.shape is not None), default=1)
    index_type = "int" if max_numel * 4 < 2**31 else "long long"
    return Program(graph, stages, buffers, allocations, outputs, index_type, graph.ops())
