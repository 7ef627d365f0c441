"""``kernelwright bench DIR...``: many tasks through the evolver, results as they finish, a report at the end.

``kernelwright bench report RESULTS.jsonl... --out DIR`` rebuilds the parquet and report from
JSONL files (merging runs split across GPUs; for a task in several files the last line wins).

Each finished task is one flushed line of ``<out>/results.jsonl``, so a crash loses nothing;
``--resume`` skips tasks that already SUCCEEDED or FAILED there and runs ERROR/CANCELLED ones
again; with ``--rerun-failed`` also the FAILED ones, as new runs (after the evaluator's rules or the
generator changed, say). Each task's StartRun carries a request id derived from the output folder's identity
(``<out>/bench-id``, which moves with the folder) and the task, so a resumed bench re-attaches to a
run the evolver still has instead of starting a second one.

Exit codes: 0 the bench finished (task outcomes are data, in the report); 1 infrastructure error;
2 bad usage (no tasks found, results file exists without --resume); 130 interrupted (in-flight
runs are cancelled; their tasks run again on --resume).
"""

from __future__ import annotations

import fnmatch
import hashlib
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import grpc
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kernelwright.bench import metrics
from kernelwright.bench.report import write_report
from kernelwright.bench.results import ResultsWriter, TaskResult, done_keys, latest_by_task, read_results
from kernelwright.bench.runner import RunOptions, error_result, result_from_run, run_task
from kernelwright.cli.optimize_cmd import (EXIT_OK, EXIT_USAGE, TaskFileError, UsageError, evolver_stub, load_task,
                                           run_options)
from kernelwright.common.v1 import task_pb2
from kernelwright.evolver.v1 import evolver_pb2

RESULTS_FILE = "results.jsonl"
PARQUET_FILE = "results.parquet"


# ---- which tasks ----------------------------------------------------------------------------
def parse_levels(text: str | None) -> set[int] | None:
    if not text:
        return None
    try:
        return {int(x) for x in text.split(",") if x.strip()}
    except ValueError:
        raise UsageError(f"--levels {text!r}: expected numbers like 1,2") from None


def discover_tasks(paths: list[Path], levels: set[int] | None, pattern: str | None,
                   warn=lambda msg: None) -> list[task_pb2.Task]:
    """KernelBench task files under ``paths`` (files or folders, searched recursively), sorted by
    level, problem id and name. Files that are not tasks are skipped with a warning."""
    files: list[Path] = []
    for p in paths:
        if p.is_file():
            files.append(p)
        elif p.is_dir():
            files += sorted(f for f in p.rglob("*.py") if f.name != "__init__.py")
        else:
            raise UsageError(f"{p}: no such file or folder")
    tasks: dict[str, task_pb2.Task] = {}
    for f in files:
        if pattern and not (fnmatch.fnmatch(f.stem, pattern) or fnmatch.fnmatch(f.name, pattern)):
            continue
        try:
            task = load_task(f)
        except TaskFileError as exc:
            warn(f"skipped: {exc}")
            continue
        if levels is not None and task.level not in levels:
            continue
        tasks.setdefault(f"{task.level}/{task.name}", task)
    return sorted(tasks.values(), key=lambda t: (t.level, t.task_id, t.name))


BENCH_ID_FILE = "bench-id"


def bench_id(out_dir: Path) -> str:
    """The identity of a bench directory, kept in ``<out>/bench-id`` so it survives a move or copy.

    A resumed bench re-attaches to its runs by request id, and the id once came from the directory's
    path: a results directory copied elsewhere (another machine, another mount) then started every
    unfinished task again, next to the runs the evolver was still finishing. The first bench in a
    directory writes its resolved path as the id, so directories from before this file keep their ids.
    """
    path = out_dir / BENCH_ID_FILE
    if path.is_file():
        value = path.read_text().strip()
        if value:
            return value
    value = str(out_dir.resolve())
    out_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(value + "\n")
    return value


def request_id(identity: str, task: task_pb2.Task, attempt: int = 0) -> str:
    """The StartRun request id of a task's run in this bench; ``attempt`` n > 0 is its n-th re-run after a
    FAILED result (a new run: the same id would re-attach to the failed one)."""
    key = f"{identity}|{task.level}/{task.name}" + (f"|rerun-{attempt}" if attempt else "")
    return f"bench-{hashlib.sha256(key.encode()).hexdigest()[:24]}"


# ---- running --------------------------------------------------------------------------------
@dataclass
class _InFlight:
    """Run ids of tasks being run now, so Ctrl-C can cancel them."""

    lock: threading.Lock
    runs: dict[str, str]  # task key -> run id
    stopping: threading.Event


def _run_one(stub, task: task_pb2.Task, options: RunOptions, identity: str, inflight: _InFlight,
             attempt: int = 0) -> TaskResult | None:
    key = f"{task.level}/{task.name}"

    def started(run_id: str) -> None:
        with inflight.lock:
            inflight.runs[key] = run_id

    try:
        outcome = run_task(stub, task, options, request_id=request_id(identity, task, attempt), on_started=started)
        result = result_from_run(task, outcome)
    except grpc.RpcError as exc:
        result = error_result(task, f"{exc.code().name}: {exc.details()}")
    except Exception as exc:  # noqa: BLE001 - one task's failure must not end the bench
        result = error_result(task, f"{type(exc).__name__}: {exc}")
    finally:
        with inflight.lock:
            inflight.runs.pop(key, None)
    return None if inflight.stopping.is_set() else result  # an interrupted run is not a result


def _line(r: TaskResult) -> str:
    if r.correct:
        return (f"[green]ok[/green]   level{r.level}/{r.task}: {r.speedup_eager:.2f}x eager, "
                f"{r.speedup_compile:.2f}x compile ({r.candidates} candidates, {r.wall_s:.0f}s)")
    return f"[red]{r.outcome.lower():5}[/red] level{r.level}/{r.task}: {r.reason[:140]}"


def run_bench_tasks(stub, tasks: list[task_pb2.Task], options: RunOptions, out_dir: Path, concurrency: int,
                    console, attempts: dict[str, int] | None = None) -> None:
    writer = ResultsWriter(out_dir / RESULTS_FILE)
    inflight = _InFlight(threading.Lock(), {}, threading.Event())
    columns = [TextColumn("[bold]bench[/bold]"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
               TimeElapsedColumn()]
    correct = 0
    identity = bench_id(out_dir)
    with Progress(*columns, console=console) as progress, ThreadPoolExecutor(max_workers=concurrency) as pool:
        bar = progress.add_task("", total=len(tasks))
        attempts = attempts or {}
        pending: set[Future] = {pool.submit(_run_one, stub, t, options, identity, inflight,
                                            attempts.get(f"{t.level}/{t.name}", 0)) for t in tasks}
        try:
            while pending:
                done, pending = wait(pending, timeout=1.0, return_when=FIRST_COMPLETED)
                for future in done:
                    result = future.result()
                    if result is None:
                        continue
                    writer.append(result)
                    correct += result.correct
                    progress.console.print(_line(result), highlight=False)
                    progress.advance(bar)
                    progress.update(bar, description=f"{correct} correct")
        except KeyboardInterrupt:
            inflight.stopping.set()
            for future in pending:
                future.cancel()
            with inflight.lock:
                run_ids = list(inflight.runs.values())
            for run_id in run_ids:  # ends their WatchRun streams, so the workers return
                try:
                    stub.CancelRun(evolver_pb2.CancelRunRequest(run_id=run_id), timeout=10)
                except grpc.RpcError:
                    pass
            raise


# ---- reporting ------------------------------------------------------------------------------
def summary_table(results: list[TaskResult]) -> Table:
    s = metrics.summarize(results)
    table = Table(title=f"{s.tasks} tasks, {s.correct} correct ({100 * s.correctness_rate:.1f}%)")
    table.add_column("level")
    table.add_column("tasks")
    table.add_column("correct")
    for b in metrics.BASELINES:
        table.add_column(f"fast_1 vs {b}")
        table.add_column(f"geomean vs {b}")

    def row(name: str, x: metrics.Summary) -> list[str]:
        cells = [name, str(x.tasks), f"{100 * x.correctness_rate:.1f}%"]
        for b in metrics.BASELINES:
            g = x.geomean[b]
            cells += [f"{100 * x.fast[b][1.0]:.1f}%", f"{g:.2f}x" if g else "-"]
        return cells

    for level, x in metrics.per_level(results).items():
        table.add_row(*row(str(level or "?"), x))
    table.add_row(*row("all", s))
    return table


def write_outputs(results: list[TaskResult], out_dir: Path, console, note: str = "") -> None:
    # The archive's writer pulls in qdrant-client: imported here so `kernelwright --help` and the
    # other commands do not need it (the GPU machine runs `evaluate` without it).
    from kernelwright.bench.parquet import write_parquet

    write_parquet(results, out_dir / PARQUET_FILE)
    files = write_report(results, out_dir, note=note)
    console.print(summary_table(results))
    for g in metrics.goals(results):
        actual = "n/a" if g.actual is None else f"{100 * g.actual:.1f}%"
        mark = "[green]met[/green]" if g.met else "[red]NOT met[/red]"
        console.print(f"goal: {g.name} >= {100 * g.target:.0f}%: {actual} {mark}", highlight=False)
    console.print(f"wrote {out_dir / PARQUET_FILE}, {files.markdown}, {files.html}, {files.png}", highlight=False)


def run_bench_report(files: list[Path], out_dir: Path, console) -> int:
    if not files:
        raise UsageError("bench report: name one or more results .jsonl files")
    results: list[TaskResult] = []
    for f in files:
        if not f.is_file():
            raise UsageError(f"{f}: no such file")
        results += list(read_results(f))
    merged = latest_by_task(results)
    write_outputs(merged, out_dir, console, note=f"Merged from {', '.join(f.name for f in files)}.")
    return EXIT_OK


def run_bench(args, console, err_console) -> int:
    try:
        if args.paths and str(args.paths[0]) == "report":
            return run_bench_report(list(args.paths[1:]), args.out, console)
        if args.concurrency < 1:
            raise UsageError("--concurrency must be at least 1")
        options = run_options(args)
        tasks = discover_tasks(list(args.paths), parse_levels(args.levels), args.tasks,
                               warn=lambda m: err_console.print(f"[yellow]{m}[/yellow]", highlight=False))
        if not tasks:
            raise UsageError("no KernelBench tasks found under " + ", ".join(map(str, args.paths)))
        results_path = args.out / RESULTS_FILE
        if results_path.exists() and not args.resume:
            raise UsageError(f"{results_path} exists: pass --resume to continue it, or choose another --out")
        if args.rerun_failed and not args.resume:
            raise UsageError("--rerun-failed continues a bench: pass --resume too")
    except UsageError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False)
        return EXIT_USAGE
    done = done_keys(results_path)
    previous = list(read_results(results_path)) if results_path.is_file() else []
    # A task's n-th re-run after FAILED results is attempt n (its FAILED lines so far): a bench cut during a
    # re-run re-attaches to that run on the next --resume, and one that FAILED again is retried as a new run.
    attempts: dict[str, int] = {}
    for r in previous:
        if r.outcome == "FAILED":
            attempts[r.key] = attempts.get(r.key, 0) + 1
    if args.rerun_failed:
        done -= {r.key for r in latest_by_task(previous) if r.outcome == "FAILED"}
    todo = [t for t in tasks if f"{t.level}/{t.name}" not in done]
    console.print(f"{len(tasks)} tasks, {len(tasks) - len(todo)} already done, {len(todo)} to run "
                  f"({args.concurrency} at a time)", highlight=False)
    args.out.mkdir(parents=True, exist_ok=True)
    if todo:
        with evolver_stub(args.evolver, console) as stub:
            run_bench_tasks(stub, todo, options, args.out, args.concurrency, console, attempts)
    wanted = {f"{t.level}/{t.name}" for t in tasks}
    results = [r for r in latest_by_task(read_results(results_path)) if r.key in wanted]
    proposers = ", ".join(n for n, _ in options.proposers) or "the evolver's default"
    write_outputs(results, args.out, console,
                  note=f"Proposers: {proposers}; budget: {args.budget or 'default'} candidates per task.")
    return EXIT_OK


def add_arguments(sub) -> None:
    from kernelwright.cli.optimize_cmd import add_budget_arguments

    b = sub.add_parser("bench", help="run many tasks and report correctness, fast_p and speedups "
                       "(`bench report RESULTS.jsonl...` rebuilds a report)")
    b.add_argument("paths", type=Path, nargs="+", metavar="DIR",
                   help="task folders or files (searched recursively); or `report` then results .jsonl files")
    add_budget_arguments(b)
    b.add_argument("--levels", help="only these KernelBench levels, e.g. 1,2")
    b.add_argument("--tasks", metavar="GLOB", help="only task files whose name matches, e.g. '1*_Gemm*'")
    b.add_argument("--out", type=Path, default=Path("bench-results"),
                   help="results.jsonl, results.parquet, report.md/.html, speedups.png (default: bench-results)")
    b.add_argument("--resume", action="store_true", help="continue an existing results.jsonl: skip finished tasks")
    b.add_argument("--rerun-failed", action="store_true",
                   help="with --resume: run tasks whose result is FAILED again, as new runs")
    b.add_argument("--concurrency", type=int, default=4, help="tasks run at once (default 4)")
