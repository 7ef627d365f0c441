"""EvolverService: maps the wire to the run manager."""

from __future__ import annotations

from grpc import aio

from kernelwright.core.errors import InvalidArgument
from kernelwright.core.logger import bind_request
from kernelwright.evolver.manager import RunManager
from kernelwright.evolver.v1 import evolver_pb2 as pb
from kernelwright.evolver.v1 import evolver_pb2_grpc

MAX_PAGE = 1000


class EvolverServicer(evolver_pb2_grpc.EvolverServiceServicer):
    def __init__(self, manager: RunManager) -> None:
        self._runs = manager

    async def StartRun(self, request: pb.StartRunRequest, context: aio.ServicerContext) -> pb.StartRunResponse:
        bind_request(task=request.task.name)
        return pb.StartRunResponse(run_id=await self._runs.start_run(request))

    async def WatchRun(self, request: pb.WatchRunRequest, context: aio.ServicerContext):
        bind_request(run=request.run_id)
        async for progress in self._runs.watch(request.run_id):
            yield pb.WatchRunResponse(progress=progress)

    async def GetRun(self, request: pb.GetRunRequest, context: aio.ServicerContext) -> pb.GetRunResponse:
        return pb.GetRunResponse(run=self._runs.run_message(self._runs.get(request.run_id)))

    async def ListRuns(self, request: pb.ListRunsRequest, context: aio.ServicerContext) -> pb.ListRunsResponse:
        if request.page_size < 0 or request.page_size > MAX_PAGE:
            raise InvalidArgument(f"page_size must be 0..{MAX_PAGE}, got {request.page_size}")
        try:
            offset = int(request.page_token or "0")
        except ValueError:
            raise InvalidArgument(f"page_token {request.page_token!r} is not one this service issued") from None
        if offset < 0:
            raise InvalidArgument("page_token must not be negative")
        size = request.page_size or 100
        records, more = self._runs.store.list_runs(list(request.states), offset, size)
        return pb.ListRunsResponse(runs=[self._runs.run_message(r) for r in records],
                                   next_page_token=str(offset + size) if more else "")

    async def CancelRun(self, request: pb.CancelRunRequest, context: aio.ServicerContext) -> pb.CancelRunResponse:
        bind_request(run=request.run_id)
        return pb.CancelRunResponse(run=self._runs.run_message(await self._runs.cancel(request.run_id)))
