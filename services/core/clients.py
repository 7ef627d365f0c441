"""Client channels with deadlines and a retry policy, the same for every caller.

Retries are gRPC's own (service config), limited to UNAVAILABLE and RESOURCE_EXHAUSTED:
statuses that say "not now" rather than "never". Deadlines are per call: pass ``timeout=``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

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


@dataclass(frozen=True)
class ClientTls:
    """PEM paths for TLS to the mesh: the CA that signed the servers, and (for mutual TLS) our own pair.

    ``from_env()`` reads KW_CLIENT_TLS_CA / KW_CLIENT_TLS_CERT / KW_CLIENT_TLS_KEY; empty means plaintext.
    """

    ca: str = ""
    cert: str = ""
    key: str = ""

    @classmethod
    def from_env(cls) -> "ClientTls":
        return cls(os.environ.get("KW_CLIENT_TLS_CA", ""), os.environ.get("KW_CLIENT_TLS_CERT", ""),
                   os.environ.get("KW_CLIENT_TLS_KEY", ""))

    @property
    def enabled(self) -> bool:
        return bool(self.ca)

    def credentials(self) -> grpc.ChannelCredentials:
        read = lambda p: Path(p).read_bytes() if p else None  # noqa: E731
        return grpc.ssl_channel_credentials(root_certificates=read(self.ca), private_key=read(self.key),
                                            certificate_chain=read(self.cert))


def async_channel(target: str, tls: ClientTls | None = None, **kwargs: object) -> aio.Channel:
    """An asyncio channel to ``host:port`` with the shared retry policy (TLS when configured)."""
    tls = tls or ClientTls.from_env()
    options = channel_options(**kwargs)  # type: ignore[arg-type]
    if tls.enabled:
        return aio.secure_channel(target, tls.credentials(), options=options)
    return aio.insecure_channel(target, options=options)


def sync_channel(target: str, tls: ClientTls | None = None, **kwargs: object) -> grpc.Channel:
    """A blocking channel (CLI, scripts) with the shared retry policy (TLS when configured)."""
    tls = tls or ClientTls.from_env()
    options = channel_options(**kwargs)  # type: ignore[arg-type]
    if tls.enabled:
        return grpc.secure_channel(target, tls.credentials(), options=options)
    return grpc.insecure_channel(target, options=options)


def wait_ready(channel: grpc.Channel, timeout_s: float = 10.0) -> None:
    """Block until the channel connects; raises grpc.FutureTimeoutError otherwise."""
    grpc.channel_ready_future(channel).result(timeout=timeout_s)
