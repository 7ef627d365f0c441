"""``kernelwright evaluate task.py candidate``: one candidate through the gpu-evaluator service."""

from __future__ import annotations

import time

from google.protobuf import json_format
from rich.table import Table

from kernelwright.cli.convert_cmd import read_task
from kernelwright.cli.mesh import endpoint
from kernelwright.common.v1 import verdict_pb2
from kernelwright.core.clients import sync_channel
from kernelwright.gpu_evaluator.candidate_files import load_candidate
from kernelwright.gpu_evaluator.v1 import gpu_evaluator_pb2 as pb
from kernelwright.gpu_evaluator.v1 import gpu_evaluator_pb2_grpc

# Generous: a KernelBench-format candidate may spend minutes in nvcc before its first trial.
EVALUATE_TIMEOUT_S = 1800.0


def run_evaluate(args, console) -> int:
    task = read_task(args.task)
    candidate = load_candidate(args.candidate, args.plan)
    with endpoint("gpu-evaluator", args.evaluator) as target, sync_channel(target) as channel:
        stub = gpu_evaluator_pb2_grpc.GpuEvaluatorServiceStub(channel)
        start = time.monotonic()
        with console.status(f"evaluating {args.candidate.name} against {task.name}..."):
            if args.check:
                verdict = stub.Check(pb.CheckRequest(task=task, candidate=candidate), timeout=600).verdict
            else:
                options = pb.EvaluateOptions(verify_only=args.verify_only, profile=args.profile)
                verdict = stub.Evaluate(pb.EvaluateRequest(task=task, candidate=candidate, options=options),
                                        timeout=EVALUATE_TIMEOUT_S).verdict
    show_verdict(verdict, console, time.monotonic() - start)
    if args.json:
        args.json.write_text(json_format.MessageToJson(verdict))
    accepted = verdict.outcome in (verdict_pb2.VERDICT_OUTCOME_ACCEPTED, verdict_pb2.VERDICT_OUTCOME_VERIFIED_UNTIMED)
    passed_check = args.check and verdict.compiled and verdict.outcome == verdict_pb2.VERDICT_OUTCOME_UNSPECIFIED
    return 0 if accepted or passed_check else 3


def show_verdict(v: verdict_pb2.Verdict, console, seconds: float) -> None:
    outcome = verdict_pb2.VerdictOutcome.Name(v.outcome).removeprefix("VERDICT_OUTCOME_")
    console.print(f"[bold]{outcome}[/bold]: {v.message}", highlight=False)
    table = Table(show_header=True)
    table.add_column("check")
    table.add_column("passed")
    table.add_column("detail")
    for c in v.checks:
        table.add_row(c.name, "yes" if c.passed else "[red]NO[/red]", c.message[:120])
    if v.checks:
        console.print(table)
    t = v.timings
    if t.candidate.trials:
        console.print(f"candidate {t.candidate.median_ms:.4f} ms (IQR {t.candidate.iqr_ms:.4f}, {t.candidate.trials} "
                      f"trials) | eager {t.eager.median_ms:.4f} ms | torch.compile {t.compiled.median_ms:.4f} ms | "
                      f"speedup {t.speedup_vs_eager:.2f}x vs eager, {t.speedup_vs_compile:.2f}x vs compile",
                      highlight=False)
    if v.suspicion:
        console.print("suspicion: " + ", ".join(verdict_pb2.SuspicionFlag.Name(f).removeprefix("SUSPICION_FLAG_")
                                                 for f in v.suspicion))
    if v.log:
        console.print(v.log, highlight=False)
    hw = v.hardware
    console.print(f"{hw.gpu_name or 'no GPU'} {('(pool ' + hw.pool + ')') if hw.pool else ''}; {seconds:.1f}s"
                  f"{' (cached verdict)' if v.cached else ''}", highlight=False)
