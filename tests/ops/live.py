"""A live gunicorn (deploy/gunicorn.conf.py) on a free port, on production settings except
what a test needs, and the HTTP calls the fault tests make against it."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def this_run_database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float

    def json(self) -> object:
        return json.loads(self.body)


@dataclass
class LiveServer:
    base: str
    log: Path
    process: subprocess.Popen[bytes]

    def call(
        self, method: str, path: str, body: object = None, timeout: float = 40, **headers: str
    ) -> Answer:
        data = None if body is None else json.dumps(body).encode()
        if data is not None:
            headers.setdefault("Content-Type", "application/json")
        request = urllib.request.Request(  # noqa: S310 -- a local test server
            f"{self.base}{path}", data=data, method=method, headers=headers
        )
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                status, got, content = response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            status, got, content = exc.code, dict(exc.headers), exc.read()
        return Answer(status, got, content, time.monotonic() - started)

    def log_lines(self) -> list[str]:
        return self.log.read_text(encoding="utf-8", errors="replace").splitlines()


@contextlib.contextmanager
def gunicorn(tmp: Path, **env: str) -> Iterator[LiveServer]:
    """One sync worker on the test settings with DEBUG off (static files through the finders,
    so no `collectstatic`); `env` overrides the rest (DATABASE_URL, REDIS_URL, timeouts)."""
    port = free_port()
    full = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "terms_site.test_settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        # The test mailbox delivers nothing; say so, as a staging host would.
        "TERMS_ALLOW_NONPRODUCTION": "email",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": this_run_database_url(),
        "TERMS_VAR_DIR": str(tmp / "var"),
        "TERMS_LOG_FORMAT": "json",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp / "prometheus"),
        **env,
    }
    full.pop("TERMS_PROCESS_KIND", None)  # wsgi.py says "web"
    log = tmp / "gunicorn.log"
    handle = log.open("wb")
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "-c", "deploy/gunicorn.conf.py"],
        cwd=ROOT,
        env=full,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    handle.close()
    server = LiveServer(base=f"http://127.0.0.1:{port}", log=log, process=process)
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError):
                if server.call("GET", "/healthz", timeout=5).status == 200:
                    break
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@contextlib.contextmanager
def stalled_socket() -> Iterator[int]:
    """A port that accepts connections and never says a word: a database that hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                held.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        for sock in held:
            sock.close()
        listener.close()
