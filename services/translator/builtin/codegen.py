"""Assemble a lowered ``Program`` and a ``LoweringSchedule`` into a fast-format candidate."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from kernelwright.translator.builtin.graph import LoweringError, trace_task
from kernelwright.translator.builtin.kernel_builder import Buffer, KernelSpec
from kernelwright.translator.builtin.lowering import Program, lower_graph
from kernelwright.translator.builtin.schedule import LoweringSchedule
from kernelwright.translator.builtin.stage_library import LibrarySpec, emit_library
from kernelwright.translator.builtin.stage_loops import emit_pointwise, emit_scan, emit_window
from kernelwright.translator.builtin.stage_reduce import ARG_HELPER, BLOCK_REDUCE_HELPERS, emit_reduce

__all__ = ["LoweringUnsupported", "analyze_program", "build_candidate"]


@dataclass(frozen=True)
class LoweringUnsupported:
    reason: str

    def __bool__(self) -> bool:
        return False


def analyze_program(task_source: str) -> Program | LoweringUnsupported:
    """Trace and partition the task, or say why not (the reason names the op)."""
    try:
        return lower_graph(trace_task(task_source))
    except LoweringError as exc:
        return LoweringUnsupported(str(exc))


def _kernel_name(i: int, kind: str, spec_ops: list[str]) -> str:
    ops = "_".join(spec_ops[:3]) if spec_ops else kind
    return re.sub(r"[^A-Za-z0-9_]", "_", f"kw_s{i}_{kind}_{ops}")[:60]


def _own_kernels_write_outputs(prog: Program) -> Program:
    """Own GEMM/conv kernels write an output allocation directly: no copy stage after them.

    An output stage that only copies a library result (``lib_X`` -> ``out{j}``) is dropped and
    the library stage writes ``out{j}``; every other reader of ``lib_X`` reads ``out{j}``.
    """
    renamed: dict[int, Buffer] = {}
    drop: set[int] = set()
    for k, st in enumerate(prog.stages):
        buf = prog.buffers.get(id(st.node))
        if (st.kind == "pointwise" and st.is_output and buf is not None and buf.name.startswith("lib_")
                and id(st.node) not in renamed):
            renamed[id(st.node)] = st.out
            drop.add(k)
    if not renamed:
        return prog
    stages = []
    for k, st in enumerate(prog.stages):
        if k in drop:
            continue
        if st.kind == "library" and id(st.node) in renamed:
            st = replace(st, out=renamed[id(st.node)], is_output=True)
        stages.append(st)
    buffers = {**prog.buffers, **renamed}
    return replace(prog, stages=stages, buffers=buffers)


def build_candidate(prog: Program, s: LoweringSchedule) -> Any:
    """A fast-format ``KernelCandidate`` (proposer "builtin", every knob in ``schedule``)."""
    from kernelwright.common.v1 import kernel_pb2 as kp
    from kernelwright.gpu_evaluator.pool import candidate_id

    if not s.use_library:
        prog = _own_kernels_write_outputs(prog.own_kernel_program or prog)
    steps: list[KernelSpec | LibrarySpec] = []
    sources: list[str] = []
    extra_allocs: list[tuple[str, tuple[str, ...], str]] = []
    block_reduce = False
    for i, st in enumerate(prog.stages):
        if st.kind == "library":
            lib = emit_library(prog, st, s, f"kw_s{i}")
            steps.append(lib)
            if lib.source:
                sources.append(lib.source)
            if lib.allocate_out and not st.is_output:
                assert st.node.shape is not None
                extra_allocs.append((st.out.name, tuple(d.plan_expr(prog.graph.batch_expr) for d in st.node.shape),
                                     st.out.dtype))
            extra_allocs.extend((nm, tuple(shape), "float32") for nm, shape in lib.scratch)
            continue
        name = f"kw_s{i}_{st.kind}"
        specs = emit_reduce(prog, st, s, name) if st.kind == "reduce" else [
            {"pointwise": emit_pointwise, "scan": emit_scan, "window": emit_window}[st.kind](prog, st, s, name)]
        fused = specs[0].comment.split(":")[-1].replace(" ", "").split(",")
        ops = [o for o in dict.fromkeys(fused) if o and o != "none"]
        final = _kernel_name(i, st.kind, ops)
        for spec in specs:  # a split reduction has a second kernel, "<name>_combine"
            suffix = spec.name[len(name):]
            spec_final = final[:60 - len(suffix)] + suffix
            spec.source = spec.source.replace(f" {spec.name}(", f" {spec_final}(")
            spec.name = spec_final
            block_reduce = block_reduce or spec.uses_block_reduce
            extra_allocs.extend((nm, tuple(shape), dtype) for nm, shape, dtype in spec.scratch)
            steps.append(spec)
            sources.append(spec.source)
    if not any(isinstance(x, KernelSpec) or x.kernels for x in steps):
        raise LoweringError("no kernel of our own in the plan")

    header = ["// kernelwright builtin generator (deterministic lowering of the ATen graph, no LLM).",
              f"// Schedule: {', '.join(f'{k}={v}' for k, v in s.as_map().items())}",
              f"// Index type: {prog.index_type}. Stages:"]
    for i, x in enumerate(steps):
        header.append(f"//   {i}: {x.comment}")
    helpers = [ARG_HELPER] + ([BLOCK_REDUCE_HELPERS] if block_reduce else [])
    source = "\n".join(header) + "\n" + "\n".join(helpers) + "\n" + "\n".join(sources)

    plan = kp.LaunchPlan()
    bx = prog.graph.batch_expr
    for b in prog.allocations:
        a = plan.allocations.add(name=b.name, dtype=b.dtype)
        for d in b.shape:
            a.shape.add(expr=d.plan_expr(bx))
    for nm, shape, dtype in extra_allocs:
        a = plan.allocations.add(name=nm, dtype=dtype)
        for e in shape:
            a.shape.add(expr=e)
    for b in prog.outputs:
        a = plan.allocations.add(name=b.name, dtype=b.dtype, is_output=True)
        for d in b.shape:
            a.shape.add(expr=d.plan_expr(bx))
    for x in steps:
        kernels = x.kernels if isinstance(x, LibrarySpec) else [x]
        if isinstance(x, LibrarySpec):
            for op, args, out, attrs in x.calls:
                lc = plan.steps.add().library_call
                lc.op = op
                for nm in args:
                    lc.args.add(tensor=nm)
                lc.out = out
                for k, v in attrs.items():
                    lc.attributes[k] = v
        for k in kernels:
            ln = plan.steps.add().launch
            ln.kernel = k.name
            for g in k.grid:
                ln.grid.add(expr=str(g))
            for b in k.block:
                ln.block.add(expr=str(b))
            ln.dynamic_shared_bytes = int(getattr(k, "dynamic_shared_bytes", 0))
            for kind, val in k.args:
                a = ln.args.add()
                if kind == "tensor":
                    a.tensor = str(val)
                elif kind == "int":
                    a.int_expr.expr = str(val)
                else:
                    a.float_value = float(val)
    cand = kp.KernelCandidate(format=kp.CANDIDATE_FORMAT_FAST, cuda_source=source, proposer="builtin")
    cand.plan.CopyFrom(plan)
    for k, v in s.as_map().items():
        cand.schedule[k] = v
    cand.id = candidate_id(cand)
    return cand
