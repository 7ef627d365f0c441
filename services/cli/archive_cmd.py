"""``kernelwright archive {search,import,export,stats}``: always through the archive service."""

from __future__ import annotations

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kernelwright.archive import parquet_io
from kernelwright.archive.convert_pb import from_pb, to_pb
from kernelwright.archive.v1 import archive_pb2, archive_pb2_grpc
from kernelwright.cli.mesh import endpoint
from kernelwright.converter.v1 import converter_pb2
from kernelwright.core.clients import sync_channel

RPC_TIMEOUT_S = 60.0


def _progress(console) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console)


def run_archive(args, console) -> int:
    with endpoint("archive", args.archive) as target, sync_channel(target) as channel:
        stub = archive_pb2_grpc.ArchiveServiceStub(channel)
        return _ACTIONS[args.archive_command](args, stub, console)


def _stats(args, stub, console) -> int:
    s = stub.GetStats(archive_pb2.GetStatsRequest(), timeout=RPC_TIMEOUT_S)
    console.print(f"archive at {s.backend}: {s.total} entries, {s.correct} correct, {s.verified} verified")
    for title, counts in (("hardware", s.by_hardware), ("format", s.by_format), ("level", s.by_level)):
        if counts:
            table = Table(title=f"by {title}")
            table.add_column(title)
            table.add_column("entries", justify="right")
            for key, n in sorted(counts.items()):
                table.add_row(key or "(unknown)", str(n))
            console.print(table)
    return 0


IMPORT_BATCH = 500


def _import(args, stub, console) -> int:
    if not args.file.is_file():
        raise FileNotFoundError(f"{args.file}: no such file")
    with _progress(console) as progress:
        bar = progress.add_task(f"importing {args.file.name}", total=None)

        def on_progress(done: int, total: int) -> None:
            progress.update(bar, completed=done, total=total)

        def batches():
            chunk = []
            for entry in parquet_io.read_parquet(args.file, on_progress=on_progress):
                chunk.append(to_pb(entry))
                if len(chunk) >= IMPORT_BATCH:
                    yield archive_pb2.ImportEntriesRequest(entries=chunk)
                    chunk = []
            if chunk:
                yield archive_pb2.ImportEntriesRequest(entries=chunk)

        # No overall deadline: a large file streams for as long as it takes; each batch is acked
        # by flow control, and a dead server ends the stream with UNAVAILABLE.
        reply = stub.ImportEntries(batches())
    console.print(f"imported {reply.received} rows: {reply.stored} stored (unverified until re-checked), "
                  f"{reply.duplicates} duplicates skipped")
    return 0


def _export(args, stub, console) -> int:
    total = stub.GetStats(archive_pb2.GetStatsRequest(), timeout=RPC_TIMEOUT_S).total
    with _progress(console) as progress:
        bar = progress.add_task(f"exporting to {args.file.name}", total=total)

        def entries():
            for reply in stub.ExportEntries(archive_pb2.ExportEntriesRequest()):
                for pb in reply.entries:
                    yield from_pb(pb)
                progress.update(bar, advance=len(reply.entries))

        written = parquet_io.export_parquet(entries(), args.file)
    console.print(f"exported {written} entries to {args.file}")
    return 0


def _search(args, stub, console) -> int:
    from kernelwright.cli.convert_cmd import convert, read_task

    task = read_task(args.task)
    converted = convert(task, converter_pb2.ValidationOptions(skip=True), console, None, 600.0)
    if not converted.HasField("program"):
        raise RuntimeError(f"cannot search: stage 1 could not convert {task.name}: {converted.verdict.message}")
    program = converted.program
    reply = stub.Search(archive_pb2.SearchRequest(
        ops=program.ops, inputs=program.inputs, functional_source=program.source, limit=args.limit,
        include_incorrect=args.include_incorrect, verified_only=args.verified_only, hardware=args.hardware,
    ), timeout=RPC_TIMEOUT_S)
    table = Table(title=f"stepping stones for {task.name} (ops: {' + '.join(program.ops)})")
    for col in ("score", "task", "ops", "hardware", "speedup vs eager", "verified", "id"):
        table.add_column(col)
    for hit in reply.hits:
        e = hit.entry
        table.add_row(f"{hit.score:.3f}", e.task_name, e.op_signature or "+".join(e.ops), e.hardware.gpu_name,
                      f"{e.speedup_eager:.2f}x" if e.speedup_eager else "-", "yes" if e.verified else "no", e.id)
    console.print(table if reply.hits else "no stepping stones found")
    return 0


_ACTIONS = {"stats": _stats, "import": _import, "export": _export, "search": _search}
