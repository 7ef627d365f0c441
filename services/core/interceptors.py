"""The one server interceptor: exceptions -> status codes, request-scoped logging, metrics.

Servicers raise ``ServiceError`` subclasses (or let bugs escape); this is the only place
that turns them into gRPC statuses, logs them, and counts them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from grpc import aio

from google.protobuf.message import DecodeError

from kernelwright.core.errors import InvalidArgument, ServiceError
from kernelwright.core.logger import bind_request, clear_request, get_logger
from kernelwright.core.metrics import RpcMetrics

log = get_logger("kernelwright.rpc")

# Metadata keys a client may send to correlate logs across services.
REQUEST_ID_KEYS = ("x-request-id", "x-run-id", "x-task")


class _Malformed:
    """Stands in for a request that failed to parse, so the error surfaces as INVALID_ARGUMENT."""

    def __init__(self, error: Exception) -> None:
        self.error = error


def _tolerant(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserializer is None:
        return None

    def parse(data: bytes) -> Any:
        try:
            return deserializer(data)
        except DecodeError as exc:
            return _Malformed(exc)

    return parse


def _check(request: Any) -> Any:
    if isinstance(request, _Malformed):
        raise InvalidArgument(f"malformed request: {request.error}")
    return request


async def _checked_stream(requests: AsyncIterator[Any]) -> AsyncIterator[Any]:
    async for request in requests:
        yield _check(request)


class ErrorInterceptor(aio.ServerInterceptor):
    def __init__(self, service: str, metrics: RpcMetrics | None = None) -> None:
        self._service = service
        self._metrics = metrics

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None:
            return handler
        method = details.method.rsplit("/", 1)[-1]
        ids = {k.removeprefix("x-").replace("-", "_"): v for k, v in (details.invocation_metadata or ())
               if k in REQUEST_ID_KEYS}

        if handler.unary_unary or handler.stream_unary:
            inner = handler.unary_unary or handler.stream_unary

            streaming_request = handler.stream_unary is not None

            async def unary_response(request: Any, context: aio.ServicerContext) -> Any:
                start = self._enter(method, ids)
                try:
                    request = _checked_stream(request) if streaming_request else _check(request)
                    response = await inner(request, context)
                except BaseException as exc:  # noqa: BLE001 - every failure must become a status
                    await self._fail(exc, context, method, start)
                    raise
                self._done(method, start, grpc.StatusCode.OK)
                return response

            factory = (grpc.unary_unary_rpc_method_handler if handler.unary_unary
                       else grpc.stream_unary_rpc_method_handler)
            return factory(unary_response, _tolerant(handler.request_deserializer), handler.response_serializer)

        inner_stream = handler.unary_stream or handler.stream_stream
        streaming_in = handler.stream_stream is not None

        async def stream_response(request: Any, context: aio.ServicerContext) -> AsyncIterator[Any]:
            start = self._enter(method, ids)
            try:
                request = _checked_stream(request) if streaming_in else _check(request)
                async for response in inner_stream(request, context):
                    yield response
            except BaseException as exc:  # noqa: BLE001
                await self._fail(exc, context, method, start)
                raise
            self._done(method, start, grpc.StatusCode.OK)

        factory = (grpc.unary_stream_rpc_method_handler if handler.unary_stream
                   else grpc.stream_stream_rpc_method_handler)
        return factory(stream_response, _tolerant(handler.request_deserializer), handler.response_serializer)

    def _enter(self, method: str, ids: dict[str, str]) -> float:
        clear_request()
        bind_request(rpc=method, **ids)
        return time.perf_counter()

    def _done(self, method: str, start: float, code: grpc.StatusCode) -> None:
        elapsed = time.perf_counter() - start
        if self._metrics:
            self._metrics.requests.labels(self._service, method, code.name).inc()
            self._metrics.latency.labels(self._service, method).observe(elapsed)
            if code != grpc.StatusCode.OK:
                self._metrics.errors.labels(self._service, method, code.name).inc()
        log.debug("rpc done", code=code.name, seconds=round(elapsed, 4))

    async def _fail(self, exc: BaseException, context: aio.ServicerContext, method: str, start: float) -> None:
        if isinstance(exc, ServiceError):
            code, message = exc.code, exc.message
            if exc.retry_after_ms is not None:
                context.set_trailing_metadata((("retry-after-ms", str(exc.retry_after_ms)),))
            log.info("rpc refused", code=code.name, reason=message)
        elif isinstance(exc, aio.AbortError):
            # context.abort() already set the status; nothing to translate.
            self._done(method, start, context.code() or grpc.StatusCode.UNKNOWN)
            return
        elif isinstance(exc, asyncio.CancelledError):
            self._done(method, start, grpc.StatusCode.CANCELLED)
            return
        else:
            code, message = grpc.StatusCode.INTERNAL, f"internal error: {type(exc).__name__}: {exc}"
            log.error("rpc failed", exc_info=exc)
        self._done(method, start, code)
        await context.abort(code, message)

