"""Local HTTP endpoints for the webhook attack tests: every one listens on 127.0.0.1 only."""

from __future__ import annotations

import http.server
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Hit:
    at: float  # time.monotonic() when the request arrived
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A threaded HTTP server answering every request with `respond(handler)`."""

    respond: Callable[[http.server.BaseHTTPRequestHandler], None]
    hits: list[Hit] = field(default_factory=list)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                receiver.hits.append(
                    Hit(time.monotonic(), self.command, self.path, dict(self.headers), body)
                )
                receiver.respond(self)

            do_GET = do_POST = _handle

            def log_message(self, *args: Any) -> None:
                return

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str = "/hook", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def answer(status: int, headers: dict[str, str] | None = None) -> Callable[..., None]:
    def respond(handler: http.server.BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return respond


class Tarpit:
    """Accepts connections and then either says nothing or trickles one byte at a time."""

    def __init__(self, *, trickle_every: float | None = None) -> None:
        self.trickle_every = trickle_every
        self.stop = threading.Event()
        self.connections = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, path: str = "/hook", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            threading.Thread(target=self._hold, args=(conn,), daemon=True).start()

    def _hold(self, conn: socket.socket) -> None:
        status = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000
        sent = 0
        with conn:
            while not self.stop.wait(self.trickle_every or 0.1):
                if self.trickle_every is None or sent >= len(status):
                    continue
                try:
                    conn.sendall(status[sent : sent + 1])
                except OSError:
                    return
                sent += 1

    def close(self) -> None:
        self.stop.set()
        self.sock.close()
