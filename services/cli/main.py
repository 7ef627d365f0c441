"""The ``kernelwright`` command.

Errors are one readable line (exit code 1, or 2 for bad usage); ``--verbose`` adds the trace.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path

from rich.console import Console

from kernelwright import __version__
from kernelwright.cli.mesh import SERVICES

# soft_wrap: paths and addresses stay on one line (copyable, greppable), whatever the width.
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


class CliError(Exception):
    """A failure to report as one line."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kernelwright", description="An open, self-hostable AI CUDA engineer.")
    p.add_argument("--version", action="version", version=f"kernelwright {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="show tracebacks on errors")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("serve", help="run one service in the foreground")
    s.add_argument("service", choices=list(SERVICES))

    u = sub.add_parser("up", help="start every implemented service locally; Ctrl-C stops all")
    u.add_argument("--host", default="127.0.0.1")

    c = sub.add_parser("convert", help="stage 1: convert a KernelBench task to functional PyTorch")
    c.add_argument("task", type=Path)
    c.add_argument("-o", "--output", type=Path, help="where to write the functional source "
                   "(default: <task>_functional.py next to the task)")
    c.add_argument("--trials", type=int, default=0, help="validation trials (default: service default, 3)")
    c.add_argument("--timeout", type=float, default=0.0, help="seconds (default: service default)")
    c.add_argument("--device", choices=["cpu", "cuda", "auto"], default="")
    c.add_argument("--no-validate", action="store_true", help="convert only; the verdict says not validated")
    c.add_argument("--converter", help="converter address host:port (default: running mesh or in-process)")

    e = sub.add_parser("evaluate", help="verify and time a CUDA candidate for a task on the gpu-evaluator")
    e.add_argument("task", type=Path, help="the KernelBench task the candidate implements")
    e.add_argument("candidate", type=Path, help="a KernelBench ModelNew .py, or a fast-format .cu "
                   "(its plan in <stem>.plan.json)")
    e.add_argument("--plan", type=Path, help="launch plan of a .cu candidate (default: <stem>.plan.json)")
    e.add_argument("--check", action="store_true", help="static checks and compilation only (no GPU needed)")
    e.add_argument("--verify-only", action="store_true", help="correctness only, no timing")
    e.add_argument("--profile", action="store_true", help="include the torch profiler's kernel table")
    e.add_argument("--json", type=Path, help="also write the full verdict as JSON here")
    e.add_argument("--evaluator", help="gpu-evaluator address host:port (default: running mesh or in-process)")

    t = sub.add_parser("translate", help="stage 2: a verified CUDA candidate for a task (proposers + evaluator)")
    t.add_argument("task", type=Path, help="a KernelBench task file")
    t.add_argument("--proposer", action="append", default=[], metavar="NAME",
                   help="proposer to try, in order (repeatable); default: the translator's (builtin)")
    t.add_argument("--max-attempts", type=int, default=0, help="bound on attempts (default: the translator's, 8)")
    t.add_argument("--format", choices=["fast", "kernelbench"], default="", help="candidate format (default fast)")
    t.add_argument("--gpu", default="", help="GPU model / evaluator pool to verify on, e.g. h100 (default: any)")
    t.add_argument("--out", type=Path, default=Path("."), help="where to write <task>.cu + <task>.plan.json "
                   "(or <task>_new.py); default: the current directory")
    t.add_argument("--json", type=Path, help="also write the whole response (attempt log) as JSON here")
    t.add_argument("--timeout", type=float, default=3600.0, help="seconds for the whole translation")
    t.add_argument("--translator", help="translator address host:port (default: running mesh or in-process, "
                   "with in-process converter and gpu-evaluator)")

    from kernelwright.cli import bench_cmd, optimize_cmd

    optimize_cmd.add_arguments(sub)
    bench_cmd.add_arguments(sub)

    a = sub.add_parser("archive", help="stage 4 store: search, import, export, stats")
    a.add_argument("--archive", help="archive address host:port (default: running mesh or in-process)")
    asub = a.add_subparsers(dest="archive_command", required=True, metavar="ACTION")
    se = asub.add_parser("search", help="stepping stones for a task (converted first to get its ops)")
    se.add_argument("task", type=Path, help="a KernelBench task file or a functional source file")
    se.add_argument("-k", "--limit", type=int, default=8)
    se.add_argument("--hardware", default="", help="only entries measured on this GPU name")
    se.add_argument("--include-incorrect", action="store_true")
    se.add_argument("--verified-only", action="store_true")
    im = asub.add_parser("import", help="import a parquet file (Sakana archive columns); stored unverified")
    im.add_argument("file", type=Path)
    ex = asub.add_parser("export", help="export everything to parquet (Sakana archive columns + kw_ extras)")
    ex.add_argument("file", type=Path)
    asub.add_parser("stats", help="counts by hardware, format and level")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from kernelwright.core.logger import configure_logging

    # Logs of in-process servers go to stderr, quiet unless asked: stdout is for results.
    configure_logging("info" if args.verbose else "warning", "console", stream=sys.stderr)
    try:
        if args.command == "serve":
            return _serve(args.service)
        if args.command == "up":
            from kernelwright.cli.up import run_up

            return run_up(console, host=args.host)
        if args.command == "convert":
            from kernelwright.cli.convert_cmd import run_convert

            return run_convert(args, console)
        if args.command == "evaluate":
            from kernelwright.cli.evaluate_cmd import run_evaluate

            return run_evaluate(args, console)
        if args.command == "translate":
            from kernelwright.cli.translate_cmd import run_translate

            return run_translate(args, console)
        if args.command == "optimize":
            from kernelwright.cli.optimize_cmd import run_optimize

            return run_optimize(args, console, err_console)
        if args.command == "bench":
            from kernelwright.cli.bench_cmd import run_bench

            return run_bench(args, console, err_console)
        if args.command == "archive":
            from kernelwright.cli.archive_cmd import run_archive

            return run_archive(args, console)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130
    except Exception as exc:  # noqa: BLE001 - the one place that turns failures into one line
        if args.verbose:
            traceback.print_exc()
        err_console.print(f"[red]error:[/red] {_one_line(exc)}", highlight=False, soft_wrap=True)
        return 1
    return 0


def _one_line(exc: BaseException) -> str:
    import grpc

    if isinstance(exc, grpc.RpcError) and hasattr(exc, "code"):
        return f"{exc.code().name}: {exc.details()}"
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _serve(service: str) -> int:
    import runpy

    runpy.run_module(f"kernelwright.{service.replace('-', '_')}", run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
