"""``kernelwright convert task.py``: stage 1 through the converter service."""

from __future__ import annotations

import time
from pathlib import Path

from rich.table import Table

from kernelwright.cli.mesh import endpoint
from kernelwright.common.v1 import task_pb2
from kernelwright.converter.v1 import converter_pb2, converter_pb2_grpc
from kernelwright.core.clients import sync_channel


def read_task(path: Path) -> task_pb2.Task:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    name = path.stem
    level = 0
    for part in path.parts:
        if part.startswith("level") and part[5:].isdigit():
            level = int(part[5:])
    prefix = name.split("_", 1)[0]
    return task_pb2.Task(name=name, source=path.read_text(), level=level,
                         task_id=int(prefix) if prefix.isdigit() else 0, origin=str(path))


def convert(task: task_pb2.Task, validation: converter_pb2.ValidationOptions, console, address: str | None,
            timeout_s: float) -> converter_pb2.ConvertResponse:
    with endpoint("converter", address) as target, sync_channel(target) as channel:
        stub = converter_pb2_grpc.ConverterServiceStub(channel)
        start = time.monotonic()
        future = stub.Convert.future(converter_pb2.ConvertRequest(task=task, validation=validation),
                                     timeout=timeout_s + 60)
        with console.status(f"converting {task.name} (stage 1: trace, emit, validate)...") as status:
            while not future.done():
                status.update(f"converting {task.name}... {time.monotonic() - start:.0f}s")
                try:
                    future.result(timeout=0.5)
                except Exception:  # noqa: BLE001 - result() raises its own errors once done
                    if future.done():
                        break
        return future.result()


def run_convert(args, console) -> int:
    task = read_task(args.task)
    validation = converter_pb2.ValidationOptions(
        trials=args.trials, timeout_s=args.timeout, device=args.device, skip=args.no_validate)
    response = convert(task, validation, console, args.converter, args.timeout or 600.0)
    v = response.verdict
    outcome = converter_pb2.ConversionOutcome.Name(v.outcome).removeprefix("CONVERSION_OUTCOME_")
    table = Table(title=f"{task.name}: {outcome}", show_header=True)
    for col in ("trial", "seed", "inputs", "passed", "max abs err", "max rel err"):
        table.add_column(col)
    for c in v.checks:
        table.add_row(str(c.trial), str(c.seed), c.distribution, "yes" if c.passed else "[red]NO[/red]",
                      f"{c.max_abs_error:.3g}", f"{c.max_rel_error:.3g}")
    if v.checks:
        console.print(table)
    else:
        console.print(f"[bold]{task.name}: {outcome}[/bold]")
    if v.message:
        console.print(v.message, highlight=False)
    if v.not_validated_reason:
        console.print(f"not validated: {v.not_validated_reason}", highlight=False)
    if response.HasField("program"):
        out = args.output or args.task.with_name(f"{args.task.stem}_functional.py")
        out.write_text(response.program.source)
        method = task_pb2.ConversionMethod.Name(response.program.method).removeprefix("CONVERSION_METHOD_").lower()
        console.print(f"functional source ({method}, ops: {', '.join(response.program.ops)}) -> {out}",
                      highlight=False)
    console.print(f"tolerance atol={v.atol:g} rtol={v.rtol:g} on {v.device or 'n/a'}, {v.duration_s:.1f}s")
    ok = outcome in ("VALIDATED", "NOT_VALIDATED")
    return 0 if ok else 3
