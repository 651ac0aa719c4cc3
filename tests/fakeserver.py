"""A scriptable OpenAI-compatible chat server on 127.0.0.1 for tests and benchmarks.

Each request is answered by ``script(index, body) -> Reply``: content, status, headers, latency,
or a fault (connection reset, hang, truncated or non-JSON body). The server records every
request (body and headers) and counts the peak number of requests in flight.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    content: str = "<p>ok</p>"
    status: int = 200
    finish_reason: str = "stop"
    headers: dict[str, str] = field(default_factory=dict)
    latency_s: float = 0.0
    fault: str | None = None  # "reset", "hang", "truncated", "not_json"
    error_body: dict[str, Any] | None = None
    usage: tuple[int, int] = (100, 50)


Script = Callable[[int, dict[str, Any]], Reply]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # read by listen() in the constructor: bursts of connections must not be refused

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (the timeout tests) closes its socket before the answer is
        # written: that is the scenario under test, not a server fault worth a traceback.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class FakeOpenAI:
    """Start with ``with FakeOpenAI(script) as server: server.base_url``."""

    def __init__(self, script: Script | None = None, latency_s: float = 0.0):
        self.script = script or (lambda index, body: Reply())
        self.latency_s = latency_s
        self.requests: list[dict[str, Any]] = []
        self.arrivals: list[float] = []
        self.in_flight = 0
        self.peak_in_flight = 0
        self.last_done: float | None = None
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAI:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                if self.path.rstrip("/").endswith("/stats"):
                    first = fake.arrivals[0] if fake.arrivals else None
                    busy = (fake.last_done - first) if first is not None and fake.last_done else None
                    data = json.dumps({"requests": len(fake.requests), "peak_in_flight": fake.peak_in_flight,
                                       "busy_s": busy}).encode()
                    self.send_response(200)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                else:
                    self.send_error(404)

            def do_POST(self) -> None:  # noqa: N802
                if self.path.rstrip("/").endswith("/reset"):
                    with fake._lock:
                        fake.requests.clear()
                        fake.arrivals.clear()
                        fake.peak_in_flight = fake.in_flight
                        fake.last_done = None
                    self.send_response(204)
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with fake._lock:
                    index = len(fake.requests)
                    fake.requests.append({"body": body, "headers": {k.lower(): v for k, v in self.headers.items()}, "path": self.path})
                    fake.arrivals.append(time.monotonic())
                    fake.in_flight += 1
                    fake.peak_in_flight = max(fake.peak_in_flight, fake.in_flight)
                try:
                    reply = fake.script(index, body)
                    delay = reply.latency_s or fake.latency_s
                    if reply.fault == "hang":
                        time.sleep(3600 if delay == 0 else delay)
                    elif delay:
                        time.sleep(delay)
                    self._answer(reply, body)
                finally:
                    with fake._lock:
                        fake.in_flight -= 1
                        fake.last_done = time.monotonic()

            def _answer(self, reply: Reply, body: dict[str, Any]) -> None:
                if reply.fault == "reset":
                    self.connection.shutdown(2)
                    self.close_connection = True
                    return
                if reply.status != 200:
                    payload = reply.error_body or {"error": {"message": f"fake error {reply.status}", "type": "fake", "code": reply.status}}
                else:
                    payload = {
                        "id": "chatcmpl-fake",
                        "object": "chat.completion",
                        "created": 0,
                        "model": body.get("model", "fake"),
                        "choices": [{"index": 0, "finish_reason": reply.finish_reason,
                                     "message": {"role": "assistant", "content": reply.content}}],
                        "usage": {"prompt_tokens": reply.usage[0], "completion_tokens": reply.usage[1],
                                  "total_tokens": sum(reply.usage)},
                    }
                data = json.dumps(payload).encode()
                if reply.fault == "not_json":
                    data = b"<html>bad gateway</html>"
                elif reply.fault == "truncated":
                    data = data[: len(data) // 2]
                self.send_response(reply.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        self._server = _Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()


def serve_forever_in_this_process() -> None:
    """``python tests/fakeserver.py LATENCY_S [CONTENT_FILE]``: serve until killed; prints the base URL.

    Benchmarks run the server in its own process so it does not compete for the client's GIL."""
    from pathlib import Path

    latency = float(sys.argv[1]) if len(sys.argv) > 1 else 0.0
    content = Path(sys.argv[2]).read_text(encoding="utf-8") if len(sys.argv) > 2 else "<p>ok</p>"
    with FakeOpenAI(lambda index, body: Reply(content=content), latency_s=latency) as server:
        # Keep request bodies out of memory over long benchmarks: only counts matter there.
        print(server.base_url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    serve_forever_in_this_process()
