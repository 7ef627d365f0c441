"""Infrastructure errors and the gRPC status each maps to.

Domain outcomes (a task that raised, a kernel that is wrong) are fields of a response, never
these. Raise one of these from a servicer when the *request* or the *service* is the problem;
the error interceptor turns it into the status code, so servicers never call
``context.abort`` themselves.
"""

from __future__ import annotations

import grpc


class ServiceError(Exception):
    """Base: an error with a gRPC status code and a one-line, user-facing message."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL

    def __init__(self, message: str, *, retry_after_ms: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after_ms = retry_after_ms


class InvalidArgument(ServiceError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(ServiceError):
    code = grpc.StatusCode.NOT_FOUND


class FailedPrecondition(ServiceError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class ResourceExhausted(ServiceError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Unavailable(ServiceError):
    code = grpc.StatusCode.UNAVAILABLE
