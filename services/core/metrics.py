"""Prometheus metrics for every service: request counts, latencies and errors per RPC."""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, start_http_server


class RpcMetrics:
    """The per-RPC metrics the error interceptor records. One instance per registry."""

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.requests = Counter(
            "kw_grpc_requests_total", "RPCs handled, by method and status code.",
            ["service", "method", "code"], registry=registry,
        )
        self.latency = Histogram(
            "kw_grpc_request_seconds", "RPC latency (time to the last response message).",
            ["service", "method"], registry=registry,
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
        )
        self.errors = Counter(
            "kw_grpc_errors_total", "RPCs that ended with a non-OK status, by method and code.",
            ["service", "method", "code"], registry=registry,
        )


_default: RpcMetrics | None = None


def default_metrics() -> RpcMetrics:
    """Process-wide metrics on the default registry (created once: Prometheus forbids duplicates)."""
    global _default
    if _default is None:
        _default = RpcMetrics()
    return _default


def start_metrics_server(port: int, host: str = "127.0.0.1") -> int | None:
    """Serve /metrics; returns the bound port, or None when disabled (port < 0)."""
    if port < 0:
        return None
    server, _thread = start_http_server(port, addr=host)
    return server.server_port
