"""Calls to the other stages (converter, archive, translator), retried through "not now" statuses.

The shared client channel already retries UNAVAILABLE / RESOURCE_EXHAUSTED a few times; a run must
also outlive a service being restarted, so these calls keep retrying (honouring ``retry-after-ms``)
until ``deadline_s``, then raise :class:`StageUnavailable`.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import grpc
from grpc import aio

from kernelwright.core.clients import async_channel
from kernelwright.core.logger import get_logger
from kernelwright.evolver.dispatcher import retry_after_s

log = get_logger("kernelwright.evolver.stages")
T = TypeVar("T")
_NOT_NOW = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED)


class StageUnavailable(Exception):
    """A stage service could not be reached within the deadline (or has no address)."""


def source_hash(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()


def resolve_address(service: str, configured: str) -> str:
    """Settings, then ``KW_<SERVICE>_ADDR``, then a running ``kernelwright up``; empty when none."""
    if configured:
        return configured
    env = os.environ.get(f"KW_{service.upper().replace('-', '_')}_ADDR", "")
    if env:
        return env
    try:
        from kernelwright.cli.mesh import running_mesh

        return running_mesh().get(service, "")
    except Exception:  # noqa: BLE001 - the mesh file is a convenience, never a requirement
        return ""


async def call_with_retry(name: str, call: Callable[[], Awaitable[T]], deadline_s: float) -> T:
    deadline = time.monotonic() + deadline_s
    delay = 0.2
    while True:
        try:
            return await call()
        except aio.AioRpcError as exc:
            if exc.code() not in _NOT_NOW:
                raise
            wait = retry_after_s(exc, delay) if exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED else delay
            if time.monotonic() + wait > deadline:
                raise StageUnavailable(f"{name}: {exc.code().name}: {exc.details()} (gave up after "
                                       f"{deadline_s:g} s)") from exc
            log.info("stage busy or down; retrying", stage=name, code=exc.code().name, delay_s=round(wait, 2))
            await asyncio.sleep(wait)
            delay = min(delay * 2, 5.0)


class Channels:
    """One lazily opened channel per stage address."""

    def __init__(self) -> None:
        self._channels: dict[str, aio.Channel] = {}

    def get(self, address: str) -> aio.Channel:
        channel = self._channels.get(address)
        if channel is None:
            channel = self._channels[address] = async_channel(address)
        return channel

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close(None)
        self._channels.clear()
