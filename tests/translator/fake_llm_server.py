"""One small local HTTP server that speaks enough of the Anthropic Messages API
(``POST /v1/messages``) and the OpenAI chat API (``POST /v1/chat/completions``) for the real SDKs.

Each test gives it a *script*: a list of steps answered in order (the last one repeats once the
script runs out). Steps:

* ``text(s, usage=...)``          — an answer whose text is ``s``
* ``tool(input)``                 — an Anthropic ``tool_use`` block calling ``submit_candidate``
* ``status(code, retry_after=..)`` — an error answer (429, 500, 529 overloaded, ...)
* ``hang(seconds)``               — answer nothing for ``seconds`` (client timeouts)

Every request is recorded (path, headers, JSON body) for assertions.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_USAGE = {"input_tokens": 1000, "output_tokens": 200, "cache_read": 800, "cache_write": 100}


def text(s: str, **usage: int) -> dict[str, Any]:
    return {"kind": "text", "text": s, "usage": {**DEFAULT_USAGE, **usage}}


def tool(tool_input: dict[str, Any], preface: str = "Submitting.") -> dict[str, Any]:
    return {"kind": "tool", "input": tool_input, "text": preface, "usage": dict(DEFAULT_USAGE)}


def status(code: int, retry_after: float | None = None, message: str = "") -> dict[str, Any]:
    return {"kind": "status", "status": code, "retry_after": retry_after, "message": message}


def hang(seconds: float = 5.0) -> dict[str, Any]:
    return {"kind": "hang", "seconds": seconds}


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class FakeLLMServer:
    script: list[dict[str, Any]] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def anthropic_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeLLMServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def set_script(self, *steps: dict[str, Any]) -> None:
        with self._lock:
            self.script = list(steps)
            self.requests.clear()

    def _next(self) -> dict[str, Any]:
        with self._lock:
            if not self.script:
                return status(500, message="fake server: empty script")
            return self.script.pop(0) if len(self.script) > 1 else self.script[0]

    # -- answers -------------------------------------------------------------------------------

    @staticmethod
    def _anthropic_ok(step: dict[str, Any], model: str) -> dict[str, Any]:
        u = step["usage"]
        content: list[dict[str, Any]] = []
        if step.get("text"):
            content.append({"type": "text", "text": step["text"]})
        if step["kind"] == "tool":
            content.append({"type": "tool_use", "id": "toolu_01", "name": "submit_candidate", "input": step["input"]})
        return {
            "id": "msg_01", "type": "message", "role": "assistant", "model": model, "content": content,
            "stop_reason": "tool_use" if step["kind"] == "tool" else "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": u["input_tokens"], "output_tokens": u["output_tokens"],
                      "cache_read_input_tokens": u["cache_read"], "cache_creation_input_tokens": u["cache_write"]},
        }

    @staticmethod
    def _openai_ok(step: dict[str, Any], model: str) -> dict[str, Any]:
        u = step["usage"]
        prompt = u["input_tokens"] + u["cache_read"]
        return {
            "id": "chatcmpl-01", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": step.get("text", "")}}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": u["output_tokens"],
                      "total_tokens": prompt + u["output_tokens"],
                      "prompt_tokens_details": {"cached_tokens": u["cache_read"]}},
        }

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _send(self, code: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n else b""
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    body = {"_raw": raw.decode(errors="replace")}
                with server._lock:
                    server.requests.append(Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                anthropic = self.path.rstrip("/").endswith("/v1/messages")
                openai = self.path.rstrip("/").endswith("/chat/completions")
                if not (anthropic or openai):
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                step = server._next()
                kind = step["kind"]
                try:
                    if kind == "hang":
                        server._stop.wait(step["seconds"])
                        self._send(500, {"error": {"message": "hung"}})
                    elif kind == "status":
                        code = step["status"]
                        headers = {"retry-after": str(step["retry_after"])} if step.get("retry_after") is not None else {}
                        etype = {429: "rate_limit_error", 529: "overloaded_error"}.get(code, "api_error")
                        msg = step.get("message") or {529: "Overloaded", 429: "Rate limited"}.get(code, "Internal error")
                        if anthropic:
                            self._send(code, {"type": "error", "error": {"type": etype, "message": msg}}, headers)
                        else:
                            self._send(code, {"error": {"message": msg, "type": etype, "code": code}}, headers)
                    else:
                        model = body.get("model", "")
                        self._send(200, server._anthropic_ok(step, model) if anthropic else server._openai_ok(step, model))
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler
