#!/usr/bin/env python
"""Archive benchmark over gRPC (not a timed test): the service runs as its own process.

    python scripts/bench_archive_grpc.py [--n 20000] [--queries 500]

1. starts `python -m kernelwright.archive` on a fresh disk folder (port 0),
2. streams N synthetic entries through ImportEntries (batches of 500) and times it,
3. restarts the service on the same folder (data must survive) and times the restart,
4. sends Q top-8 Search RPCs one after another and reports client-side latency p50/p99/max.
Prints a markdown table with the machine and date.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import grpc  # noqa: E402

from bench_archive import synthetic_queries  # noqa: E402
from kernelwright.archive.convert_pb import to_pb  # noqa: E402
from kernelwright.archive.synthetic import synthetic_entries  # noqa: E402
from kernelwright.archive.v1 import archive_pb2 as pb  # noqa: E402
from kernelwright.archive.v1 import archive_pb2_grpc  # noqa: E402
from kernelwright.common.v1 import task_pb2  # noqa: E402
from kernelwright.core.clients import sync_channel, wait_ready  # noqa: E402


def start_service(folder: str) -> tuple[subprocess.Popen, str, float]:
    env = dict(os.environ, KW_ARCHIVE_PATH=folder, KW_ARCHIVE_PORT="0", KW_ARCHIVE_LOG_FORMAT="json",
               KW_ARCHIVE_LOG_LEVEL="warning", PYTHONUNBUFFERED="1")
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "kernelwright.archive"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    for line in proc.stdout:
        m = re.search(r"KW_LISTENING service=archive port=(\d+)", line)
        if m:
            return proc, f"127.0.0.1:{m.group(1)}", time.perf_counter() - start
    raise RuntimeError(f"archive did not start (exit {proc.wait()})")


def stop_service(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(timeout=60)


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(round(p / 100 * len(xs))) - 1))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--queries", type=int, default=500)
    args = ap.parse_args()

    folder = tempfile.mkdtemp(prefix="kw-archive-bench-")
    rows = []
    try:
        entries = synthetic_entries(args.n, seed=0)
        proc, address, _ = start_service(folder)
        with sync_channel(address) as channel:
            wait_ready(channel, 30)
            stub = archive_pb2_grpc.ArchiveServiceStub(channel)
            start = time.perf_counter()

            def batches():
                for i in range(0, len(entries), 500):
                    yield pb.ImportEntriesRequest(entries=[to_pb(e) for e in entries[i:i + 500]])

            reply = stub.ImportEntries(batches())
            import_s = time.perf_counter() - start
        stop_service(proc)
        rows.append(("import over gRPC (ImportEntries, batches of 500)",
                     f"{import_s:.1f} s ({reply.stored} stored, {args.n / import_s:.0f}/s)"))

        proc, address, restart_s = start_service(folder)
        rows.append(("restart on the same folder (until listening)", f"{restart_s:.1f} s"))
        queries = synthetic_queries(args.queries, seed=1)
        latencies = []
        with sync_channel(address) as channel:
            wait_ready(channel, 30)
            stub = archive_pb2_grpc.ArchiveServiceStub(channel)
            total = stub.GetStats(pb.GetStatsRequest()).total
            rows.append(("entries after restart", str(total)))
            for q in queries[:20]:  # warm the channel and the service's caches
                stub.Search(_request(q))
            hits = 0
            for q in queries:
                t = time.perf_counter()
                reply = stub.Search(_request(q), timeout=10)
                latencies.append((time.perf_counter() - t) * 1e3)
                hits += len(reply.hits)
        stop_service(proc)
        rows.append((f"Search top-8 over gRPC, p50 ({args.queries} queries)", f"{statistics.median(latencies):.1f} ms"))
        rows.append(("Search top-8 over gRPC, p99", f"{pct(latencies, 99):.1f} ms"))
        rows.append(("Search top-8 over gRPC, max", f"{max(latencies):.1f} ms"))
        rows.append(("mean hits per query", f"{hits / len(queries):.1f}"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    print(f"archive over gRPC — {args.n} entries, {datetime.date.today()}, {platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}\n")
    print("| measurement | value |\n| --- | --- |")
    for name, value in rows:
        print(f"| {name} | {value} |")


def _request(q) -> pb.SearchRequest:
    return pb.SearchRequest(
        ops=q.ops, inputs=[task_pb2.TensorSpec(shape=s, dtype=d) for s, d in zip(q.input_shapes, q.input_dtypes)],
        functional_source=q.functional_source, limit=8, include_incorrect=not q.correct_only,
        verified_only=q.verified_only, hardware=q.hardware or "", exclude_task=q.exclude_task or "")


if __name__ == "__main__":
    main()
