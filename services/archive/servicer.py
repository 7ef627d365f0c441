"""ArchiveService: the only owner of the store; every call runs on one store thread.

The embedded Qdrant client is not safe for concurrent use, so store calls are serialized on a
single-thread executor; the event loop stays free to accept and stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from grpc import aio

from kernelwright.archive.convert_pb import from_pb, to_pb
from kernelwright.archive.store import ArchiveStore, SearchQuery
from kernelwright.archive.v1 import archive_pb2, archive_pb2_grpc
from kernelwright.core.errors import InvalidArgument, NotFound
from kernelwright.core.logger import get_logger

log = get_logger("kernelwright.archive")
T = TypeVar("T")
MAX_SEARCH_LIMIT = 100


def _check_entry(entry: archive_pb2.ArchiveEntry, where: str = "entry") -> None:
    if not entry.task_name:
        raise InvalidArgument(f"{where}.task_name is empty")
    if not entry.cuda_source:
        raise InvalidArgument(f"{where}.cuda_source is empty: the archive stores kernels")


class ArchiveServicer(archive_pb2_grpc.ArchiveServiceServicer):
    def __init__(self, store: ArchiveStore, backend: str) -> None:
        self._store = store
        self._backend = backend
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="archive-store")

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self._store.close()

    async def PutEntry(self, request: archive_pb2.PutEntryRequest,
                       context: aio.ServicerContext) -> archive_pb2.PutEntryResponse:
        _check_entry(request.entry)
        result = await self._run(self._store.put, from_pb(request.entry))
        return archive_pb2.PutEntryResponse(id=result.id, duplicate=result.duplicate)

    async def GetEntry(self, request: archive_pb2.GetEntryRequest,
                       context: aio.ServicerContext) -> archive_pb2.GetEntryResponse:
        if not request.id:
            raise InvalidArgument("id is empty")
        entry = await self._run(self._store.get, request.id)
        if entry is None:
            raise NotFound(f"no archive entry {request.id}")
        return archive_pb2.GetEntryResponse(entry=to_pb(entry))

    async def DeleteEntry(self, request: archive_pb2.DeleteEntryRequest,
                          context: aio.ServicerContext) -> archive_pb2.DeleteEntryResponse:
        if not request.id:
            raise InvalidArgument("id is empty")
        if await self._run(self._store.get, request.id) is None:
            raise NotFound(f"no archive entry {request.id}")
        await self._run(self._store.delete, request.id)
        return archive_pb2.DeleteEntryResponse()

    async def Search(self, request: archive_pb2.SearchRequest,
                     context: aio.ServicerContext) -> archive_pb2.SearchResponse:
        if not request.ops and not request.functional_source.strip():
            raise InvalidArgument("a search needs ops or functional_source")
        if not 0 <= request.limit <= MAX_SEARCH_LIMIT:
            raise InvalidArgument(f"limit must be 0..{MAX_SEARCH_LIMIT}, got {request.limit}")
        query = SearchQuery(
            ops=list(request.ops),
            input_shapes=[list(t.shape) for t in request.inputs],
            input_dtypes=[t.dtype for t in request.inputs],
            functional_source=request.functional_source,
            correct_only=not request.include_incorrect,
            verified_only=request.verified_only,
            hardware=request.hardware or None,
            exclude_task=request.exclude_task or None,
        )
        hits = await self._run(self._store.search, query, request.limit or 8)
        return archive_pb2.SearchResponse(
            hits=[archive_pb2.SearchHit(entry=to_pb(h.entry), score=h.score) for h in hits]
        )

    async def ImportEntries(self, request_iterator: AsyncIterator[archive_pb2.ImportEntriesRequest],
                            context: aio.ServicerContext) -> archive_pb2.ImportEntriesResponse:
        received = stored = duplicates = 0
        batch_no = 0
        async for batch in request_iterator:
            batch_no += 1
            entries = []
            for row, pb in enumerate(batch.entries):
                _check_entry(pb, f"batch {batch_no} row {row}")
                entry = from_pb(pb)
                # Imported rows were measured by someone else: unverified until our evaluator re-checks.
                entry.verified = False
                if entry.source == "kernelwright":
                    entry.source = "import:grpc"
                entries.append(entry)
            results = await self._run(self._store.put_many, entries)
            received += len(entries)
            duplicates += sum(r.duplicate for r in results)
            stored += sum(not r.duplicate for r in results)
        log.info("imported", received=received, stored=stored, duplicates=duplicates)
        return archive_pb2.ImportEntriesResponse(received=received, stored=stored, duplicates=duplicates)

    async def ExportEntries(self, request: archive_pb2.ExportEntriesRequest,
                            context: aio.ServicerContext) -> AsyncIterator[archive_pb2.ExportEntriesResponse]:
        if request.batch_size < 0:
            raise InvalidArgument("batch_size must be >= 0")
        size = request.batch_size or 500
        entries = await self._run(lambda: list(self._store.iter_entries()))
        for start in range(0, len(entries), size):
            yield archive_pb2.ExportEntriesResponse(entries=[to_pb(e) for e in entries[start:start + size]])

    async def GetStats(self, request: archive_pb2.GetStatsRequest,
                       context: aio.ServicerContext) -> archive_pb2.GetStatsResponse:
        s = await self._run(self._store.stats)
        return archive_pb2.GetStatsResponse(
            total=s.total, correct=s.correct, verified=s.verified,
            by_hardware=s.by_hardware, by_format=s.by_format,
            by_level={str(k): v for k, v in s.by_level.items()}, backend=self._backend,
        )
