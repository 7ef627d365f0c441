#!/usr/bin/env python
"""Convert (and validate) every KernelBench task under one or more paths.

Needs only torch: the converter's domain code has no gRPC/pydantic imports.

    python scripts/convert_devset.py --device cuda --out devset.md --json devset.json
    python scripts/convert_devset.py --convert-only --timeout 60 --jobs 2

Prints one line per task as it finishes and writes a markdown table
(task, level, method, outcome, max abs err, max rel err, reason) with summary counts.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import dataclasses
import datetime
import json
import os
import platform
import re
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _import_converter():
    """Import kernelwright from an install, or from services/ through a symlink alias.

    services/<x>/ is the package kernelwright.<x>; without an install we point a
    temp `kernelwright` symlink at services/ and put it on sys.path (spawned
    sandbox children inherit sys.path, so they resolve it the same way).
    """
    try:
        import kernelwright.converter.convert  # noqa: F401
    except ImportError:
        import tempfile

        alias = Path(tempfile.gettempdir()) / f"kw-import-alias-{os.getuid()}"
        alias.mkdir(parents=True, exist_ok=True)
        link = alias / "kernelwright"
        if not link.exists():
            link.symlink_to(ROOT / "services")
        sys.path.insert(0, str(alias))
        sys.modules.pop("kernelwright", None)
    from kernelwright.converter.convert import convert_task
    from kernelwright.converter.model import ConvertOptions, Outcome, TaskInvalid

    return convert_task, ConvertOptions, Outcome, TaskInvalid


def _level(path: Path) -> str:
    for part in reversed(path.parts):
        m = re.match(r"level(\d+)(?:_|$)", part)
        if m:
            return m.group(1)
    return ""


def _sort_key(path: Path):
    m = re.match(r"(\d+)_", path.name)
    return (_level(path), int(m.group(1)) if m else 10**9, path.name)


def _collect(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            files += [f for f in path.rglob("*.py") if not f.name.startswith("_")]
        elif path.suffix == ".py":
            files.append(path)
    return sorted(set(files), key=_sort_key)


def _fmt_err(x) -> str:
    if x is None:
        return ""
    return f"{x:.2e}"


def _cell(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="*", default=[str(ROOT.parent / "shared/benchmarks/kernelbench/dev")])
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per task (conversion + validation)")
    ap.add_argument("--jobs", type=int, default=1, help="tasks converted in parallel (one child each)")
    ap.add_argument("--memory-gib", type=float, default=16.0, help="address-space cap per child (CPU runs)")
    ap.add_argument("--max-tensor-gib", type=float, default=None,
                    help="skip validation when inputs+parameters are estimated above this "
                         "(default: 8 on CPU, 60%% of GPU memory / jobs on CUDA)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads per child")
    ap.add_argument("--convert-only", action="store_true", help="convert and meta-check only; no numeric validation")
    ap.add_argument("--out", default=None, help="markdown output path")
    ap.add_argument("--json", default=None, help="JSON output path (full results incl. generated code)")
    ap.add_argument("--machine", default=None, help="machine description for the report header")
    args = ap.parse_args(argv)

    convert_task, ConvertOptions, Outcome, TaskInvalid = _import_converter()
    files = _collect(args.paths)
    if args.max_tensor_gib is None:
        args.max_tensor_gib = 8.0
        if args.device in ("cuda", "auto") and not args.convert_only:
            import torch

            if torch.cuda.is_available():
                total = torch.cuda.get_device_properties(0).total_memory
                # parallel jobs share the one GPU
                args.max_tensor_gib = round(0.6 * total / 2**30 / max(1, args.jobs), 1)
    if not files:
        print("no task files found", file=sys.stderr)
        return 2
    opts = ConvertOptions(trials=args.trials, timeout_s=args.timeout, device=args.device,
                          memory_limit_bytes=int(args.memory_gib * 2**30),
                          max_tensor_bytes=int(args.max_tensor_gib * 2**30),
                          convert_only=args.convert_only, threads=args.threads)

    rows = []
    start = time.monotonic()

    def one(path: Path):
        src = path.read_text()
        name = path.stem
        try:
            res = convert_task(src, opts, task_name=name)
            return path, res, None
        except TaskInvalid as exc:
            return path, None, str(exc)

    width = len(str(len(files)))
    done = 0
    with cf.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for path, res, invalid in (f.result() for f in cf.as_completed([pool.submit(one, p) for p in files])):
            done += 1
            level = _level(path)
            if res is None:
                row = dict(task=path.stem, level=level, method="", outcome="invalid", max_abs=None,
                           max_rel=None, reason=invalid, duration_s=0.0, device="", ops=[], result=None)
            else:
                reason = res.message if res.outcome != Outcome.VALIDATED else ""
                row = dict(task=path.stem, level=level, method=res.method, outcome=res.outcome.value,
                           max_abs=res.max_abs_error if res.checks else None,
                           max_rel=res.max_rel_error if res.checks else None,
                           reason=reason, duration_s=res.duration_s, device=res.device, ops=res.ops,
                           result=dataclasses.asdict(res) | {"outcome": res.outcome.value})
            rows.append(row)
            if args.json:  # one line per finished task, so a run cut short keeps what it did
                with open(f"{args.json}l", "a") as partial:
                    partial.write(json.dumps({k: v for k, v in row.items() if k != "result"}, default=str) + "\n")
            print(f"[{done:>{width}}/{len(files)}] L{level} {path.stem:<55} {row['method'] or '-':<6} "
                  f"{row['outcome']:<13} {row['duration_s']:6.1f}s  abs={_fmt_err(row['max_abs'])} "
                  f"rel={_fmt_err(row['max_rel'])}  {_cell(row['reason'], 110)}", flush=True)

    rows.sort(key=lambda r: (r["level"], int(r["task"].split("_")[0]) if r["task"].split("_")[0].isdigit() else 0))
    counts = Counter(r["outcome"] for r in rows)
    methods = Counter(r["method"] or "none" for r in rows)
    converted = sum(1 for r in rows if r["method"])
    elapsed = time.monotonic() - start
    devices = sorted({r["device"] for r in rows if r["device"]})

    lines = []
    mode = "convert-only (no numeric validation)" if args.convert_only else f"{args.trials} trials per task"
    lines.append(f"Run: {datetime.date.today().isoformat()}, {args.machine or platform.node()}, "
                 f"device {', '.join(devices) or args.device}, {mode}, timeout {args.timeout:g} s/task, "
                 f"{len(rows)} tasks, {elapsed:.0f} s wall.")
    lines.append("")
    lines.append(f"Converted by fx or export: {converted}/{len(rows)} "
                 f"({100.0 * converted / len(rows):.1f}%) — fx {methods.get('fx', 0)}, export {methods.get('export', 0)}.")
    lines.append("")
    lines.append("| outcome | tasks |")
    lines.append("| --- | ---: |")
    for k, v in sorted(counts.items(), key=lambda kv: -kv[1]):
        lines.append(f"| {k} | {v} |")
    lines.append("")
    lines.append("| task | level | method | outcome | max abs err | max rel err | reason |")
    lines.append("| --- | :-: | --- | --- | ---: | ---: | --- |")
    for r in rows:
        lines.append(f"| {r['task']} | {r['level']} | {r['method']} | {r['outcome']} | {_fmt_err(r['max_abs'])} | "
                     f"{_fmt_err(r['max_rel'])} | {_cell(r['reason'])} |")
    md = "\n".join(lines) + "\n"
    print()
    print("\n".join(lines[:4 + len(counts) + 3]))
    if args.out:
        Path(args.out).write_text(md)
        print(f"markdown: {args.out}")
    if args.json:
        Path(args.json).write_text(json.dumps({"options": dataclasses.asdict(opts), "rows": rows}, indent=1,
                                              default=str))
        print(f"json: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
