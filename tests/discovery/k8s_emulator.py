"""A tiny Kubernetes API emulator: just the Pod list/watch the pool directory calls.

Stdlib ``http.server`` in a thread on 127.0.0.1, port 0. Implements

* ``GET /api/v1/namespaces/{ns}/pods?labelSelector=...`` -> a PodList with ``metadata.resourceVersion``;
* the same with ``watch=true`` (``resourceVersion``, ``timeoutSeconds``, ``allowWatchBookmarks``) ->
  a chunked stream of JSON lines ``{"type": ADDED|MODIFIED|DELETED|ERROR, "object": ...}``: history
  after the given resourceVersion, then live events; no resourceVersion: synthetic ADDED for all;
  a resourceVersion older than the retained history -> an ERROR event with a 410 Status, as the
  real API server sends.

Label selectors: ``k=v``, ``k==v``, ``k!=v``, ``k``, ``!k``, ``k in (a,b)``, ``k notin (a,b)``.
Test hooks: ``add_pod``/``set_ready``/``delete_pod`` (each pushes a watch event), ``compact()``
(forget history: older resourceVersions get 410), ``close_watches()``, ``hold_watches()`` /
``release_watches()``, ``fail_next(n, status)`` and ``wait_for_request(predicate, timeout)``.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

_PODS_PATH = re.compile(r"^/api/v1/namespaces/([^/]+)/pods$")


@dataclass
class Request:
    path: str
    query: dict[str, str]
    time: float = field(default_factory=time.monotonic)
    status: int = 0

    @property
    def watch(self) -> bool:
        return self.query.get("watch") in ("true", "1")


def _split_selector(selector: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in selector:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def selector_matches(selector: str, labels: dict[str, str]) -> bool:
    for req in _split_selector(selector or ""):
        if m := re.fullmatch(r"(\S+)\s+(in|notin)\s+\((.*)\)", req):
            key, op, values = m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",")}
            inside = key in labels and labels[key] in values
            if inside != (op == "in"):
                return False
        elif "!=" in req:
            k, v = req.split("!=", 1)
            if labels.get(k.strip()) == v.strip():
                return False
        elif "=" in req:
            k, v = re.split(r"==?", req, maxsplit=1)
            if labels.get(k.strip()) != v.strip():
                return False
        elif req.startswith("!"):
            if req[1:].strip() in labels:
                return False
        elif req not in labels:
            return False
    return True


def make_pod(name: str, *, namespace: str, labels: dict[str, str], ip: str, ready: bool,
             grpc_port: int | None, phase: str = "Running") -> dict[str, Any]:
    container: dict[str, Any] = {"name": "gpu-evaluator", "image": "kernelwright:cuda"}
    if grpc_port is not None:
        container["ports"] = [{"name": "metrics", "containerPort": 9090, "protocol": "TCP"},
                              {"name": "grpc", "containerPort": grpc_port, "protocol": "TCP"}]
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "uid": str(uuid.uuid4()), "labels": dict(labels)},
        "spec": {"containers": [container]},
        "status": {"phase": phase, "podIP": ip,
                   "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


class K8sEmulator:
    def __init__(self, namespace: str = "kw") -> None:
        self.namespace = namespace
        self._cond = threading.Condition()
        self._rv = 1000
        self._min_rv = self._rv           # a watch from an older resourceVersion gets 410
        self._pods: dict[tuple[str, str], dict[str, Any]] = {}
        self._history: list[tuple[int, str, str, dict[str, Any]]] = []   # (rv, ns, type, pod)
        self._watch_generation = 0
        self._gate = threading.Event()
        self._gate.set()
        self._faults: list[int] = []
        self._closing = False
        self._next_ip = 10
        self.requests: list[Request] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="k8s-emulator", daemon=True)

    # ---- lifecycle --------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> K8sEmulator:
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._gate.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> K8sEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- objects ----------------------------------------------------------------------------

    @property
    def resource_version(self) -> int:
        with self._cond:
            return self._rv

    def _record(self, kind: str, pod: dict[str, Any]) -> dict[str, Any]:
        self._rv += 1
        pod["metadata"]["resourceVersion"] = str(self._rv)
        self._history.append((self._rv, pod["metadata"]["namespace"], kind, copy.deepcopy(pod)))
        self._cond.notify_all()
        return copy.deepcopy(pod)

    def add_pod(self, name: str, *, pool: str | None, gpu_product: str = "NVIDIA-H100-80GB-HBM3",
                ready: bool = True, ip: str | None = None, grpc_port: int | None = 50054,
                labels: dict[str, str] | None = None, namespace: str | None = None) -> dict[str, Any]:
        ns = namespace or self.namespace
        all_labels = {"app.kubernetes.io/component": "gpu-evaluator", "app.kubernetes.io/name": "kernelwright"}
        if pool is not None:
            all_labels["kernelwright.dev/evaluator-pool"] = pool
        if gpu_product:
            all_labels["kernelwright.dev/gpu-product"] = gpu_product
        all_labels.update(labels or {})
        with self._cond:
            if ip is None:
                # Loopback addresses: only strings here, but never anything routable.
                ip = f"127.0.{self._next_ip // 250}.{self._next_ip % 250 + 1}"
                self._next_ip += 1
            pod = make_pod(name, namespace=ns, labels=all_labels, ip=ip, ready=ready, grpc_port=grpc_port)
            if (ns, name) in self._pods:
                raise ValueError(f"pod {ns}/{name} exists")
            self._pods[(ns, name)] = pod
            return self._record("ADDED", pod)

    def modify_pod(self, name: str, mutate: Callable[[dict[str, Any]], None], namespace: str | None = None) -> dict[str, Any]:
        with self._cond:
            pod = self._pods[(namespace or self.namespace, name)]
            mutate(pod)
            return self._record("MODIFIED", pod)

    def set_ready(self, name: str, ready: bool, namespace: str | None = None) -> dict[str, Any]:
        def mutate(pod: dict[str, Any]) -> None:
            pod["status"]["conditions"] = [{"type": "Ready", "status": "True" if ready else "False"}]
        return self.modify_pod(name, mutate, namespace)

    def delete_pod(self, name: str, namespace: str | None = None) -> dict[str, Any]:
        with self._cond:
            pod = self._pods.pop((namespace or self.namespace, name))
            return self._record("DELETED", pod)

    # ---- faults -----------------------------------------------------------------------------

    def compact(self) -> None:
        """Forget all history, as etcd compaction or an API-server restart does: a watch from any
        resourceVersion older than the current one now gets 410 Gone."""
        with self._cond:
            self._history.clear()
            self._min_rv = self._rv

    def close_watches(self) -> None:
        """End every open watch stream (clients reconnect)."""
        with self._cond:
            self._watch_generation += 1
            self._cond.notify_all()

    def hold_watches(self) -> None:
        """New watch requests wait (headers unsent) until ``release_watches()``."""
        self._gate.clear()

    def release_watches(self) -> None:
        self._gate.set()

    def fail_next(self, count: int, status: int = 500) -> None:
        """The next ``count`` requests (list or watch) answer ``status`` with a Status body."""
        with self._cond:
            self._faults.extend([status] * count)

    def wait_for_request(self, predicate: Callable[[Request], bool], timeout: float = 5.0,
                         after: int = 0) -> Request:
        """The first request from index ``after`` on matching ``predicate``; TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for r in self.requests[after:]:
                    if predicate(r):
                        return r
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no matching request in {timeout}s; saw {[(r.path, r.query) for r in self.requests]}")
                self._cond.wait(left)

    async def await_request(self, predicate: Callable[[Request], bool], timeout: float = 5.0,
                            after: int = 0) -> Request:
        """``wait_for_request`` without blocking the event loop."""
        import asyncio

        return await asyncio.to_thread(self.wait_for_request, predicate, timeout, after)

    # ---- HTTP -------------------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        emu = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet tests
                pass

            def do_GET(self) -> None:  # noqa: N802
                emu._serve(self)

        return Handler

    @staticmethod
    def _send_json(h: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    @staticmethod
    def _status(code: int, reason: str, message: str) -> dict[str, Any]:
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": message, "reason": reason, "code": code}

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        url = urlsplit(h.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        req = Request(url.path, query)
        with self._cond:
            # Taken with the request's arrival, so a close_watches() after a test saw the request ends it.
            generation = self._watch_generation
            self.requests.append(req)
            fault = self._faults.pop(0) if self._faults else None
            self._cond.notify_all()
        if fault is not None:
            req.status = fault
            return self._send_json(h, fault, self._status(fault, "InternalError", "injected fault"))
        m = _PODS_PATH.match(url.path)
        if not m:
            req.status = 404
            return self._send_json(h, 404, self._status(404, "NotFound", f"no route {url.path}"))
        ns, selector = m.group(1), query.get("labelSelector", "")
        req.status = 200
        if req.watch:
            return self._watch(h, ns, selector, query, generation)
        with self._cond:
            items = [copy.deepcopy(p) for (pns, _), p in sorted(self._pods.items())
                     if pns == ns and selector_matches(selector, p["metadata"]["labels"])]
            rv = self._rv
        self._send_json(h, 200, {"kind": "PodList", "apiVersion": "v1",
                                 "metadata": {"resourceVersion": str(rv)}, "items": items})

    def _watch(self, h: BaseHTTPRequestHandler, ns: str, selector: str, query: dict[str, str],
               generation: int) -> None:
        self._gate.wait(30)
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()

        def send(event: dict[str, Any]) -> None:
            line = json.dumps(event).encode() + b"\n"
            h.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
            h.wfile.flush()

        def finish() -> None:
            h.wfile.write(b"0\r\n\r\n")
            h.wfile.flush()

        timeout = float(query.get("timeoutSeconds") or 1800)
        deadline = time.monotonic() + timeout
        want = lambda pod_ns, pod: pod_ns == ns and selector_matches(selector, pod["metadata"]["labels"])  # noqa: E731
        try:
            with self._cond:
                rv_text = query.get("resourceVersion", "")
                pending: list[dict[str, Any]] = []
                if rv_text in ("", "0"):
                    pending = [{"type": "ADDED", "object": copy.deepcopy(p)}
                               for (pns, _), p in sorted(self._pods.items()) if want(pns, p)]
                    cursor = self._rv
                else:
                    cursor = int(rv_text)
                    if cursor < self._min_rv:
                        gone = self._status(410, "Expired", f"too old resource version: {cursor} ({self._min_rv})")
                        pending = [{"type": "ERROR", "object": gone}]
                        cursor = -1
            for ev in pending:
                send(ev)
            if cursor < 0:
                return finish()
            while True:
                with self._cond:
                    while True:
                        new = [(rv, kind, pod) for rv, pns, kind, pod in self._history
                               if rv > cursor and want(pns, pod)]
                        if new or self._closing or generation != self._watch_generation:
                            break
                        if self._history and self._history[-1][0] > cursor:
                            cursor = self._history[-1][0]   # events for other selectors
                        left = deadline - time.monotonic()
                        if left <= 0:
                            break
                        self._cond.wait(min(left, 0.5))
                if new:
                    for rv, kind, pod in new:
                        send({"type": kind, "object": copy.deepcopy(pod)})
                        cursor = rv
                    continue
                return finish()
        except (BrokenPipeError, ConnectionResetError):
            h.close_connection = True
