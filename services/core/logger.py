"""structlog configured once per process: JSON lines when not on a TTY, readable on a TTY.

Request-scoped ids (run_id, task, rpc) are bound with ``bind_request`` and travel through
contextvars, so every log line inside a request carries them without passing loggers around.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

_configured = False


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at the time of the write, not at configuration time.

    A CLI command configures logging and may return while its in-process servers keep running;
    if the stderr it saw is replaced and closed (test capture, a redirect undone), a later log
    line must not raise inside an RPC handler."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


def configure_logging(level: str = "info", fmt: str = "auto", *, stream: Any = None) -> None:
    """Set up structlog and route stdlib logging (grpc, qdrant) through the same renderer."""
    global _configured
    if stream is None or stream is sys.stderr:
        stream = _CurrentStderr()
    use_json = fmt == "json" or (fmt == "auto" and not stream.isatty())
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer(colors=stream.isatty())
    )
    numeric = getattr(logging, level.upper(), logging.INFO)
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer,
        ])
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(numeric, logging.INFO) if numeric < logging.INFO else numeric)
    _configured = True


def get_logger(name: str | None = None, **bound: Any) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name, **bound)


def bind_request(**ids: Any) -> None:
    """Bind ids (run_id=..., task=...) to every log line of the current request."""
    structlog.contextvars.bind_contextvars(**{k: v for k, v in ids.items() if v not in (None, "")})


def clear_request() -> None:
    structlog.contextvars.clear_contextvars()
