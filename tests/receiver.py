"""A real HTTP receiver for webhooks on loopback, whose answers each test scripts by path.

- ``/ok``: 200.
- ``/fail/N``: 500 to the first N requests of each delivery, then 200.
- ``/hang/N``: holds the first N requests of each delivery until ``release`` is set, then 200.
- ``/down``: 503 while ``down`` is set, else 200.
- ``/redirect``: 302 to ``/ok?t=redirected``.
- ``/big``: 200 with a body of BIG bytes, of which ``big_sent`` counts what got out before the sender hung up.

A query string (``/ok?t=filter``) keeps tests apart without changing the answer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

WAIT_SECONDS = 60  # the longest a test waits for something to arrive
BIG = 256 * 1024 * 1024


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered

    @property
    def delivery(self) -> str:
        return self.headers["x-storyline-delivery"]


class Receiver:
    def __init__(self) -> None:
        self.requests: list[Received] = []  # answered
        self.arrived: list[str] = []  # paths of requests as they arrive, before any answer
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.down = threading.Event()
        self.big_sent: list[int] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def _seen(self, delivery: str) -> int:
        with self.lock:
            return sum(1 for r in self.requests if r.delivery == delivery)

    def _answer(self, path: str, delivery: str) -> int:
        seen = self._seen(delivery)
        kind, _, count = path.split("?")[0].strip("/").partition("/")  # a query string tells tests apart
        if kind == "fail" and seen < int(count):
            return 500
        if kind == "hang" and seen < int(count):
            self.release.wait(WAIT_SECONDS)
        if kind == "down" and self.down.is_set():
            return 503
        return 302 if kind == "redirect" else 200

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                with receiver.lock:
                    receiver.arrived.append(self.path)
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status = receiver._answer(self.path, headers.get("x-storyline-delivery", ""))
                with receiver.lock:
                    receiver.requests.append(Received(self.path, headers, body, status))
                if self.path.startswith("/big"):
                    self.send_big()
                    return
                try:
                    self.send_response(status)
                    if status == 302:
                        self.send_header("location", receiver.url("/ok?t=redirected"))
                    self.send_header("content-length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the sender hung up (it timed out)

            def send_big(self) -> None:
                sent, chunk = 0, b"x" * 65536
                try:
                    self.send_response(200)
                    self.send_header("content-length", str(BIG))
                    self.end_headers()
                    while sent < BIG:
                        self.wfile.write(chunk)
                        sent += len(chunk)
                except OSError:
                    pass
                with receiver.lock:
                    receiver.big_sent.append(sent)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def received(self, path: str | None = None) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if path is None or r.path == path]

    def wait_for(self, condition: Callable[[], Any], what: str) -> Any:
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            result = condition()
            if result:
                return result
            time.sleep(0.05)
        raise AssertionError(f"gave up waiting for {what}; received: {self.received()}")


@contextmanager
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    found.thread.start()
    try:
        yield found
    finally:
        found.release.set()
        found.server.shutdown()
        found.server.server_close()
