"""Say exactly how to start PostgreSQL or Redis when the test suite cannot reach them."""

from __future__ import annotations

import os
import socket
import sys
from urllib.parse import urlparse


def _reachable(url: str, default_port: int) -> tuple[str, int, bool]:
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or default_port
    try:
        with socket.create_connection((host, port), timeout=2):
            return host, port, True
    except OSError:
        return host, port, False


def main() -> int:
    ok = True
    db_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/terms")
    host, port, up = _reachable(db_url, 5432)
    if not up:
        ok = False
        print(
            f"PostgreSQL is not reachable at {host}:{port}. Start it with:\n"
            "  pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n"
            "or point DATABASE_URL at a server (the role needs CREATEDB).",
            file=sys.stderr,
        )
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    host, port, up = _reachable(redis_url, 6379)
    if not up:
        ok = False
        print(
            f"Redis is not reachable at {host}:{port}. Start it with:\n"
            "  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no\n"
            "(apt-get install -y redis-server if it is missing) or set REDIS_URL.",
            file=sys.stderr,
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
