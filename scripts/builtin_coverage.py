"""Coverage of the builtin (no LLM) generator over task folders, optionally evaluated on the GPU.

    python scripts/builtin_coverage.py .kb/dev/level1 .kb/dev/level2 --out docs/results/builtin
    python scripts/builtin_coverage.py .kb/dev/level1 .kb/dev/level2 --evaluate --candidates 2 --out /tmp/cov

Without ``--evaluate`` (any machine): per task, whether the lowering supports it, its stages, ops,
and the reason when not. With ``--evaluate`` (a CUDA machine): the first ``--candidates``
candidates of the ``builtin`` proposer go through the evaluator's in-process pipeline, each task in
its own child process (a kernel fault cannot poison the next task); the best accepted candidate
is reported. Writes ``<out>.jsonl`` and ``<out>.md``.

Timing many tasks (``--evaluate --batch``, ~5 s of GPU time a task instead of ~35 s): first
torch.compile's on-disk caches are warmed for every task by ``--jobs`` parallel children that time
nothing, then the tasks are evaluated one after another in one long-lived child, alone on the GPU.
A crash or a hang (``--timeout``) costs that task and a fresh child goes on; an out-of-memory error
is retried once in a fresh child. ``--batch-phase warm|time`` runs one phase (e.g. to let another
job finish between them); ``--resume`` skips tasks already in ``<out>.jsonl``.

    python scripts/builtin_coverage.py .kb/dev/level2 --evaluate --batch --jobs 8 --candidates 1 --timeout 90 --out /tmp/l2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

COLUMNS = ["task", "level", "covered", "correct", "ours_ms", "eager_ms", "compile_ms", "vs_eager", "vs_compile",
           "stages", "schedule", "reason"]


def _level(path: Path) -> str:
    return path.parent.name.replace("level", "") if path.parent.name.startswith("level") else ""


def analyze(path: Path) -> dict:
    from kernelwright.translator.builtin import analyze_program, analyze_task
    from kernelwright.translator.builtin.elementwise import Unsupported

    src = path.read_text()
    row: dict = {"task": path.stem, "level": _level(path)}
    ew = analyze_task(src)
    prog = analyze_program(src)
    if not prog:
        row.update(covered=not isinstance(ew, Unsupported), reason=prog.reason[:300],
                   stages="elementwise" if not isinstance(ew, Unsupported) else "")
        return row
    row.update(covered=True, stages=" ".join(s.kind for s in prog.stages),
               generator="elementwise" if not isinstance(ew, Unsupported) else "lowering",
               ops=" ".join(o.replace("aten.", "") for o in prog.ops), reason="")
    return row


def evaluate_one(path: Path, n_candidates: int, verify_only: bool = False, ctx=None) -> dict:
    """In a child process: propose, evaluate the first ``n_candidates``, keep the best accepted.

    ``ctx`` lets one long-lived child evaluate many tasks (``--batch``).
    """
    from kernelwright.common.v1 import kernel_pb2, verdict_pb2
    from kernelwright.gpu_evaluator.pipeline import EvalOptions, evaluate
    from kernelwright.gpu_evaluator.worker import make_context
    from kernelwright.translator.builtin import BuiltinProposer
    from kernelwright.translator.proposers import ProposalRequest

    row = analyze(path)
    src = path.read_text()
    res = BuiltinProposer().propose_sync(ProposalRequest(task_name=path.stem, task_source=src, functional_source="",
                                                         format=kernel_pb2.CANDIDATE_FORMAT_FAST))
    if not res.candidates:
        row.update(correct=False, reason=(res.problems or [row.get("reason", "")])[0][:300])
        return row
    ctx = ctx or make_context("builtin-coverage")
    best = None
    outcomes = []
    for cand in res.candidates[:n_candidates]:
        v = evaluate(ctx, src, cand, EvalOptions(verify_only=verify_only))
        name = verdict_pb2.VerdictOutcome.Name(v.outcome).replace("VERDICT_OUTCOME_", "")
        outcomes.append(f"{name}: {v.message[:120]}" if name != "ACCEPTED" else name)
        if verify_only and name == "VERIFIED_UNTIMED":
            best = (cand, v)
            break  # coverage needs one verified candidate; timing (without --verify-only) compares them
        if name == "ACCEPTED" and (best is None or v.timings.candidate.median_ms < best[1].timings.candidate.median_ms):
            best = (cand, v)
    if best is None:
        row.update(correct=False, reason=" | ".join(outcomes)[:400])
        return row
    cand, v = best
    if verify_only:
        row.update(correct=True, schedule=" ".join(f"{k}={val}" for k, val in sorted(cand.schedule.items())))
        return row
    t = v.timings
    row["phases"] = {k: round(val, 2) for k, val in v.phase_seconds.items()}  # where a task's seconds go
    row.update(correct=True, ours_ms=round(t.candidate.median_ms, 4), eager_ms=round(t.eager.median_ms, 4),
               compile_ms=round(t.compiled.median_ms, 4), vs_eager=round(t.speedup_vs_eager, 3),
               vs_compile=round(t.speedup_vs_compile, 3),
               schedule=" ".join(f"{k}={val}" for k, val in sorted(cand.schedule.items())))
    return row


def warm_compile(path: Path) -> dict:
    """torch.compile the reference once, so the timing pass finds inductor's on-disk caches warm
    (codegen and Triton builds take ~10-20 s a task; a cache hit takes ~1-2 s)."""
    import torch

    from kernelwright.gpu_evaluator import harness
    from kernelwright.gpu_evaluator.worker import make_context

    start = time.perf_counter()
    ctx = make_context("builtin-coverage")
    task = ctx.task(path.read_text())
    inputs = harness.make_inputs(task.module, harness.TrialSpec("warm", 1, "task"), ctx.device)
    with torch.no_grad():
        torch.compile(task.model)(*inputs)
    torch.cuda.synchronize()
    return {"task": path.stem, "level": _level(path), "warm_compile_s": round(time.perf_counter() - start, 1)}


def batch_worker(paths: list[Path], n_candidates: int) -> None:
    """One process, many tasks, in order; a row per task on stdout. The parent restarts it after a crash."""
    from kernelwright.gpu_evaluator.worker import make_context

    ctx = make_context("builtin-coverage")
    for p in paths:
        print(f"KW_START {p}", flush=True)
        start = time.perf_counter()
        try:
            row = evaluate_one(p, n_candidates, ctx=ctx)
        except Exception as exc:  # noqa: BLE001 - a row, not a dead batch; fatal CUDA errors end the process
            from kernelwright.gpu_evaluator.pipeline import is_fatal

            if "out of memory" in str(exc).lower() and str(p) not in os.environ.get("KW_BATCH_NO_RETRY", ""):
                # Memory held over from earlier tasks (allocator, compiled graphs): once more in a fresh child.
                print(f"KW_RETRY {p}", flush=True)
                sys.exit(4)

            row = {"task": p.stem, "level": _level(p), "covered": None, "correct": False,
                   "reason": f"evaluator raised {type(exc).__name__}: {str(exc)[:300]}"}
            if is_fatal(exc):
                row["seconds"] = round(time.perf_counter() - start, 1)
                print("KW_ROW " + json.dumps(row), flush=True)
                sys.exit(3)
        row["seconds"] = round(time.perf_counter() - start, 1)
        print("KW_ROW " + json.dumps(row), flush=True)
        ctx.tasks.clear()  # one task at a time: free its model, inputs and compiled graph
        import gc

        import torch

        gc.collect()
        torch.cuda.empty_cache()


def run_batch(paths: list[Path], opts, record) -> None:
    """Serial timing in long-lived children: a crash or hang costs one task, then a fresh child goes on."""
    todo = list(paths)
    retried: list[str] = []
    while todo:
        cmd = [sys.executable, __file__, "--batch-worker", *map(str, todo), "--candidates", str(opts.candidates)]
        env = {**os.environ, "KW_BATCH_NO_RETRY": "\n".join(retried)}
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        current: Path | None = None
        started = time.perf_counter()
        import threading

        def _watchdog(proc=proc) -> None:
            # A hang inside one task: kill the child once that task exceeds --timeout.
            while proc.poll() is None:
                if current is not None and time.perf_counter() - started > opts.timeout:
                    proc.kill()
                    return
                time.sleep(1)

        threading.Thread(target=_watchdog, daemon=True).start()
        tail: list[str] = []
        retrying = False
        for line in proc.stdout:  # type: ignore[union-attr]
            if line.startswith("KW_START "):
                current, started = Path(line[9:].strip()), time.perf_counter()
            elif line.startswith("KW_RETRY "):
                retried.append(line[9:].strip())
                current = None  # stays in todo: the next child starts with it
                retrying = True
            elif line.startswith("KW_ROW "):
                record(json.loads(line[7:]))
                todo.remove(current)
                current = None
            else:
                tail = (tail + [line.rstrip()])[-20:]
        proc.wait()
        if current is not None:  # died inside a task: record it and go on with a fresh child
            record({"task": current.stem, "level": _level(current), "covered": None, "correct": False,
                    "reason": f"batch worker exited {proc.returncode} in this task: {' '.join(tail)[-300:]}",
                    "seconds": round(time.perf_counter() - started, 1)})
            todo.remove(current)
        elif proc.returncode != 0 and todo and not retrying:
            raise SystemExit(f"batch worker failed before a task: {' '.join(tail)[-500:]}")


def _markdown(rows: list[dict], title: str) -> str:
    cov = sum(1 for r in rows if r.get("covered"))
    lines = [f"# {title}", "", f"{cov}/{len(rows)} tasks lowered"]
    if any("correct" in r for r in rows):
        ok = sum(1 for r in rows if r.get("correct"))
        lines[-1] += f"; {ok}/{len(rows)} correct on the GPU"
    lines += ["", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in rows:
        lines.append("| " + " | ".join(str(r.get(c, "")).replace("|", "/") for c in COLUMNS) + " |")
    return "\n".join(lines) + "\n"


def _run_child(p: Path, opts, warm_only: bool = False) -> dict:
    start = time.perf_counter()
    cmd = [sys.executable, __file__, "--worker", str(p), "--candidates", str(opts.candidates)]
    if opts.verify_only:
        cmd.append("--verify-only")
    if warm_only:
        cmd.append("--warm-compile")
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=opts.timeout)
        found = [ln[7:] for ln in proc.stdout.splitlines() if ln.startswith("KW_ROW ")]
        row = json.loads(found[-1]) if found else {
            "task": p.stem, "level": _level(p), "covered": None, "correct": False,
            "reason": f"worker exited {proc.returncode}: {proc.stderr.strip()[-300:]}"}
    except subprocess.TimeoutExpired:
        row = {"task": p.stem, "level": _level(p), "covered": None, "correct": False,
               "reason": f"no result within {opts.timeout} s (task timeout)"}
    row["seconds"] = round(time.perf_counter() - start, 1)
    return row


def _retry_serially(row: dict) -> bool:
    # Parallel verification shares one GPU: a memory failure may be a neighbour's fault.
    text = str(row.get("reason", ""))
    return not row.get("correct") and ("OUT_OF_MEMORY" in text or "out of memory" in text.lower()
                                       or text.startswith("worker exited"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dirs", nargs="*", type=Path, help="task folders or files, evaluated in the order given")
    ap.add_argument("--evaluate", action="store_true", help="evaluate candidates on the GPU (CUDA machine)")
    ap.add_argument("--candidates", type=int, default=2, help="candidates evaluated per task (first of the grid)")
    ap.add_argument("--out", type=Path, default=Path("builtin_coverage"), help="output path without suffix")
    ap.add_argument("--timeout", type=int, default=900, help="seconds per task (evaluate)")
    ap.add_argument("--verify-only", action="store_true",
                    help="correctness only (no timing): tasks may then run in parallel (--jobs)")
    ap.add_argument("--jobs", type=int, default=1,
                    help="tasks evaluated at once; only with --verify-only (parallel timing would be meaningless); "
                         "memory failures are retried alone at the end")
    ap.add_argument("--only-correct", type=Path,
                    help="a previous .jsonl: evaluate only the tasks it found correct (e.g. time what verified)")
    ap.add_argument("--resume", action="store_true", help="keep rows already in <out>.jsonl and skip their tasks")
    ap.add_argument("--batch", action="store_true",
                    help="timing in two phases: warm torch.compile's on-disk caches for every task in parallel "
                         "children (--jobs; nothing timed), then evaluate the tasks one after another in a "
                         "long-lived child (restarted after a crash): the GPU runs one timing at a time")
    ap.add_argument("--batch-phase", choices=("both", "warm", "time"), default="both",
                    help="with --batch: only warm the caches, only time, or both (default)")
    ap.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--warm-compile", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--batch-worker", nargs="+", type=Path, help=argparse.SUPPRESS)
    opts = ap.parse_args()
    if opts.worker:
        row = warm_compile(opts.worker) if opts.warm_compile else evaluate_one(opts.worker, opts.candidates,
                                                                               opts.verify_only)
        print("KW_ROW " + json.dumps(row), flush=True)
        return
    if opts.batch_worker:
        batch_worker(opts.batch_worker, opts.candidates)
        return
    if opts.batch and (opts.verify_only or not opts.evaluate):
        ap.error("--batch times tasks: it needs --evaluate and no --verify-only")
    if opts.jobs > 1 and not (opts.evaluate and (opts.verify_only or opts.batch)):
        ap.error("--jobs > 1 needs --evaluate with --verify-only or --batch")

    def _key(p: Path):
        return int(p.stem.split("_")[0]) if p.stem.split("_")[0].isdigit() else 0

    paths = [p for d in opts.dirs for p in ([d] if d.is_file() else sorted(d.glob("*.py"), key=_key))]
    if opts.only_correct:
        ok = {(r["level"], r["task"]) for r in map(json.loads, opts.only_correct.read_text().splitlines()) if r.get("correct")}
        paths = [p for p in paths if (_level(p), p.stem) in ok]
    rows: list[dict] = []
    jsonl = opts.out.with_suffix(".jsonl")
    if opts.resume and jsonl.exists():
        rows = [json.loads(line) for line in jsonl.read_text().splitlines() if line.strip()]
        done = {(r["level"], r["task"]) for r in rows}
        paths = [p for p in paths if (_level(p), p.stem) not in done]
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    title = "Builtin generator coverage" + ((" (verified, untimed)" if opts.verify_only else " (evaluated)")
                                          if opts.evaluate else "")

    def record(row: dict) -> None:
        print(json.dumps(row), flush=True)
        rows.append(row)
        jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows))
        opts.out.with_suffix(".md").write_text(_markdown(rows, title))

    if not opts.evaluate:
        for p in paths:
            start = time.perf_counter()
            row = analyze(p)
            row["seconds"] = round(time.perf_counter() - start, 1)
            record(row)
        return
    from concurrent.futures import ThreadPoolExecutor, as_completed

    if opts.batch:
        # Phase 1 (parallel, nothing timed): warm the compile caches. A failure here is only logged:
        # phase 2 evaluates every task in full either way.
        phase1 = opts.out.with_name(opts.out.name + "-warm.jsonl")
        if opts.batch_phase == "time":
            paths, warm_paths = paths, []
        else:
            warm_paths = paths
        with ThreadPoolExecutor(max_workers=max(1, opts.jobs)) as pool, phase1.open("a") as log:
            for fut in as_completed([pool.submit(_run_child, p, opts, True) for p in warm_paths]):
                log.write(json.dumps(fut.result()) + "\n")
                log.flush()
        # Phase 2 (serial, alone on the GPU): verify and time, one task at a time.
        if opts.batch_phase != "warm":
            run_batch(paths, opts, record)
        return

    retry: list[Path] = []
    with ThreadPoolExecutor(max_workers=max(1, opts.jobs)) as pool:
        futures = {pool.submit(_run_child, p, opts): p for p in paths}
        for fut in as_completed(futures):
            row = fut.result()
            if opts.jobs > 1 and _retry_serially(row):
                retry.append(futures[fut])
                continue
            record(row)
    for p in retry:
        row = _run_child(p, opts)
        row["note"] = "retried alone after a failure while sharing the GPU"
        record(row)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
