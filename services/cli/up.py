"""``kernelwright up``: every implemented service as a child process on a free port.

Children print ``KW_LISTENING ... port=N`` once bound; we then wait for the health service to
say SERVING, record the addresses in the mesh file (so other CLI commands find them), and on
Ctrl-C / SIGTERM stop the children with SIGTERM so each shuts down gracefully.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from kernelwright.cli.mesh import SERVICES, clear_mesh, write_mesh

_LISTENING = re.compile(r"KW_LISTENING service=(\S+) port=(\d+)")


class UpError(RuntimeError):
    pass


@dataclass
class Child:
    service: str
    process: subprocess.Popen
    port: int | None = None
    lines: list[str] = field(default_factory=list)
    bound: threading.Event = field(default_factory=threading.Event)

    def pump(self) -> None:
        """Read the child's stdout: find the port, keep the tail for error messages."""
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines = (self.lines + [line.rstrip()])[-20:]
            match = _LISTENING.search(line)
            if match and self.port is None:
                self.port = int(match.group(2))
                self.bound.set()
        self.bound.set()  # EOF: the child ended; wake the waiter


def _wait_serving(address: str, deadline: float) -> None:
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise UpError(f"{address} did not report SERVING in time")
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=min(remaining, 2.0),
                                   wait_for_ready=True)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError as exc:
                if exc.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                    raise


def start_children(services: tuple[str, ...] = SERVICES, host: str = "127.0.0.1",
                   timeout_s: float = 60.0) -> list[Child]:
    children: list[Child] = []
    try:
        for service in services:
            env = dict(os.environ)
            prefix = f"KW_{service.upper().replace('-', '_')}_"
            env[prefix + "PORT"] = "0"
            env[prefix + "HOST"] = host
            env.setdefault(prefix + "LOG_FORMAT", "json")
            env["PYTHONUNBUFFERED"] = "1"
            process = subprocess.Popen(
                [sys.executable, "-m", f"kernelwright.{service.replace('-', '_')}"],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                start_new_session=True,  # Ctrl-C reaches us only; we stop children in order
            )
            child = Child(service, process)
            threading.Thread(target=child.pump, daemon=True).start()
            children.append(child)
        deadline = time.monotonic() + timeout_s
        for child in children:
            if not child.bound.wait(max(0.0, deadline - time.monotonic())) or child.port is None:
                tail = "\n  ".join(child.lines[-5:]) or "(no output)"
                raise UpError(f"{child.service} did not start (exit code {child.process.poll()}):\n  {tail}")
            _wait_serving(f"{host}:{child.port}", deadline)
    except BaseException:
        stop_children(children)
        raise
    return children


def stop_children(children: list[Child], grace_s: float = 15.0) -> None:
    for child in children:
        if child.process.poll() is None:
            child.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for child in children:
        try:
            child.process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.process.kill()
            child.process.wait()


def run_up(console, host: str = "127.0.0.1") -> int:
    from rich.table import Table

    with console.status("starting services..."):
        children = start_children(host=host)
    addresses = {c.service: f"{host}:{c.port}" for c in children}
    mesh = write_mesh(addresses)
    table = Table(title="kernelwright mesh")
    table.add_column("service")
    table.add_column("address")
    table.add_column("pid", justify="right")
    for c in children:
        table.add_row(c.service, addresses[c.service], str(c.process.pid))
    console.print(table)
    console.print(f"mesh file: {mesh}  (other kernelwright commands use these addresses)")
    console.print("Ctrl-C stops all services.")

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        while not stop.is_set():
            for c in children:
                if c.process.poll() is not None:
                    console.print(f"[red]{c.service} exited with code {c.process.returncode}; stopping all[/red]")
                    stop.set()
            stop.wait(1.0)
    finally:
        console.print("stopping...")
        stop_children(children)
        clear_mesh()
        console.print("all services stopped")
    return 0
