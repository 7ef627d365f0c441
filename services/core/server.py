"""Async gRPC server bootstrap shared by every service.

``create_server`` binds (port 0 in tests) and returns ``(server, port)``; ``serve`` is the
common main loop: start, health SERVING, wait for SIGTERM/SIGINT, health NOT_SERVING so load
balancers drain, then ``stop(grace)`` so in-flight RPCs finish.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from grpc import aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from kernelwright.core.interceptors import ErrorInterceptor
from kernelwright.core.logger import get_logger
from kernelwright.core.metrics import default_metrics, start_metrics_server
from kernelwright.core.settings import ServiceSettings

log = get_logger("kernelwright.server")


@dataclass(frozen=True)
class ServiceBinding:
    """One gRPC service to mount: its full name, the generated add_*_to_server, the servicer."""

    full_name: str
    add_to_server: Callable[[Any, aio.Server], None]
    servicer: Any


def binding(pb2_module: Any, service: str, add_to_server: Callable[[Any, aio.Server], None],
            servicer: Any) -> ServiceBinding:
    return ServiceBinding(pb2_module.DESCRIPTOR.services_by_name[service].full_name, add_to_server, servicer)


async def create_server(
    settings: ServiceSettings,
    bindings: Sequence[ServiceBinding],
    health_servicer: health.aio.HealthServicer | None = None,
) -> tuple[aio.Server, int]:
    """Build and bind a server (not started). Health and reflection are always mounted."""
    options = [
        ("grpc.max_send_message_length", settings.max_message_bytes),
        ("grpc.max_receive_message_length", settings.max_message_bytes),
        ("grpc.so_reuseport", 0),
    ]
    server = aio.server(
        interceptors=[ErrorInterceptor(settings.service_name, default_metrics())],
        options=options,
        maximum_concurrent_rpcs=settings.max_concurrent_rpcs,
    )
    for b in bindings:
        b.add_to_server(b.servicer, server)
    health_servicer = health_servicer or health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = [b.full_name for b in bindings] + [
        health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME,
    ]
    reflection.enable_server_reflection(names, server)
    address = f"{settings.host}:{settings.port}"
    if settings.tls_cert:
        port = server.add_secure_port(address, server_credentials(settings))
    else:
        port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"could not bind {settings.host}:{settings.port}")
    return server, port


def server_credentials(settings: ServiceSettings) -> grpc.ServerCredentials:
    """TLS from PEM files; with a CA bundle, clients must present a certificate (mutual TLS)."""
    ca = Path(settings.tls_ca).read_bytes() if settings.tls_ca else None
    return grpc.ssl_server_credentials(
        [(Path(settings.tls_key).read_bytes(), Path(settings.tls_cert).read_bytes())],
        root_certificates=ca, require_client_auth=ca is not None)


async def _start_health_only_server(settings: ServiceSettings,
                                    health_servicer: health.aio.HealthServicer) -> aio.Server | None:
    """Plaintext health (and nothing else) for probes, when the main port speaks TLS."""
    if not (settings.tls_cert and settings.health_port):
        return None
    server = aio.server()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    if server.add_insecure_port(f"{settings.host}:{settings.health_port}") == 0:
        raise OSError(f"could not bind the health port {settings.host}:{settings.health_port}")
    await server.start()
    return server


async def set_serving(health_servicer: health.aio.HealthServicer, bindings: Sequence[ServiceBinding],
                      serving: bool) -> None:
    status = (health_pb2.HealthCheckResponse.SERVING if serving
              else health_pb2.HealthCheckResponse.NOT_SERVING)
    for name in ["", *(b.full_name for b in bindings)]:
        await health_servicer.set(name, status)


async def serve(
    settings: ServiceSettings,
    bindings: Sequence[ServiceBinding],
    *,
    on_shutdown: Callable[[], Awaitable[None] | None] | None = None,
    stop_event: asyncio.Event | None = None,
) -> None:
    """Run until SIGTERM/SIGINT (or ``stop_event``), then shut down gracefully."""
    health_servicer = health.aio.HealthServicer()
    server, port = await create_server(settings, bindings, health_servicer)
    metrics_port = start_metrics_server(settings.metrics_port, settings.host)
    await server.start()
    health_server = await _start_health_only_server(settings, health_servicer)
    await set_serving(health_servicer, bindings, True)
    log.info("serving", service=settings.service_name, address=f"{settings.host}:{port}",
             metrics_port=metrics_port)
    # A line on stdout that `kernelwright up` (and people) can read the bound port from.
    print(f"KW_LISTENING service={settings.service_name} port={port}", flush=True)

    stop = stop_event or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread
            pass
    await stop.wait()

    log.info("shutting down", grace_s=settings.shutdown_grace_s)
    await set_serving(health_servicer, bindings, False)
    await server.stop(settings.shutdown_grace_s)
    if health_server is not None:
        await health_server.stop(0)
    if on_shutdown is not None:
        result = on_shutdown()
        if asyncio.iscoroutine(result):
            await result
    log.info("stopped")
