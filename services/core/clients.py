"""Client channels with deadlines and a retry policy, the same for every caller.

Retries are gRPC's own (service config), limited to UNAVAILABLE and RESOURCE_EXHAUSTED:
statuses that say "not now" rather than "never". Deadlines are per call: pass ``timeout=``.
"""

from __future__ import annotations

import json

import grpc
from grpc import aio

DEFAULT_TIMEOUT_S = 30.0


def _service_config(max_attempts: int) -> str:
    return json.dumps({
        "methodConfig": [{
            "name": [{}],  # every service and method
            "retryPolicy": {
                "maxAttempts": max_attempts,
                "initialBackoff": "0.2s",
                "maxBackoff": "5s",
                "backoffMultiplier": 2,
                "retryableStatusCodes": ["UNAVAILABLE", "RESOURCE_EXHAUSTED"],
            },
        }]
    })


def channel_options(max_message_bytes: int = 64 * 1024 * 1024, max_attempts: int = 4) -> list[tuple[str, object]]:
    return [
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.enable_retries", 1),
        ("grpc.service_config", _service_config(max_attempts)),
    ]


def async_channel(target: str, **kwargs: object) -> aio.Channel:
    """An asyncio channel to ``host:port`` with the shared retry policy."""
    return aio.insecure_channel(target, options=channel_options(**kwargs))  # type: ignore[arg-type]


def sync_channel(target: str, **kwargs: object) -> grpc.Channel:
    """A blocking channel (CLI, scripts) with the shared retry policy."""
    return grpc.insecure_channel(target, options=channel_options(**kwargs))  # type: ignore[arg-type]


def wait_ready(channel: grpc.Channel, timeout_s: float = 10.0) -> None:
    """Block until the channel connects; raises grpc.FutureTimeoutError otherwise."""
    grpc.channel_ready_future(channel).result(timeout=timeout_s)
