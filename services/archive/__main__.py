"""``python -m kernelwright.archive``: settings -> logging -> store -> serve."""

from __future__ import annotations

import asyncio
import sys

from kernelwright.archive.errors import ArchiveLocked
from kernelwright.archive.settings import ArchiveSettings
from kernelwright.archive.v1 import archive_pb2, archive_pb2_grpc
from kernelwright.core.logger import configure_logging, get_logger
from kernelwright.core.server import ServiceBinding, binding, serve


def open_store(settings: ArchiveSettings):
    from kernelwright.archive.store import ArchiveStore

    if settings.url:
        return ArchiveStore.open(url=settings.url, api_key=settings.api_key or None,
                                 collection=settings.collection)
    if settings.memory:
        return ArchiveStore.open(memory=True, collection=settings.collection)
    return ArchiveStore.open(path=settings.path, collection=settings.collection)


def bindings(settings: ArchiveSettings):
    from kernelwright.archive.servicer import ArchiveServicer

    servicer = ArchiveServicer(open_store(settings), settings.describe_backend())
    return servicer, [binding(archive_pb2, "ArchiveService",
                              archive_pb2_grpc.add_ArchiveServiceServicer_to_server, servicer)]


def main() -> None:
    settings = ArchiveSettings()
    configure_logging(settings.log_level, settings.log_format)
    log = get_logger("kernelwright.archive")
    try:
        servicer, services = bindings(settings)
    except ArchiveLocked as exc:
        log.error("cannot start", reason=str(exc))
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    log.info("archive open", backend=settings.describe_backend())
    asyncio.run(serve(settings, services, on_shutdown=servicer.close))


if __name__ == "__main__":
    main()
