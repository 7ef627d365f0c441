#!/usr/bin/env python
"""Benchmark the archive domain layer in-process (not a timed test).

    PYTHONPATH=<dir holding kernelwright> python scripts/bench_archive.py [--n 20000] [--queries 500]

Measures, on fresh embedded (disk) stores in a temp folder:
  * bulk import of N synthetic entries via ``ArchiveStore.put_many``
  * export to Sakana-compatible parquet, and import of that file via ``import_parquet``
  * reopen time (embedded index rebuild)
  * top-8 ``search`` latency p50/p99 over Q queries, in-process (includes fetching the 8 entries)
  * optionally (--qdrant-local-queries K) the same plan run by qdrant-client local mode itself,
    which is what ruled it out (see docs/archive.md)

Prints a markdown table. ``synthetic_entries`` / ``synthetic_queries`` are importable for the gRPC
benchmark: ``from kernelwright.archive.synthetic import synthetic_entries``.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time

from kernelwright.archive.parquet_io import export_parquet, import_parquet
from kernelwright.archive.query import SearchQuery
from kernelwright.archive.store import ArchiveStore
from kernelwright.archive.synthetic import _HW, synthetic_entries

__all__ = ["synthetic_entries", "synthetic_queries", "main"]


def synthetic_queries(n: int, seed: int = 1) -> list[SearchQuery]:
    """Queries shaped like the search-service's: a task's ops/shapes/functional code + filters."""
    rng = random.Random(seed)
    src = synthetic_entries(max(n, 50), seed=seed + 10_000)
    out = []
    for i in range(n):
        e = src[i % len(src)]
        out.append(
            SearchQuery(
                ops=e.ops,
                input_shapes=e.input_shapes,
                input_dtypes=e.input_dtypes,
                functional_source=e.functional_source,
                correct_only=True,
                verified_only=rng.random() < 0.2,
                hardware=rng.choice(_HW) if rng.random() < 0.5 else None,
                exclude_task=e.task_name if rng.random() < 0.5 else None,
            )
        )
    return out


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, int(round(p / 100.0 * len(xs))) - 1))
    return xs[k]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--qdrant-local-queries", type=int, default=0,
                    help="also time K queries with qdrant-client local mode's own query engine")
    ap.add_argument("--dir", default=None, help="work folder (default: a temp dir, removed)")
    args = ap.parse_args(argv)

    work = args.dir or tempfile.mkdtemp(prefix="kw-bench-archive-")
    os.makedirs(work, exist_ok=True)
    rows: list[tuple[str, str]] = []
    try:
        t0 = time.perf_counter()
        entries = synthetic_entries(args.n, args.seed)
        gen_s = time.perf_counter() - t0
        mb = sum(len(e.cuda_source) + len(e.functional_source) + len(e.module_source)
                 for e in entries) / 1e6
        rows.append((f"generate {args.n:,} entries ({mb:.0f} MB of code)", f"{gen_s:.2f} s"))

        # 1. put_many into a fresh disk store
        store_dir = os.path.join(work, "store_put")
        store = ArchiveStore.open(path=store_dir)
        t0 = time.perf_counter()
        res = store.put_many(entries, batch=args.batch)
        put_s = time.perf_counter() - t0
        assert store.count() == args.n, (store.count(), args.n)
        assert not any(r.duplicate for r in res)
        rows.append((f"put_many {args.n:,} -> fresh disk store (batch {args.batch})",
                     f"{put_s:.1f} s ({args.n / put_s:,.0f} entries/s)"))

        # 2. parquet export + import
        pq_path = os.path.join(work, "archive.parquet")
        t0 = time.perf_counter()
        export_parquet(store, pq_path)
        exp_s = time.perf_counter() - t0
        rows.append(("export_parquet (store -> file)",
                     f"{exp_s:.1f} s ({os.path.getsize(pq_path) / 1e6:.1f} MB zstd)"))
        store.close()

        t0 = time.perf_counter()
        store = ArchiveStore.open(path=store_dir)
        reopen_s = time.perf_counter() - t0
        rows.append((f"reopen disk store ({args.n:,} entries, index rebuild)", f"{reopen_s:.1f} s"))

        imp_dir = os.path.join(work, "store_import")
        imp = ArchiveStore.open(path=imp_dir)
        t0 = time.perf_counter()
        ir = import_parquet(imp, pq_path)
        imp_s = time.perf_counter() - t0
        assert ir.inserted == args.n, ir
        rows.append((f"import_parquet {args.n:,} -> fresh disk store",
                     f"{imp_s:.1f} s ({args.n / imp_s:,.0f} entries/s)"))
        imp.close()

        # 3. search latency
        queries = synthetic_queries(args.queries, seed=args.seed + 1)
        for q in queries[:10]:
            store.search(q, limit=8)  # warm-up
        lat = []
        hits = 0
        for q in queries:
            t0 = time.perf_counter()
            h = store.search(q, limit=8)
            lat.append((time.perf_counter() - t0) * 1000)
            hits += len(h)
        rows.append((f"search top-8, {args.queries} queries, in-process: p50",
                     f"{statistics.median(lat):.2f} ms"))
        rows.append(("search top-8 in-process: p99", f"{_pct(lat, 99):.2f} ms"))
        rows.append(("search top-8 in-process: max", f"{max(lat):.2f} ms"))
        rows.append(("mean hits per query", f"{hits / len(queries):.1f}"))

        if args.qdrant_local_queries:
            store.search_engine = "qdrant"
            lat_q = []
            for q in queries[: args.qdrant_local_queries]:
                t0 = time.perf_counter()
                store.search(q, limit=8)
                lat_q.append((time.perf_counter() - t0) * 1000)
            store.search_engine = "index"
            rows.append((f"same plan via qdrant-client local mode, {len(lat_q)} queries: p50",
                         f"{statistics.median(lat_q):.0f} ms"))
        store.close()
    finally:
        if args.dir is None:
            shutil.rmtree(work, ignore_errors=True)

    print(f"\narchive benchmark - {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}\n")
    print("| measurement | result |")
    print("|---|---|")
    for k, v in rows:
        print(f"| {k} | {v} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
