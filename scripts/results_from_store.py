"""Bench result lines for runs that finished in an evolver store without a bench attached to them.

A bench re-attaches to its runs by request id. Before ``<out>/bench-id`` existed, the id came from the
output folder's path. So a results folder that was copied elsewhere started second runs, while the evolver
finished the first ones unwatched. This script writes one ``results.jsonl`` line per finished run. The line
is built the way ``kernelwright bench`` builds it: the Run message as GetRun returns it, then
``result_from_run``. ``wall_s`` is the run's created-to-updated span, so any time the run spent with no
evolver alive is counted in it; ``date`` is when the run ended.

    python scripts/results_from_store.py STATE.db --task 16_DenseNet201 --task 17_SqueezeNetFireModule > extra.jsonl

Only ended runs (SUCCEEDED/FAILED) are written. For a task with several ended runs, the one updated last is written.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import sys

from kernelwright.bench.runner import RunOutcome, result_from_run
from kernelwright.evolver.manager import run_message
from kernelwright.evolver.store import RunStore
from kernelwright.evolver.v1 import evolver_pb2 as pb

ENDED = [pb.RUN_STATE_SUCCEEDED, pb.RUN_STATE_FAILED]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("store", help="the evolver's SQLite store (KW_EVOLVER_STATE_PATH)")
    ap.add_argument("--task", action="append", required=True, help="task name, e.g. 16_DenseNet201 (repeatable)")
    args = ap.parse_args(argv)
    store = RunStore(args.store)
    try:
        latest = {}
        offset = 0
        while True:
            records, more = store.list_runs(ENDED, offset, 500)
            for r in records:
                if r.task.name in args.task and (r.task.name not in latest or r.updated > latest[r.task.name].updated):
                    latest[r.task.name] = r
            offset += len(records)
            if not more or not records:
                break
        missing = [t for t in args.task if t not in latest]
        for name in args.task:
            if name in latest:
                r = latest[name]
                outcome = RunOutcome(run_message(store, r), [], r.updated - r.created)
                ended = dt.datetime.fromtimestamp(r.updated, dt.UTC).isoformat(timespec="seconds")
                print(dataclasses.replace(result_from_run(r.task, outcome), date=ended).to_json())
    finally:
        store.close()
    if missing:
        print(f"no ended run for: {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
