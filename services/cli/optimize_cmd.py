"""``kernelwright optimize task.py``: one task through the evolver, live progress, the winner on disk.

Exit codes: 0 a verified winner was written; 1 infrastructure error (evolver unreachable, an RPC
failed); 2 bad usage or an invalid task file; 3 the run ended without a verified candidate (FAILED
or CANCELLED: the reason is printed); 130 interrupted (the run is cancelled first).

Outputs in ``--out`` (default: the current folder), named after the task file's stem:
``<task>.cu`` + ``<task>.plan.json`` (fast format: what ``kernelwright evaluate`` reads),
``<task>_modelnew.py`` (KernelBench ``ModelNew``, drop-in for KernelBench's own evaluator), and
``<task>.report.json`` (the run, the winner's verdict and lineage, every progress event).
"""

from __future__ import annotations

import ast
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import grpc
from google.protobuf import json_format
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from kernelwright.bench.runner import RunOptions, RunOutcome, run_task
from kernelwright.cli.convert_cmd import read_task
from kernelwright.common.v1 import kernel_pb2, task_pb2, verdict_pb2
from kernelwright.core.clients import sync_channel
from kernelwright.evolver.v1 import evolver_pb2, evolver_pb2_grpc

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_NO_WINNER = 0, 1, 2, 3
REQUIRED_NAMES = ("Model", "get_inputs", "get_init_inputs")
CONNECT_TIMEOUT_S = 15.0


class UsageError(ValueError):
    """Bad arguments: printed as one line, exit code 2."""


class TaskFileError(UsageError):
    """The task file is missing or is not a KernelBench task."""


class EvolverUnreachable(RuntimeError):
    pass


# ---- inputs ---------------------------------------------------------------------------------
def load_task(path: Path) -> task_pb2.Task:
    """Read and check a KernelBench task file: Python that defines Model, get_inputs, get_init_inputs."""
    try:
        task = read_task(path)
    except FileNotFoundError as exc:
        raise TaskFileError(str(exc)) from None
    try:
        tree = ast.parse(task.source, filename=str(path))
    except SyntaxError as exc:
        raise TaskFileError(f"{path}: not valid Python (line {exc.lineno}: {exc.msg})") from None
    defined = {n.name for n in tree.body if isinstance(n, (ast.ClassDef, ast.FunctionDef))}
    missing = [n for n in REQUIRED_NAMES if n not in defined]
    if missing:
        raise TaskFileError(f"{path}: not a KernelBench task (missing {', '.join(missing)})")
    return task


def parse_proposers(values: list[str] | None) -> list[tuple[str, float]]:
    """``["builtin", "anthropic=0.5"]`` -> ``[("builtin", 1.0), ("anthropic", 0.5)]``."""
    out = []
    for value in values or []:
        name, _, weight = value.partition("=")
        try:
            out.append((name.strip(), float(weight) if weight else 1.0))
        except ValueError:
            raise UsageError(f"--proposer {value!r}: the weight must be a number") from None
    return out


def run_options(args) -> RunOptions:
    budget = evolver_pb2.Budget(max_candidates=args.budget or 0, max_generations=args.generations or 0,
                                max_wall_seconds=args.wall_seconds or 0.0, max_llm_cost_usd=args.max_cost or 0.0)
    return RunOptions(budget=budget, proposers=parse_proposers(args.proposer), target_pool=args.pool or "")


# ---- the evolver ----------------------------------------------------------------------------
@contextlib.contextmanager
def evolver_stub(explicit: str | None, console) -> Iterator[evolver_pb2_grpc.EvolverServiceStub]:
    """A stub for the configured evolver (flag, env, mesh file), else for a local in-process mesh."""
    from kernelwright.cli import mesh

    address = mesh.configured_address("evolver", explicit)
    with contextlib.ExitStack() as stack:
        if address is None:
            with console.status("starting a local mesh (converter, archive, gpu-evaluator, translator, evolver)..."):
                address = stack.enter_context(mesh.local_mesh(require=("evolver",)))["evolver"]
        channel = stack.enter_context(sync_channel(address))
        try:
            grpc.channel_ready_future(channel).result(timeout=CONNECT_TIMEOUT_S)
        except grpc.FutureTimeoutError:
            raise EvolverUnreachable(
                f"the evolver at {address} is unreachable (no answer in {CONNECT_TIMEOUT_S:.0f}s); start "
                "`kernelwright up`, or pass --evolver host:port / set KW_EVOLVER_ADDR") from None
        yield evolver_pb2_grpc.EvolverServiceStub(channel)


# ---- progress -------------------------------------------------------------------------------
def stage_name(stage: int) -> str:
    return evolver_pb2.Stage.Name(stage).removeprefix("STAGE_").lower() if stage else "queued"


def state_name(state: int) -> str:
    return evolver_pb2.RunState.Name(state).removeprefix("RUN_STATE_")


def describe(p: evolver_pb2.RunProgress) -> str:
    ok = p.outcomes.get("VERDICT_OUTCOME_ACCEPTED", 0) + p.outcomes.get("VERDICT_OUTCOME_VERIFIED_UNTIMED", 0)
    failed = sum(p.outcomes.values()) - ok
    final = p.state in (evolver_pb2.RUN_STATE_SUCCEEDED, evolver_pb2.RUN_STATE_FAILED, evolver_pb2.RUN_STATE_CANCELLED)
    parts = [state_name(p.state) if final else stage_name(p.stage), f"gen {p.generation}", f"verified {ok}, failed {failed}"]
    if p.best_speedup_vs_eager:
        parts.append(f"best {p.best_speedup_vs_eager:.2f}x eager / {p.best_speedup_vs_compile:.2f}x compile")
    if p.llm_cost_usd:
        parts.append(f"${p.llm_cost_usd:.2f}")
    return " | ".join(parts)


def watch_with_progress(stub, task: task_pb2.Task, options: RunOptions, console) -> RunOutcome:
    total = options.budget.max_candidates or None
    columns = [SpinnerColumn(), TextColumn("[bold]{task.fields[name]}[/bold]"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.description}"), TimeElapsedColumn()]
    with Progress(*columns, console=console, transient=False) as progress:
        bar = progress.add_task("starting", total=total, name=task.name)

        def update(p: evolver_pb2.RunProgress) -> None:
            progress.update(bar, completed=p.candidates_evaluated, description=describe(p))

        return run_task(stub, task, options, on_progress=update)


# ---- results --------------------------------------------------------------------------------
def checks_passed(v: verdict_pb2.Verdict) -> str:
    return f"{sum(1 for c in v.checks if c.passed)}/{len(v.checks)}" if v.checks else "-"


def result_table(task: task_pb2.Task, run: evolver_pb2.Run) -> Table:
    v = run.best_verdict
    t = v.timings
    table = Table(title=f"{task.name}: {state_name(run.state)}", show_header=True)
    for col in ("eager ms", "torch.compile ms", "ours ms", "vs eager", "vs compile", "checks passed", "GPU"):
        table.add_column(col)
    ms = lambda s: f"{s.median_ms:.4f}" if s.trials or s.median_ms else "-"  # noqa: E731
    x = lambda s: f"{s:.2f}x" if s else "-"  # noqa: E731
    table.add_row(ms(t.eager), ms(t.compiled), ms(t.candidate), x(t.speedup_vs_eager), x(t.speedup_vs_compile),
                  checks_passed(v), v.hardware.gpu_name or "-")
    return table


def export_modelnew(candidate: kernel_pb2.KernelCandidate, task_source: str) -> tuple[str | None, str]:
    """(ModelNew source, note). The fast format goes through helper F's exporter when it is installed."""
    if candidate.format == kernel_pb2.CANDIDATE_FORMAT_KERNELBENCH:
        return candidate.kernelbench_source, ""
    try:
        from kernelwright.translator.kernelbench_export import to_kernelbench
    except ImportError:
        return None, ("no KernelBench ModelNew written: the exporter (kernelwright.translator.kernelbench_export) "
                      "is not installed in this version")
    try:
        return to_kernelbench(candidate, task_source), ""
    except ValueError as exc:
        return None, f"no KernelBench ModelNew written: the plan cannot be exported ({exc})"


def lineage(run: evolver_pb2.Run) -> list[dict]:
    """What the run tells about the winner's ancestry: the winner and its direct parents' ids."""
    best = run.best
    return [{"id": best.id, "proposer": best.proposer, "parents": list(best.parent_ids),
             "schedule": dict(best.schedule)}]


def write_outputs(task: task_pb2.Task, outcome: RunOutcome, out_dir: Path) -> tuple[list[Path], list[str]]:
    """Write the winner's files and the report; returns (paths written, notes)."""
    run = outcome.run
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = task.name
    written: list[Path] = []
    notes: list[str] = []
    best = run.best
    if best.format == kernel_pb2.CANDIDATE_FORMAT_FAST and best.cuda_source:
        cu, plan = out_dir / f"{stem}.cu", out_dir / f"{stem}.plan.json"
        cu.write_text(best.cuda_source)
        plan.write_text(json_format.MessageToJson(best.plan))
        written += [cu, plan]
    modelnew, note = (export_modelnew(best, task.source) if run.state == evolver_pb2.RUN_STATE_SUCCEEDED
                      else (None, ""))
    if modelnew is not None:
        path = out_dir / f"{stem}_modelnew.py"
        path.write_text(modelnew)
        written.append(path)
    if note:
        notes.append(note)
    report_path = out_dir / f"{stem}.report.json"
    report = {
        "task": {"name": task.name, "level": task.level, "task_id": task.task_id, "path": task.origin},
        "state": state_name(run.state),
        "message": run.message,
        "wall_seconds": round(outcome.wall_s, 3),
        "files": [p.name for p in written],
        "notes": notes,
        "lineage": lineage(run),
        "run": json_format.MessageToDict(run),
        "events": [json_format.MessageToDict(e) for e in outcome.events],
    }
    report_path.write_text(json.dumps(report, indent=2))
    written.append(report_path)
    return written, notes


def run_optimize(args, console, err_console) -> int:
    try:
        task = load_task(args.task)
        options = run_options(args)
    except UsageError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False)
        return EXIT_USAGE
    with evolver_stub(args.evolver, console) as stub:
        try:
            outcome = watch_with_progress(stub, task, options, console)
        except grpc.RpcError as exc:
            if exc.code() not in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION):
                raise  # infrastructure: one line, exit 1
            err_console.print(f"[red]error:[/red] the evolver refused the run: {exc.details()}", highlight=False)
            return EXIT_USAGE
    run = outcome.run
    console.print(result_table(task, run))
    verified = run.state == evolver_pb2.RUN_STATE_SUCCEEDED and run.HasField("best")
    if not verified:
        console.print(f"[red]no verified candidate[/red] ({state_name(run.state)}): "
                      f"{run.message or 'the run gave no reason'}", highlight=False)
    written, notes = write_outputs(task, outcome, args.out)
    for note in notes:
        console.print(f"[yellow]note:[/yellow] {note}", highlight=False)
    console.print("wrote " + ", ".join(str(p) for p in written), highlight=False)
    return EXIT_OK if verified else EXIT_NO_WINNER


def add_budget_arguments(p) -> None:
    """Budget, proposers and evolver address: shared by ``optimize`` and ``bench``."""
    p.add_argument("--budget", type=int, default=0, metavar="N",
                   help="candidates to evaluate per task (default: the evolver's, 64)")
    p.add_argument("--generations", type=int, default=0, help="generation limit (default: the evolver's)")
    p.add_argument("--wall-seconds", type=float, default=0.0, help="wall-time limit per run (default: the evolver's)")
    p.add_argument("--max-cost", type=float, default=0.0, help="LLM cost limit in USD per run (default: the evolver's)")
    p.add_argument("--proposer", action="append", metavar="NAME[=WEIGHT]",
                   help="proposer in the ensemble, repeatable, e.g. builtin or anthropic=0.5 (default: the evolver's)")
    p.add_argument("--pool", default="", help="evaluator pool / GPU model to run on, e.g. h100 (default: any)")
    p.add_argument("--evolver", help="evolver address host:port (default: KW_EVOLVER_ADDR, a running "
                   "`kernelwright up`, else a local in-process mesh)")


def add_arguments(sub) -> None:
    from pathlib import Path as _Path

    o = sub.add_parser("optimize", help="stage 3: evolve a verified, faster CUDA kernel for one task")
    o.add_argument("task", type=_Path, help="a KernelBench task file")
    add_budget_arguments(o)
    o.add_argument("--out", type=_Path, default=_Path("."), help="where to write <task>.cu, <task>.plan.json, "
                   "<task>_modelnew.py and <task>.report.json (default: the current folder)")
