#!/usr/bin/env python
"""On a GPU: export all corpus fast-format candidates to KernelBench ModelNew files and evaluate them.

    python scripts/export_gpu_check.py --out OUTDIR [--cli] [--tasks 19_ReLU,23_Softmax] [--verify-only]

For each ``tests/gpu_evaluator/corpus/<task>/fast.cu`` (+ ``fast.plan.json``): export to
``OUTDIR/<task>.py`` with ``kernelwright.translator.kernelbench_export``, build every export's
extension in parallel (the evaluator's KernelBench build cache, so the evaluation does not pay nvcc
serially), then evaluate the exported file through the evaluator's KernelBench-format path and,
for comparison, the original fast-format candidate. ``--cli`` evaluates the exports with
``kernelwright evaluate TASK OUT.py --json ...`` in a subprocess (the exact user path; an
in-process evaluator per command) instead of calling the pipeline in this process.
Writes ``OUTDIR/export_check.md`` (and ``.json``) after every row, so a cut-short run keeps its rows.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import datetime
import json
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "gpu_evaluator" / "corpus"
TASK_ROOTS = (ROOT / ".kb" / "dev", ROOT.parent / "shared" / "benchmarks" / "kernelbench" / "dev")
COLUMNS = ["task", "export", "kb_outcome", "kb_ms", "fast_outcome", "fast_ms", "eager_ms", "kb_failed_checks",
           "build", "message"]


def task_path(rel: str) -> Path:
    for base in TASK_ROOTS:
        if (base / rel).is_file():
            return base / rel
    raise FileNotFoundError(f"task {rel} not under {', '.join(map(str, TASK_ROOTS))}")


def _build_one(source: str, cache_dir: str) -> str:
    from kernelwright.gpu_evaluator.kb_runner import load_model_new

    start = time.perf_counter()
    try:
        load_model_new(source, Path(cache_dir))
        return f"ok {time.perf_counter() - start:.0f}s"
    except Exception as exc:  # noqa: BLE001 - reported in the table
        return f"FAILED {time.perf_counter() - start:.0f}s: {str(exc)[:300]}"


def _write(out: Path, rows: list[dict], header: str) -> None:
    (out / "export_check.json").write_text(json.dumps(rows, indent=1))
    lines = [header, "", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in rows:
        lines.append("| " + " | ".join(str(r.get(c, "")).replace("|", "/").replace("\n", " ") for c in COLUMNS)
                     + " |")
    (out / "export_check.md").write_text("\n".join(lines) + "\n")


def _outcome(verdict) -> str:
    from kernelwright.common.v1 import verdict_pb2

    return verdict_pb2.VerdictOutcome.Name(verdict.outcome).removeprefix("VERDICT_OUTCOME_")


def _evaluate_cli(task: Path, exported: Path, out: Path, cache_dir: str, verify_only: bool):
    from google.protobuf import json_format

    from kernelwright.common.v1 import verdict_pb2

    verdict_json = out / f"{exported.stem}.verdict.json"
    cmd = [sys.executable, "-m", "kernelwright.cli.main", "evaluate", str(task), str(exported), "--json",
           str(verdict_json)] + (["--verify-only"] if verify_only else [])
    env = dict(os.environ, KW_GPU_EVALUATOR_CACHE_DIR=cache_dir)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    if not verdict_json.is_file():
        raise RuntimeError(f"kernelwright evaluate exited {proc.returncode}: {(proc.stdout + proc.stderr)[-400:]}")
    return json_format.Parse(verdict_json.read_text(), verdict_pb2.Verdict())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--tasks", default="", help="comma-separated corpus folder names (default: all)")
    ap.add_argument("--cli", action="store_true", help="evaluate exports via `kernelwright evaluate` subprocesses")
    ap.add_argument("--verify-only", action="store_true", help="correctness only, no timing")
    ap.add_argument("--cache-dir", default="/tmp/kernelwright-export-check")
    ap.add_argument("--jobs", type=int, default=16, help="parallel extension builds")
    opts = ap.parse_args()
    opts.out.mkdir(parents=True, exist_ok=True)

    from kernelwright.gpu_evaluator.candidate_files import load_candidate
    from kernelwright.gpu_evaluator.pipeline import EvalOptions, evaluate
    from kernelwright.gpu_evaluator.worker import make_context
    from kernelwright.translator.kernelbench_export import to_kernelbench

    wanted = {t for t in opts.tasks.split(",") if t}
    folders = sorted(p for p in CORPUS.iterdir() if (p / "meta.json").is_file() and (not wanted or p.name in wanted))
    exports: dict[str, tuple[Path, Path, str]] = {}
    rows: dict[str, dict] = {}
    for folder in folders:
        row = rows[folder.name] = {"task": folder.name}
        try:
            task = task_path(json.loads((folder / "meta.json").read_text())["task"])
            source = to_kernelbench(load_candidate(folder / "fast.cu"), task.read_text())
            exported = opts.out / f"{folder.name}.py"
            exported.write_text(source)
            exports[folder.name] = (task, exported, source)
            row["export"] = "ok"
        except Exception as exc:  # noqa: BLE001
            row.update(export="FAILED", message=f"{type(exc).__name__}: {exc}"[:300])

    start = time.perf_counter()
    with cf.ProcessPoolExecutor(max_workers=max(1, min(opts.jobs, len(exports)))) as pool:
        futures = {name: pool.submit(_build_one, src, opts.cache_dir) for name, (_, _, src) in exports.items()}
        for name, fut in futures.items():
            rows[name]["build"] = fut.result()
    print(f"built {len(exports)} exports in {time.perf_counter() - start:.0f}s", flush=True)

    ctx = make_context("export-check")
    header = (f"KernelBench export check — {ctx.hardware.gpu_name}, driver {ctx.hardware.driver_version}, "
              f"torch {ctx.hardware.torch_version}, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} "
              f"UTC, exports evaluated {'via kernelwright evaluate' if opts.cli else 'in-process (pipeline.evaluate)'}"
              f"; command: python {' '.join(sys.argv)}")
    eval_opts = EvalOptions(cache_dir=opts.cache_dir, verify_only=opts.verify_only)
    done = []
    for folder in folders:
        row = rows[folder.name]
        if folder.name in exports:
            task, exported, _ = exports[folder.name]
            task_source = task.read_text()
            try:
                kb = (_evaluate_cli(task, exported, opts.out, opts.cache_dir, opts.verify_only) if opts.cli
                      else evaluate(ctx, task_source, load_candidate(exported), eval_opts))
                fast = evaluate(ctx, task_source, load_candidate(folder / "fast.cu"), eval_opts)
                row.update(kb_outcome=_outcome(kb), kb_ms=f"{kb.timings.candidate.median_ms:.4f}",
                           fast_outcome=_outcome(fast), fast_ms=f"{fast.timings.candidate.median_ms:.4f}",
                           eager_ms=f"{kb.timings.eager.median_ms:.4f}",
                           kb_failed_checks=", ".join(c.name for c in kb.checks if not c.passed),
                           message=kb.message[:200])
            except Exception as exc:  # noqa: BLE001
                traceback.print_exc()
                row.update(kb_outcome="ERROR", message=f"{type(exc).__name__}: {exc}"[:300])
        print(json.dumps(row), flush=True)
        done.append(row)
        _write(opts.out, done, header)
    ok = all(r.get("kb_outcome") in ("ACCEPTED", "VERIFIED_UNTIMED") for r in done)
    print(f"{sum(r.get('kb_outcome') in ('ACCEPTED', 'VERIFIED_UNTIMED') for r in done)}/{len(done)} exports accepted; "
          f"table: {opts.out / 'export_check.md'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
