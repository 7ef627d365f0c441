"""Turn ``builtin_coverage.py --evaluate`` rows into ``kernelwright bench`` results (TaskResult JSONL).

The H100 budget does not allow the whole dev set through the evolver, so the builtin generator's
first candidates were evaluated directly with the evaluator pipeline (the same code the
gpu-evaluator service runs): correctness for every task (``--verify-only``, in parallel), then
timing for the tasks that verified, one at a time. This merges both into one result per task so
``kernelwright bench report`` can compute fast_p, geomeans and the per-level tables.

    python scripts/bench_from_coverage.py --verify V.jsonl [V2.jsonl] --timed T.jsonl [T2.jsonl] \
        --gpu "NVIDIA H100 80GB HBM3" --date 2026-11-25 -o results.jsonl
    kernelwright bench report results.jsonl --out docs/results/bench-h100-builtin

A task verified but not timed is correct with no speedup (speedup 0: never counted as faster).
A task whose timing run failed (e.g. re-verification after timing) is reported as not correct.
``--evolved`` takes ``kernelwright bench`` results (runs through the evolver) for a slice of the
tasks; each replaces that task's first-candidate row, whatever it says (better or worse).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _rows(paths: list[Path]) -> dict[tuple[str, str], dict]:
    out: dict[tuple[str, str], dict] = {}
    for p in paths:
        for line in p.read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                out[(str(r["level"]), r["task"])] = r  # later files win (re-runs)
    return out


def merge(verify: dict, timed: dict, gpu: str, date: str) -> list[dict]:
    from kernelwright.bench.results import FAILED, SUCCEEDED, TaskResult

    results = []
    for key in sorted(verify, key=lambda k: (k[0], int(k[1].split("_")[0]) if k[1].split("_")[0].isdigit() else 0)):
        v = verify[key]
        t = timed.get(key)
        correct = bool(v.get("correct"))
        r = TaskResult(task=key[1], level=int(key[0]), correct=correct, gpu=gpu, date=date, proposer="builtin",
                       outcome=SUCCEEDED if correct else FAILED, candidates=1, candidate_format="fast",
                       reason="" if correct else str(v.get("reason", ""))[:500],
                       verdict_outcome="VERIFIED_UNTIMED" if correct else "")
        if correct and t is not None:
            if t.get("correct"):
                r.ours_ms, r.eager_ms, r.compile_ms = t["ours_ms"], t["eager_ms"], t["compile_ms"]
                r.speedup_eager, r.speedup_compile = t["vs_eager"], t["vs_compile"]
                r.verdict_outcome = "ACCEPTED"
            else:
                r.correct, r.outcome, r.verdict_outcome = False, FAILED, ""
                r.reason = "verified, then failed in the timed run: " + str(t.get("reason", ""))[:400]
        results.append(json.loads(r.to_json()))
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--verify", type=Path, nargs="+", required=True)
    ap.add_argument("--timed", type=Path, nargs="*", default=[])
    ap.add_argument("--evolved", type=Path, nargs="*", default=[],
                    help="kernelwright bench results.jsonl files: evolver runs that replace first-candidate rows")
    ap.add_argument("--gpu", required=True)
    ap.add_argument("--date", required=True)
    ap.add_argument("-o", "--out", type=Path, required=True)
    opts = ap.parse_args()
    rows = merge(_rows(opts.verify), _rows(opts.timed), opts.gpu, opts.date)
    evolved = _rows(opts.evolved)
    rows = [evolved.pop((str(r["level"]), r["task"]), r) for r in rows] + list(evolved.values())
    opts.out.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
    timed = sum(1 for r in rows if r["speedup_eager"] > 0)
    print(f"{len(rows)} tasks, {sum(r['correct'] for r in rows)} correct, {timed} timed -> {opts.out}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
