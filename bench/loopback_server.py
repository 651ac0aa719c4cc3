"""A lean OpenAI-compatible chat server on 127.0.0.1 for the benchmarks: one asyncio loop, no threads.

    python bench/loopback_server.py LATENCY_S CONTENT_FILE     # prints its base URL, serves until killed

Every ``POST .../chat/completions`` is answered with CONTENT_FILE's text exactly LATENCY_S after its
body has arrived. The benchmarks measure the client, so the server must add next to nothing to
L: a thread per request (tests/fakeserver.py, built for scripted faults) makes 64 sleeping threads
fight for one GIL and parse every 25 kB body, which showed up as ~0.1 s lost per wave of 64.
Here a request costs one header parse and a timer. ``GET /stats`` reports requests, the peak in
flight and the busy span (first request in to last response out); ``POST /reset`` clears them.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path


class Stats:
    """What the server saw; read by ``GET /stats``."""

    def __init__(self) -> None:
        self.reset(in_flight=0)

    def reset(self, in_flight: int) -> None:
        self.requests = 0
        self.in_flight = in_flight
        self.peak_in_flight = in_flight
        self.first_arrival: float | None = None
        self.last_done: float | None = None

    def as_json(self) -> bytes:
        busy = self.last_done - self.first_arrival if self.first_arrival is not None and self.last_done else None
        return json.dumps({"requests": self.requests, "peak_in_flight": self.peak_in_flight, "busy_s": busy}).encode()


def _response(status: str, body: bytes, content_type: str = "application/json") -> bytes:
    head = f"HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {len(body)}\r\n\r\n"
    return head.encode("ascii") + body


def completion_body(content: str) -> bytes:
    """The one answer every chat request gets (an OpenAI chat.completion object)."""
    return json.dumps({
        "id": "chatcmpl-bench", "object": "chat.completion", "created": 0, "model": "bench-model",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150},
    }).encode()


async def serve(latency_s: float, content: str, ready: asyncio.Future[str]) -> None:
    stats = Stats()
    answer = _response("200 OK", completion_body(content))

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, _, header_block = head.decode("latin-1").partition("\r\n")
                method, path, _ = request_line.split(" ", 2)
                length = 0
                for line in header_block.split("\r\n"):
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                if length:
                    await reader.readexactly(length)
                if method == "GET" and path.rstrip("/").endswith("/stats"):
                    writer.write(_response("200 OK", stats.as_json()))
                elif method == "POST" and path.rstrip("/").endswith("/reset"):
                    stats.reset(stats.in_flight)
                    writer.write(_response("204 No Content", b""))
                elif method == "POST" and path.rstrip("/").endswith("/chat/completions"):
                    stats.requests += 1
                    stats.in_flight += 1
                    stats.peak_in_flight = max(stats.peak_in_flight, stats.in_flight)
                    if stats.first_arrival is None:
                        stats.first_arrival = time.monotonic()
                    try:
                        await asyncio.sleep(latency_s)
                        writer.write(answer)
                    finally:
                        stats.in_flight -= 1
                        stats.last_done = time.monotonic()
                else:
                    writer.write(_response("404 Not Found", b'{"error": "not found"}'))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    ready.set_result(f"http://127.0.0.1:{port}/v1")
    async with server:
        await server.serve_forever()


def main() -> None:
    latency = float(sys.argv[1])
    content = Path(sys.argv[2]).read_text(encoding="utf-8")

    async def run() -> None:
        ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(serve(latency, content, ready))
        print(await ready, flush=True)
        await task

    asyncio.run(run())


if __name__ == "__main__":
    main()
