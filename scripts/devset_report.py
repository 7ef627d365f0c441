#!/usr/bin/env python
"""Merge dev-set conversion runs into one table (later runs override earlier ones per task).

    python scripts/devset_report.py RUN1.log RUN2.jsonl ... > table.md

Accepts the per-task JSONL that scripts/convert_devset.py writes next to --json, and (for runs
made before that existed) its progress log, from which outcome, method and time are recovered —
error magnitudes are not in those logs and are shown as "n/r" (not recorded). Tasks under
../shared/benchmarks/kernelbench/dev that no run reached are listed as "not run".
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINE = re.compile(r"\[\s*\d+/\d+\] L(\d) (\S+)\s+(\S+)\s+(\S+)\s+([\d.]+)s\s*(?:abs=\S*\s+rel=\S*\s+)?(.*)")


def _fmt(x) -> str:
    if x is None:
        return "—"
    if isinstance(x, str):
        return x
    return f"{x:.2e}"


def load(paths: list[str]) -> dict[str, dict]:
    rows: dict[str, dict] = {}
    for p in paths:
        path = Path(p)
        for line in path.read_text().splitlines():
            if path.suffix == ".jsonl":
                r = json.loads(line)
                rows[r["task"]] = {**r, "source": path.name}
                continue
            m = LINE.match(line)
            if m:
                level, task, method, outcome, secs, reason = m.groups()
                rows[task] = dict(task=task, level=level, method="" if method == "-" else method, outcome=outcome,
                                  max_abs="n/r", max_rel="n/r", reason=reason.strip(), duration_s=float(secs),
                                  source=path.name)
    return rows


def main(argv: list[str]) -> int:
    rows = load(argv)
    dev = ROOT.parent / "shared" / "benchmarks" / "kernelbench" / "dev"
    for f in sorted(dev.glob("level*/*.py")):
        if f.stem not in rows:
            rows[f.stem] = dict(task=f.stem, level=f.parent.name[-1], method="", outcome="not run", max_abs=None,
                                max_rel=None, reason="no run reached this task", duration_s=0.0, source="")
    ordered = sorted(rows.values(), key=lambda r: (r["level"], int(r["task"].split("_")[0])))
    counts = Counter(r["outcome"] for r in ordered)
    converted = sum(1 for r in ordered if r["method"])
    print(f"Tasks: {len(ordered)}; converted by fx or export: {converted} "
          f"({100 * converted / len(ordered):.1f}%); validated: {counts.get('validated', 0)} "
          f"({100 * counts.get('validated', 0) / len(ordered):.1f}%).\n")
    print("| outcome | tasks |\n| --- | ---: |")
    for k, v in counts.most_common():
        print(f"| {k} | {v} |")
    print("\n| task | level | method | outcome | max abs err | max rel err | reason | run |")
    print("| --- | :-: | --- | --- | ---: | ---: | --- | --- |")
    for r in ordered:
        reason = (r["reason"] or "").replace("|", "/").replace("\n", " ")[:140]
        print(f"| {r['task']} | {r['level']} | {r['method']} | {r['outcome']} | {_fmt(r['max_abs'])} | "
              f"{_fmt(r['max_rel'])} | {reason} | {r['source']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
