"""``kernelwright translate task.py``: stage 2 through the translator service.

Prints the attempt log, writes the verified candidate in the files ``kernelwright evaluate`` reads
(``<task>.cu`` + ``<task>.plan.json``, or ``<task>_new.py`` for the KernelBench format) and exits 0;
exits 3 with the reason when nothing verified.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

from google.protobuf import json_format
from rich.table import Table

from kernelwright.cli.convert_cmd import read_task
from kernelwright.cli.mesh import _BackgroundServer, configured_address, endpoint
from kernelwright.common.v1 import kernel_pb2, verdict_pb2
from kernelwright.core.clients import sync_channel
from kernelwright.translator.v1 import translator_pb2 as pb
from kernelwright.translator.v1 import translator_pb2_grpc

_FORMATS = {"": kernel_pb2.CANDIDATE_FORMAT_UNSPECIFIED, "fast": kernel_pb2.CANDIDATE_FORMAT_FAST,
            "kernelbench": kernel_pb2.CANDIDATE_FORMAT_KERNELBENCH}


@contextlib.contextmanager
def translator_endpoint(explicit: str | None = None) -> Iterator[str]:
    """A configured/running translator, else one in-process wired to the converter and an evaluator
    (each of those configured/running, else in-process too) for the life of the command."""
    address = configured_address("translator", explicit)
    if address:
        yield address
        return
    from kernelwright.translator.settings import TranslatorSettings

    with contextlib.ExitStack() as stack:
        converter = stack.enter_context(endpoint("converter"))
        overrides: dict[str, object] = {"converter_addr": converter}
        if not TranslatorSettings().evaluator_pools:   # pools from KW_TRANSLATOR_EVALUATOR_POOLS win
            evaluator = stack.enter_context(endpoint("gpu-evaluator"))
            overrides.update(evaluator_pools=f"local={evaluator}", evaluator_discovery="static")

        async def build():
            from kernelwright.translator.__main__ import bindings

            settings = TranslatorSettings(**overrides)
            servicer, services = bindings(settings)
            return settings, services, servicer.close

        server = _BackgroundServer("translator", build)
        address = server.start()
        stack.callback(server.stop)
        yield address


def candidate_paths(candidate: kernel_pb2.KernelCandidate, out: Path, name: str) -> list[Path]:
    if candidate.format == kernel_pb2.CANDIDATE_FORMAT_KERNELBENCH:
        return [out / f"{name}_new.py"]
    return [out / f"{name}.cu", out / f"{name}.plan.json"]


def write_candidate(candidate: kernel_pb2.KernelCandidate, out: Path, name: str) -> list[Path]:
    """Files in the layout ``kernelwright evaluate`` / ``load_candidate`` read back."""
    out.mkdir(parents=True, exist_ok=True)
    paths = candidate_paths(candidate, out, name)
    if candidate.format == kernel_pb2.CANDIDATE_FORMAT_KERNELBENCH:
        paths[0].write_text(candidate.kernelbench_source)
    else:
        paths[0].write_text(candidate.cuda_source)
        paths[1].write_text(json_format.MessageToJson(candidate.plan) + "\n")
    return paths


def _outcome(v: verdict_pb2.Verdict) -> str:
    return verdict_pb2.VerdictOutcome.Name(v.outcome).removeprefix("VERDICT_OUTCOME_")


def show_attempts(response: pb.TranslateResponse, console) -> None:
    table = Table(title="attempts", show_header=True)
    for col in ("#", "proposer", "candidate", "schedule", "outcome", "s", "detail"):
        table.add_column(col)
    for i, a in enumerate(response.attempts, 1):
        schedule = " ".join(f"{k}={v}" for k, v in sorted(a.candidate.schedule.items()))
        verified = a.verdict.outcome in (verdict_pb2.VERDICT_OUTCOME_ACCEPTED,
                                         verdict_pb2.VERDICT_OUTCOME_VERIFIED_UNTIMED)
        outcome = _outcome(a.verdict)
        table.add_row(str(i), a.proposer, a.candidate.id[:12] or "-", schedule,
                      f"[green]{outcome}[/green]" if verified else f"[red]{outcome}[/red]",
                      f"{a.seconds:.1f}", a.verdict.message[:100])
    if response.attempts:
        console.print(table)


def run_translate(args, console) -> int:
    task = read_task(args.task)
    if args.max_attempts < 0:
        raise ValueError("--max-attempts must be >= 0")
    request = pb.TranslateRequest(task=task, proposers=args.proposer, max_attempts=args.max_attempts,
                                  target_gpu=args.gpu, format=_FORMATS[args.format])
    start = time.monotonic()
    with translator_endpoint(args.translator) as target, sync_channel(target) as channel:
        stub = translator_pb2_grpc.TranslatorServiceStub(channel)
        future = stub.Translate.future(request, timeout=args.timeout)
        with console.status(f"translating {task.name} (stage 2: propose, verify)...") as status:
            while not future.done():
                status.update(f"translating {task.name}... {time.monotonic() - start:.0f}s")
                with contextlib.suppress(Exception):   # result() raises its own errors once done
                    future.result(timeout=0.5)
        response = future.result()
    show_attempts(response, console)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json_format.MessageToJson(response))
    seconds = time.monotonic() - start
    if not response.translated:
        console.print(f"[red]not translated[/red]: {response.message}", highlight=False)
        if response.unsupported_ops:
            console.print("unsupported ops: " + ", ".join(response.unsupported_ops), highlight=False)
        return 3
    paths = write_candidate(response.candidate, args.out, task.name)
    v = response.verdict
    hw = v.hardware
    console.print(f"[green]{_outcome(v)}[/green]: {response.message}", highlight=False)
    console.print(f"verified on {hw.gpu_name or 'an unnamed GPU'}{' (pool ' + hw.pool + ')' if hw.pool else ''}"
                  f" in {seconds:.1f}s; wrote {', '.join(str(p) for p in paths)}", highlight=False)
    return 0
