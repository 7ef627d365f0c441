"""Stage 1 for the translator: the task's functional program from the converter service.

The functional form is context for the proposers (source, ops, input specs, parameter names), not a
requirement: every proposer also gets the task source, and the evaluator checks candidates against
the task itself. So a converter that is absent, unreachable or cannot convert the task is a note in
the response, not an error; only a task the converter calls invalid fails the request.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import grpc
from grpc import aio

from kernelwright.common.v1 import task_pb2
from kernelwright.converter.v1 import converter_pb2, converter_pb2_grpc
from kernelwright.core.clients import async_channel
from kernelwright.core.errors import InvalidArgument

# Outcomes whose program the proposers may rely on (converted, and not shown to be wrong).
_TRUSTED = {converter_pb2.CONVERSION_OUTCOME_VALIDATED, converter_pb2.CONVERSION_OUTCOME_NOT_VALIDATED}


@dataclass
class Stage1:
    program: task_pb2.FunctionalProgram | None
    notes: list[str] = field(default_factory=list)


def _outcome(outcome: int) -> str:
    return converter_pb2.ConversionOutcome.Name(outcome).removeprefix("CONVERSION_OUTCOME_").lower()


async def functional_program(task: task_pb2.Task, address: str, timeout_s: float) -> Stage1:
    if not address:
        return Stage1(None, ["no converter configured: proposers see the task source only"])
    try:
        async with async_channel(address) as channel:
            stub = converter_pb2_grpc.ConverterServiceStub(channel)
            response = await stub.Convert(converter_pb2.ConvertRequest(task=task), timeout=timeout_s)
    except aio.AioRpcError as exc:
        if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
            raise InvalidArgument(f"the converter rejected the task: {exc.details()}") from None
        return Stage1(None, [f"converter {address} failed ({exc.code().name}: {exc.details()}); "
                             "proposers see the task source only"])
    v = response.verdict
    if v.outcome in _TRUSTED and response.HasField("program"):
        return Stage1(response.program)
    return Stage1(None, [f"converter: {_outcome(v.outcome)}: {v.message}; proposers see the task source only"])
