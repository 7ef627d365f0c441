#!/usr/bin/env python
"""Our built-in GEMM / convolution kernels on a real GPU, on the KernelBench level-1 dev shapes.

    python scripts/compute_kernels_gpu_check.py --out OUT.md [--tasks DIR] [--only SUBSTR ...]
                                                [--schedules first|all] [--max-ms 2000] [--dry-run]

For every matmul / conv task in the level-1 dev set: build the task's Model and inputs on the GPU,
lower it by hand to ``emit_matmul`` / ``emit_conv`` (this is a kernel check, not the generator's
lowering), compile with NVRTC for this GPU, run the launches through the evaluator's cuda-python
launcher on torch's stream, compare with torch (atol = rtol = 1e-4, against the reference run with
the process's default flags, i.e. what the evaluator sees, and against a strict fp32 reference
with TF32 off) and time both with CUDA events. Writes a markdown table to ``--out`` (and a JSON
next to it), rewritten after every task so a cut-short run keeps what it did. ``--dry-run`` works
without a GPU: meta-device tensors, plans resolved and sources compiled, nothing launched.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

from kernelwright.common.v1 import kernel_pb2  # noqa: E402
from kernelwright.gpu_evaluator import launchers, plan as plan_mod  # noqa: E402
from kernelwright.gpu_evaluator.fast_runner import _arg_kind, default_arch  # noqa: E402
from kernelwright.gpu_evaluator.nvrtc_build import compile_cuda  # noqa: E402
from kernelwright.translator.builtin.compute_kernels import (  # noqa: E402
    CONV_SCHEDULES,
    GEMM_SCHEDULES,
    Emitted,
    append_to_plan,
    emit_conv,
    emit_matmul,
)

# Matmul tasks: number -> (how A and B are read, post-op applied by torch to both outputs).
# "nn": A[m,k] B[k,n]; "tn": A stored [k,m]; "nt": B stored [n,k]; "tt": both; "bmm": [b,m,k]x[b,k,n];
# "4d": A[b,i,j,l] x B[l,k] (rows = b*i*j).
MATMUL_TASKS = {1: "nn", 2: "nn", 3: "bmm", 6: "nn", 8: "nn", 9: "nn", 11: "4d", 13: "nn", 14: "nn",
                16: "tn", 17: "nt", 18: "tt"}
POST_OPS = {14: torch.triu}
CONV_TYPES = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


def _task_dir(arg: str | None) -> Path:
    for d in ([Path(arg)] if arg else []) + [ROOT / ".kb" / "dev" / "level1",
                                             ROOT.parent / "shared" / "benchmarks" / "kernelbench" / "dev" / "level1"]:
        if d.is_dir():
            return d
    raise SystemExit("no level-1 task directory found (pass --tasks)")


def _matmul_emitted(kind: str, schedule: Any) -> tuple[Emitted, str]:
    a0, a1 = "in0.shape[0]", "in0.shape[1]"
    if kind == "bmm":
        return emit_matmul("kwg", a="in0", b="in1", out="out", batch=a0, m=a1, n="in1.shape[2]", k="in0.shape[2]",
                           a_strides=(f"{a1} * in0.shape[2]", "in0.shape[2]", "1"),
                           b_strides=("in1.shape[1] * in1.shape[2]", "in1.shape[2]", "1"), schedule=schedule), "bmm"
    if kind == "4d":
        rows = "in0.shape[0] * in0.shape[1] * in0.shape[2]"
        return emit_matmul("kwg", a="in0", b="in1", out="out", batch="1", m=rows, n="in1.shape[1]", k="in0.shape[3]",
                           a_strides=("0", "in0.shape[3]", "1"), b_strides=("0", "in1.shape[1]", "1"),
                           schedule=schedule), "einsum"
    ta, tb = kind[0] == "t", kind[1] == "t"
    m, k = ("in0.shape[1]", "in0.shape[0]") if ta else ("in0.shape[0]", "in0.shape[1]")
    n = "in1.shape[0]" if tb else "in1.shape[1]"
    a_strides = ("0", "1", "in0.shape[1]") if ta else ("0", "in0.shape[1]", "1")
    b_strides = ("0", "1", "in1.shape[1]") if tb else ("0", "in1.shape[1]", "1")
    return emit_matmul("kwg", a="in0", b="in1", out="out", batch="1", m=m, n=n, k=k, a_strides=a_strides,
                       b_strides=b_strides, schedule=schedule), "matmul"


def _conv_emitted(conv: nn.Module, x_name: str, x_shape: tuple[int, ...], out_name: str, prefix: str,
                  param_prefix: str, schedule: Any) -> tuple[Emitted, tuple[int, ...]]:
    transposed = isinstance(conv, (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d))
    dims = len(conv.kernel_size)
    ks, st, pd, dl = conv.kernel_size, conv.stride, conv.padding, conv.dilation
    op = conv.output_padding if transposed else (0,) * dims
    if isinstance(pd, str):
        raise NotImplementedError(f"padding={pd!r}")
    ins = x_shape[2:]
    if transposed:
        outs = tuple((ins[i] - 1) * st[i] - 2 * pd[i] + dl[i] * (ks[i] - 1) + op[i] + 1 for i in range(dims))
    else:
        outs = tuple((ins[i] + 2 * pd[i] - dl[i] * (ks[i] - 1) - 1) // st[i] + 1 for i in range(dims))
    em = emit_conv(prefix, x=x_name, weight=f"{param_prefix}_weight",
                   bias=f"{param_prefix}_bias" if conv.bias is not None else None, out=out_name, dims=dims,
                   n=str(x_shape[0]), c_in=conv.in_channels, in_sizes=tuple(map(str, ins)), c_out=conv.out_channels,
                   out_sizes=tuple(map(str, outs)), kernel_size=ks, stride=st, padding=pd, dilation=dl,
                   groups=conv.groups, transposed=transposed, output_padding=op, schedule=schedule)
    return em, (x_shape[0], conv.out_channels, *outs)


class Candidate:
    """Compiled kernels + resolved launches for one task and schedule."""

    def __init__(self, pieces: list[Emitted], out_shape: tuple[int, ...], inter: list[tuple[str, tuple[int, ...]]],
                 inputs: list[torch.Tensor], params: dict[str, torch.Tensor], launcher: Any, arch: str,
                 dry_run: bool = False) -> None:
        plan = kernel_pb2.LaunchPlan()
        alloc = plan.allocations.add(name="out", dtype="float32", is_output=True)
        for d in out_shape:
            alloc.shape.add(expr=str(d))
        for name, shape in inter:
            a = plan.allocations.add(name=name, dtype="float32")
            for d in shape:
                a.shape.add(expr=str(d))
        source = "\n".join(p.source for p in pieces)
        for p in pieces:
            append_to_plan(plan, p)
        sigs = plan_mod.parse_kernel_signatures(source)
        self.resolved = plan_mod.resolve(
            plan, {f"in{i}": plan_mod.ShapeInfo(tuple(t.shape)) for i, t in enumerate(inputs)},
            {k: plan_mod.ShapeInfo(tuple(v.shape)) for k, v in params.items()}, signatures=sigs)
        t0 = time.perf_counter()
        build = compile_cuda(source, arch=arch)
        self.compile_s = time.perf_counter() - t0
        if not build.ok:
            raise RuntimeError(f"NVRTC failed:\n{build.log}")
        self.resources = build.resources
        self.launcher = launcher
        if dry_run:
            return
        module = launcher.load(build.cubin) if build.cubin else launcher.load(build.ptx.encode() + b"\0")
        self.fns = {st.kernel: launcher.function(module, st.kernel, st.dynamic_shared_bytes)
                    for st in self.resolved.steps}
        self.tensors: dict[str, torch.Tensor] = {f"in{i}": t.contiguous() for i, t in enumerate(inputs)}
        self.tensors.update(params)
        for a in self.resolved.allocations:
            self.tensors[a.name] = torch.full(a.shape, float("nan"), device="cuda")

    def __call__(self) -> torch.Tensor:
        stream = torch.cuda.current_stream().cuda_stream
        for st in self.resolved.steps:
            args = [(_arg_kind(a), self.tensors[a.value].data_ptr() if a.kind == "tensor" else a.value)
                    for a in st.args]
            self.launcher.launch(self.fns[st.kernel], st.grid, st.block, st.dynamic_shared_bytes, stream, args)
        return self.tensors["out"]


def _time_ms(fn: Any, max_ms: float) -> float:
    fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    fn()
    end.record()
    torch.cuda.synchronize()
    once = start.elapsed_time(end)
    reps = int(max(3, min(50, max_ms / max(once, 1e-3))))
    times = []
    for _ in range(reps):
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    times.sort()
    return times[len(times) // 2]


def _errors(got: torch.Tensor, want: torch.Tensor) -> tuple[bool, float, float]:
    g, w = got.double(), want.double()
    diff = (g - w).abs()
    diff = torch.where(torch.isnan(diff), torch.full_like(diff, float("inf")), diff)
    ok = bool((diff <= 1e-4 + 1e-4 * w.abs()).all())
    rel = (diff / w.abs().clamp_min(1e-6)).max()
    return ok, float(diff.max()), float(rel)


def check_task(path: Path, schedules: str, max_ms: float, launcher: Any, arch: str, dry_run: bool = False) -> list[dict]:
    number = int(path.name.split("_")[0])
    ns: dict[str, Any] = {"__name__": "kb_task"}
    exec(compile(path.read_text(), str(path), "exec"), ns)
    torch.manual_seed(0)
    if dry_run:
        return _dry_run(number, path, ns, schedules, arch)
    model = ns["Model"](*ns.get("get_init_inputs", lambda: [])()).cuda().eval()
    inputs = [t.cuda() if isinstance(t, torch.Tensor) else t for t in ns["get_inputs"]()]
    with torch.no_grad():
        ref_default = model(*inputs)
        tf32 = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
        ref_fp32 = model(*inputs)
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = tf32
        torch_ms = _time_ms(lambda: model(*inputs), max_ms)
    convs = [(name, m) for name, m in model.named_modules() if isinstance(m, CONV_TYPES)]
    rows = []
    scheds = GEMM_SCHEDULES if number in MATMUL_TASKS else CONV_SCHEDULES
    if schedules == "first":
        scheds = scheds[:1]
    for sched in scheds:
        row: dict[str, Any] = {"task": path.stem, "schedule": ",".join(f"{k}={v}" for k, v in sched.as_map().items()),
                               "torch_ms": round(torch_ms, 4)}
        try:
            params: dict[str, torch.Tensor] = {}
            inter: list[tuple[str, tuple[int, ...]]] = []
            post = POST_OPS.get(number)
            if number in MATMUL_TASKS:
                em, _ = _matmul_emitted(MATMUL_TASKS[number], sched)
                pieces = [em]
                out_shape = tuple(ref_default.shape)
            elif convs and len(inputs) == 1:
                pieces = []
                x_name, x_shape = "in0", tuple(inputs[0].shape)
                for i, (name, conv) in enumerate(convs):
                    pname = name.replace(".", "_")
                    params[f"{pname}_weight"] = conv.weight.detach()
                    if conv.bias is not None:
                        params[f"{pname}_bias"] = conv.bias.detach()
                    last = i == len(convs) - 1
                    out_name = "out" if last else f"t{i}"
                    em, x_shape_next = _conv_emitted(conv, x_name, x_shape, out_name, f"kwc{i}", pname, sched)
                    if not last:
                        inter.append((out_name, x_shape_next))
                    pieces.append(em)
                    x_name, x_shape = out_name, x_shape_next
                out_shape = x_shape
            else:
                continue
            cand = Candidate(pieces, out_shape, inter, inputs, params, launcher, arch)
            got = cand()
            if number == 11:
                got = got.view(ref_default.shape)
            if post is not None:
                got = post(got)
            torch.cuda.synchronize()
            ok_d, abs_d, rel_d = _errors(got.view(ref_default.shape), ref_default)
            ok_f, abs_f, rel_f = _errors(got.view(ref_fp32.shape), ref_fp32)
            ours_ms = _time_ms(cand, max_ms)
            regs = {k: v.get("registers") for k, v in cand.resources.items()}
            row.update(ok_vs_default=ok_d, max_abs_default=f"{abs_d:.3g}", max_rel_default=f"{rel_d:.3g}",
                       ok_vs_fp32=ok_f, max_abs_fp32=f"{abs_f:.3g}", max_rel_fp32=f"{rel_f:.3g}",
                       ours_ms=round(ours_ms, 4), speedup=round(torch_ms / ours_ms, 3),
                       compile_s=round(cand.compile_s, 2), registers=regs)
        except Exception as exc:  # noqa: BLE001 - one bad task must not stop the table
            row["error"] = f"{type(exc).__name__}: {exc}"[:300]
            traceback.print_exc()
        rows.append(row)
        print(json.dumps(row), flush=True)
    del model, inputs
    torch.cuda.empty_cache()
    return rows


def _dry_run(number: int, path: Path, ns: dict[str, Any], schedules: str, arch: str) -> list[dict]:
    with torch.device("meta"):
        model = ns["Model"](*ns.get("get_init_inputs", lambda: [])())
        inputs = list(ns["get_inputs"]())
        ref = model(*inputs)
    convs = [(name, m) for name, m in model.named_modules() if isinstance(m, CONV_TYPES)]
    scheds = GEMM_SCHEDULES if number in MATMUL_TASKS else CONV_SCHEDULES
    rows = []
    for sched in scheds[:1] if schedules == "first" else scheds:
        row: dict[str, Any] = {"task": path.stem, "schedule": ",".join(f"{k}={v}" for k, v in sched.as_map().items())}
        try:
            params: dict[str, torch.Tensor] = {}
            inter: list[tuple[str, tuple[int, ...]]] = []
            if number in MATMUL_TASKS:
                pieces, out_shape = [_matmul_emitted(MATMUL_TASKS[number], sched)[0]], tuple(ref.shape)
            else:
                pieces = []
                x_name, x_shape = "in0", tuple(inputs[0].shape)
                for i, (name, conv) in enumerate(convs):
                    pname = name.replace(".", "_")
                    params[f"{pname}_weight"] = conv.weight
                    if conv.bias is not None:
                        params[f"{pname}_bias"] = conv.bias
                    last = i == len(convs) - 1
                    em, nxt = _conv_emitted(conv, x_name, x_shape, "out" if last else f"t{i}", f"kwc{i}", pname, sched)
                    if not last:
                        inter.append((f"t{i}", nxt))
                    pieces.append(em)
                    x_name, x_shape = ("out" if last else f"t{i}"), nxt
                out_shape = x_shape
                assert out_shape == tuple(ref.shape), f"output shape {out_shape} != torch {tuple(ref.shape)}"
            cand = Candidate(pieces, out_shape, inter, inputs, params, None, arch, dry_run=True)
            row.update(compile_s=round(cand.compile_s, 2),
                       registers={k: v.get("registers") for k, v in cand.resources.items()},
                       launches=[(st.kernel, st.grid, st.block) for st in cand.resolved.steps])
        except Exception as exc:  # noqa: BLE001
            row["error"] = f"{type(exc).__name__}: {exc}"[:300]
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


COLUMNS = ["task", "schedule", "ok_vs_default", "ok_vs_fp32", "max_rel_default", "max_rel_fp32", "torch_ms",
           "ours_ms", "speedup", "compile_s", "registers", "error"]


def _write(out: Path, rows: list[dict], header: str, columns: list[str] = COLUMNS) -> None:
    out.with_suffix(".json").write_text(json.dumps(rows, indent=1))
    lines = [header, "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        lines.append("| " + " | ".join(str(r.get(c, "")).replace("|", "/").replace("\n", " ") for c in columns) + " |")
    out.write_text("\n".join(lines) + "\n")


def _tasks(args: argparse.Namespace) -> list[Path]:
    tasks = sorted((p for p in _task_dir(args.tasks).glob("*.py")
                    if int(p.name.split("_")[0]) in MATMUL_TASKS or re.search(r"conv", p.name)),
                   key=lambda p: int(p.name.split("_")[0]))
    return [p for p in tasks if any(s in p.name for s in args.only)] if args.only else tasks


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--tasks", default=None)
    ap.add_argument("--only", nargs="*", default=[], help="substrings of task names to keep")
    ap.add_argument("--schedules", choices=("first", "all"), default="all")
    ap.add_argument("--max-ms", type=float, default=2000.0, help="timing budget per measurement")
    ap.add_argument("--dry-run", action="store_true", help="no GPU: resolve plans and compile only")
    ap.add_argument("--arch", default=None, help="compile target (default: this GPU's; sm_90a for --dry-run)")
    args = ap.parse_args()
    if args.dry_run:
        arch = args.arch or "sm_90a"
        rows = []
        for p in _tasks(args):
            rows.extend(check_task(p, args.schedules, 0.0, None, arch, dry_run=True))
        _write(args.out, rows, f"# Built-in compute kernels: dry run (compile + plan only, {arch})",
               ["task", "schedule", "compile_s", "registers", "launches", "error"])
        return int(any("error" in r for r in rows))
    if not torch.cuda.is_available():
        print("no CUDA device", file=sys.stderr)
        return 2
    tasks = _tasks(args)
    launcher = launchers.make_launcher("cuda-python")
    arch = args.arch or default_arch(torch.device("cuda"))
    header = (f"# Built-in compute kernels on {torch.cuda.get_device_name()} ({arch}), torch {torch.__version__}, "
              f"{time.strftime('%Y-%m-%d %H:%M')}\n\nok_vs_default: within atol=rtol=1e-4 of the reference run "
              f"with default flags (cudnn.allow_tf32={torch.backends.cudnn.allow_tf32}, "
              f"matmul.allow_tf32={torch.backends.cuda.matmul.allow_tf32}); ok_vs_fp32: TF32 off. "
              f"Times: median of CUDA-event runs, ms.")
    rows: list[dict] = []
    for p in tasks:
        try:
            rows.extend(check_task(p, args.schedules, args.max_ms, launcher, arch))
        except Exception as exc:  # noqa: BLE001
            rows.append({"task": p.stem, "error": f"{type(exc).__name__}: {exc}"[:300]})
            traceback.print_exc()
        _write(args.out, rows, header)
    _write(args.out, rows, header)
    return 0


if __name__ == "__main__":
    sys.exit(main())
