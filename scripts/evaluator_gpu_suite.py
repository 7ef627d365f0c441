#!/usr/bin/env python
"""gpu-evaluator on a real GPU (not a timed test): adversarial table, fault recovery, benchmark.

    python scripts/evaluator_gpu_suite.py --out OUTDIR [--adversarial] [--faults] [--bench] [--launchers]

Writes OUTDIR/<section>.json and OUTDIR/<section>.md as each section finishes, so a run that is
cut short keeps what it did. Candidates come from tests/gpu_evaluator/{adversarial,corpus}.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures as cf
import datetime
import json
import os
import statistics
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ADVERSARIAL = ROOT / "tests" / "gpu_evaluator" / "adversarial"
CORPUS = ROOT / "tests" / "gpu_evaluator" / "corpus"


def _kb_task_path(rel: str) -> Path:
    for base in (ROOT / ".kb" / "dev", ROOT.parent / "shared" / "benchmarks" / "kernelbench" / "dev"):
        if (base / rel).is_file():
            return base / rel
    raise FileNotFoundError(rel)


def _write(out: Path, name: str, rows: list[dict], header: str, columns: list[str]) -> None:
    (out / f"{name}.json").write_text(json.dumps(rows, indent=1))
    lines = [header, "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        lines.append("| " + " | ".join(str(r.get(c, "")).replace("|", "/").replace("\n", " ") for c in columns) + " |")
    (out / f"{name}.md").write_text("\n".join(lines) + "\n")


def _outcome(v) -> str:
    from kernelwright.common.v1 import verdict_pb2

    return verdict_pb2.VerdictOutcome.Name(v.outcome).removeprefix("VERDICT_OUTCOME_")


def _failed_checks(v) -> list[str]:
    return [c.name for c in v.checks if not c.passed]


def _prebuild_one(source: str, cache_dir: str) -> str:
    """Build a KernelBench candidate's extension in its own process (fills the evaluator's cache)."""
    from kernelwright.gpu_evaluator.kb_runner import load_model_new

    start = time.perf_counter()
    try:
        load_model_new(source, Path(cache_dir))
        return f"ok {time.perf_counter() - start:.1f}s"
    except Exception as exc:  # noqa: BLE001
        return f"failed {time.perf_counter() - start:.1f}s: {str(exc)[:200]}"


def prebuild(sources: list[str], cache_dir: str) -> dict[str, str]:
    from kernelwright.gpu_evaluator.kb_runner import source_key

    with cf.ProcessPoolExecutor(max_workers=min(16, max(1, len(sources)))) as pool:
        results = list(pool.map(_prebuild_one, sources, [cache_dir] * len(sources)))
    return {source_key(s): r for s, r in zip(sources, results)}


def adversarial(out: Path, opts) -> None:
    from kernelwright.gpu_evaluator.candidate_files import load_candidate
    from kernelwright.gpu_evaluator.pipeline import evaluate
    from kernelwright.gpu_evaluator.worker import make_context

    task_files = {p.name: p.read_text() for p in ADVERSARIAL.glob("task_*.py")}
    expected_by_file = json.loads((ADVERSARIAL / "expected.json").read_text())
    candidates = []
    for name, meta in sorted(expected_by_file.items()):
        candidates.append((ADVERSARIAL / name, meta.get("exploit", ""), meta.get("expected_rejection"),
                           meta.get("task", "task_scale_add.py")))
    kb_sources = [p.read_text() for p, *_ in candidates if p.suffix == ".py"]
    t = time.perf_counter()
    built = prebuild(kb_sources, opts.cache_dir)
    print(f"prebuilt {len(kb_sources)} KernelBench candidates in {time.perf_counter() - t:.0f}s", flush=True)

    ctx = make_context("adversarial")
    rows = []
    for path, doc, expected, task in candidates:
        row = {"file": path.name, "exploit": doc, "expected": expected or "accepted"}
        try:
            candidate = load_candidate(path)
            verdict = evaluate(ctx, task_files[task], candidate, _eval_options(opts))
            failed = _failed_checks(verdict)
            row.update(outcome=_outcome(verdict), failed_checks=", ".join(failed), message=verdict.message[:160])
            if expected is None:
                row["result"] = "PASS (accepted)" if row["outcome"] == "ACCEPTED" else "FAIL (honest kernel rejected)"
            else:
                hit = any(f == expected or f.startswith(expected + ".") for f in failed)
                row["result"] = ("PASS (rejected, expected reason)" if hit and row["outcome"] != "ACCEPTED"
                                 else "FAIL")
            if verdict.timings.candidate.median_ms:
                row["ms"] = f"{verdict.timings.candidate.median_ms:.4f}"
                row["vs_eager"] = f"{verdict.timings.speedup_vs_eager:.2f}"
                row["vs_compile"] = f"{verdict.timings.speedup_vs_compile:.2f}"
        except Exception as exc:  # noqa: BLE001
            row.update(outcome="EVALUATOR ERROR", message=f"{type(exc).__name__}: {exc}"[:300], result="FAIL")
            traceback.print_exc()
        print(json.dumps(row), flush=True)
        rows.append(row)
        _write(out, "adversarial", rows, _header(ctx, "adversarial corpus"),
               ["file", "exploit", "expected", "outcome", "failed_checks", "result", "ms", "vs_eager", "vs_compile",
                "message"])


def _eval_options(opts, **overrides):
    from kernelwright.gpu_evaluator.pipeline import EvalOptions

    return EvalOptions(launcher=opts.launcher, cache_dir=opts.cache_dir, **overrides)


def _header(ctx, what: str) -> str:
    return (f"{what} — {ctx.hardware.gpu_name}, driver {ctx.hardware.driver_version}, CUDA {ctx.hardware.cuda_version}, "
            f"torch {ctx.hardware.torch_version}, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
            f"command: python {' '.join(sys.argv)}")


def bench(out: Path, opts) -> None:
    """Per task: both formats evaluated end to end with the phase breakdown, a cache hit, and the
    spread of repeated timing of one kernel."""
    from kernelwright.gpu_evaluator.candidate_files import load_candidate
    from kernelwright.gpu_evaluator.pipeline import evaluate
    from kernelwright.gpu_evaluator.worker import make_context

    ctx = make_context("bench")
    rows = []
    tasks = sorted(p for p in CORPUS.iterdir() if (p / "meta.json").exists())
    # KernelBench builds take tens of seconds each: the first few are measured cold (what
    # KernelBench's own load_inline path costs), the rest are built in parallel up front.
    cold = {t.name for t in tasks[:opts.cold_kb_builds]}
    warm_sources = [(t / "kernelbench.py").read_text() for t in tasks if t.name not in cold]
    t0 = time.perf_counter()
    print("prebuild:", prebuild(warm_sources, opts.cache_dir), f"{time.perf_counter() - t0:.0f}s", flush=True)
    for folder in tasks:
        meta = json.loads((folder / "meta.json").read_text())
        task_source = _kb_task_path(meta["task"]).read_text()
        for fmt, path in (("fast", folder / "fast.cu"), ("kernelbench", folder / "kernelbench.py")):
            row = {"task": folder.name, "format": fmt}
            try:
                candidate = load_candidate(path)
                if fmt == "kernelbench":
                    row["note"] = ("cold build (KernelBench load_inline path)" if folder.name in cold
                                   else "prebuilt in parallel (build cache hit)")
                start = time.perf_counter()
                verdict = evaluate(ctx, task_source, candidate, _eval_options(opts))
                total = time.perf_counter() - start
                ph = dict(verdict.phase_seconds)
                tm = verdict.timings
                task_run = (tm.candidate.median_ms + tm.eager.median_ms + tm.compiled.median_ms) * 1e-3 * 110
                row.update(outcome=_outcome(verdict), total_s=f"{total:.2f}",
                           static_s=f"{ph.get('static', 0):.3f}", build_s=f"{ph.get('build', 0):.2f}",
                           verify_s=f"{ph.get('verify', 0):.2f}", time_s=f"{ph.get('time', 0):.2f}",
                           reverify_s=f"{ph.get('reverify', 0):.2f}",
                           excl_task_runs_s=f"{max(0.0, total - task_run):.2f}",
                           ms=f"{tm.candidate.median_ms:.4f}", eager_ms=f"{tm.eager.median_ms:.4f}",
                           compile_ms=f"{tm.compiled.median_ms:.4f}", vs_eager=f"{tm.speedup_vs_eager:.2f}",
                           vs_compile=f"{tm.speedup_vs_compile:.2f}", message=verdict.message[:120])
                if fmt == "fast":
                    repeats = [evaluate(ctx, task_source, candidate, _eval_options(opts)).timings.candidate.median_ms
                               for _ in range(2)] + [tm.candidate.median_ms]
                    row["repeat_spread_pct"] = f"{100 * (max(repeats) - min(repeats)) / statistics.median(repeats):.2f}"
            except Exception as exc:  # noqa: BLE001
                row.update(outcome="EVALUATOR ERROR", message=f"{type(exc).__name__}: {exc}"[:300])
                traceback.print_exc()
            print(json.dumps(row), flush=True)
            rows.append(row)
            _write(out, "bench", rows, _header(ctx, "evaluator benchmark"),
                   ["task", "format", "outcome", "total_s", "excl_task_runs_s", "static_s", "build_s", "verify_s",
                    "time_s", "reverify_s", "ms", "eager_ms", "compile_ms", "vs_eager", "vs_compile",
                    "repeat_spread_pct", "note", "message"])


async def _faults(out: Path, opts) -> None:
    """Through the real pool: a hang, an illegal address, an OOM and a segfault, each followed by an
    honest candidate on the fresh worker; records verdicts and how long recovery took."""
    from kernelwright.gpu_evaluator.candidate_files import load_candidate
    from kernelwright.gpu_evaluator.gpus import visible_gpus
    from kernelwright.gpu_evaluator.pipeline import EvalOptions
    from kernelwright.gpu_evaluator.pool import WorkerPool
    import dataclasses

    faults = ROOT / "tests" / "gpu_evaluator" / "faults"
    task = (faults / "task_vector_add.py").read_text()
    honest = load_candidate(faults / "honest.cu")
    pool = WorkerPool(visible_gpus("all"), pool_name="faults",
                      options=dataclasses.asdict(EvalOptions(launcher=opts.launcher, cache_dir=opts.cache_dir)),
                      queue_capacity=8, startup_timeout_s=180, cache_size=0)
    t = time.perf_counter()
    await pool.start()
    rows = [{"case": "initial worker start", "outcome": "", "seconds": f"{time.perf_counter() - t:.1f}"}]
    try:
        for name in ("hang.cu", "illegal_address.cu", "oom.cu", "segfault.py"):
            candidate = load_candidate(faults / name)
            t = time.perf_counter()
            # 20 s is past any honest run of this task; the KernelBench case also builds (cold nvcc).
            verdict = await pool.evaluate(task, candidate, {"verify_only": True},
                                          timeout_s=240 if name.endswith(".py") else 20)
            fault_s = time.perf_counter() - t
            t = time.perf_counter()
            after = await pool.evaluate(task, honest, {"verify_only": True}, timeout_s=120)
            rows.append({"case": name, "outcome": _outcome(verdict), "message": verdict.message[:160],
                         "seconds": f"{fault_s:.1f}", "next_candidate": _outcome(after),
                         "next_candidate_s": f"{time.perf_counter() - t:.1f}",
                         "worker_restarts": pool.slots[0].restarts,
                         "restart_s": f"{pool.slots[0].last_start_s:.1f}"})
            print(json.dumps(rows[-1]), flush=True)
            _write(out, "faults", rows, f"fault recovery — {pool.slots[0].hardware.gpu_name}, "
                   f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
                   ["case", "outcome", "message", "seconds", "next_candidate", "next_candidate_s",
                    "worker_restarts", "restart_s"])
    finally:
        await pool.stop()


def launcher_overhead(out: Path, opts) -> None:
    """Host-side cost of one launch through each back end (empty kernel, 20k launches)."""
    import torch

    from kernelwright.gpu_evaluator import launchers
    from kernelwright.gpu_evaluator.nvrtc_build import compile_cuda
    from kernelwright.gpu_evaluator.fast_runner import default_arch

    torch.empty(1, device="cuda")
    src = 'extern "C" __global__ void noop(float* x, long long n) { if (n < 0) x[0] = 1.0f; }'
    build = compile_cuda(src, arch=default_arch(torch.device("cuda")), cache_dir=Path(opts.cache_dir) / "nvrtc")
    buf = torch.empty(16, device="cuda")
    rows = []
    for name in ("cuda-python", "pycuda"):
        try:
            launcher = launchers.make_launcher(name)
            fn = launcher.function(launcher.load(build.cubin), "noop")
            args = [(launchers.PTR, buf.data_ptr()), (launchers.I64, 16)]
            for _ in range(200):
                launcher.launch(fn, (1, 1, 1), (32, 1, 1), 0, 0, args)
            torch.cuda.synchronize()
            n = 20000
            t = time.perf_counter()
            for _ in range(n):
                launcher.launch(fn, (1, 1, 1), (32, 1, 1), 0, 0, args)
            host = (time.perf_counter() - t) / n * 1e6
            torch.cuda.synchronize()
            rows.append({"launcher": name, "us_per_launch_host": f"{host:.2f}"})
        except Exception as exc:  # noqa: BLE001
            rows.append({"launcher": name, "us_per_launch_host": f"unavailable: {exc}"[:200]})
        print(json.dumps(rows[-1]), flush=True)
    _write(out, "launchers", rows, f"launch overhead — {torch.cuda.get_device_name()}, "
           f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC", ["launcher", "us_per_launch_host"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--adversarial", action="store_true")
    ap.add_argument("--faults", action="store_true")
    ap.add_argument("--bench", action="store_true")
    ap.add_argument("--launchers", action="store_true")
    ap.add_argument("--launcher", default="cuda-python")
    ap.add_argument("--cold-kb-builds", type=int, default=2)
    ap.add_argument("--cache-dir", default="/tmp/kw-eval-cache")
    opts = ap.parse_args()
    opts.out.mkdir(parents=True, exist_ok=True)
    sections = [("launchers", opts.launchers, launcher_overhead), ("adversarial", opts.adversarial, adversarial),
                ("faults", opts.faults, lambda o, p: asyncio.run(_faults(o, p))), ("bench", opts.bench, bench)]
    for name, wanted, fn in sections:
        if not wanted:
            continue
        print(f"== {name}", flush=True)
        t = time.perf_counter()
        try:
            fn(opts.out, opts)
        except Exception:  # noqa: BLE001 - keep going: later sections still run
            traceback.print_exc()
        print(f"== {name} done in {time.perf_counter() - t:.0f}s", flush=True)


if __name__ == "__main__":
    main()
