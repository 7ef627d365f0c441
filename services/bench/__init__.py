"""Benchmark runs over KernelBench task folders: per-task results, metrics, reports (issue #6).

``results`` is the per-task record (one JSONL line each), ``metrics`` the pure summary functions
(correctness, fast_p, geomean), ``report`` the markdown/HTML/PNG report, ``parquet`` the export in
the archive's Sakana-compatible columns, ``runner`` one task through the evolver service.
"""
