#!/usr/bin/env python
"""Export a fast-format candidate (CUDA + LaunchPlan) as a KernelBench ``ModelNew`` Python file.

    python scripts/export_kernelbench.py CANDIDATE.cu [--plan P.plan.json] TASK.py -o OUT.py

The plan defaults to ``CANDIDATE.plan.json`` beside the ``.cu``. The output runs under KernelBench's
evaluator (and ``kernelwright evaluate TASK OUT.py``): it defines ``ModelNew`` with the task Model's
constructor signature and builds the kernels with ``load_inline``. Exit status 2 when the candidate
cannot be exported (the reason is printed).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kernelwright.gpu_evaluator.candidate_files import load_candidate
from kernelwright.gpu_evaluator.static_checks import kb_static_checks, task_is_fp32
from kernelwright.translator.kernelbench_export import plan_summary, to_kernelbench


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("candidate", type=Path, help="fast-format CUDA source (.cu)")
    ap.add_argument("task", type=Path, help="KernelBench task file defining Model / get_inputs / get_init_inputs")
    ap.add_argument("--plan", type=Path, help="LaunchPlan JSON (default: <candidate>.plan.json)")
    ap.add_argument("-o", "--out", type=Path, required=True, help="where to write the ModelNew file")
    args = ap.parse_args(argv)
    try:
        candidate = load_candidate(args.candidate, args.plan)
        task_source = args.task.read_text()
        source = to_kernelbench(candidate, task_source)
    except (OSError, ValueError) as exc:
        print(f"cannot export {args.candidate}: {exc}", file=sys.stderr)
        return 2
    args.out.write_text(source)
    failed = [f for f in kb_static_checks(source, fp32_task=task_is_fp32(task_source)) if not f.passed]
    print(f"wrote {args.out} (candidate {candidate.id}; {plan_summary(candidate)})")
    for f in failed:  # e.g. library calls through ATen; the file is still written
        print(f"note: the export fails static check {f.check}: {f.message}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
