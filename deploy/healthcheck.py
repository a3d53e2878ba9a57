"""Container healthchecks: `python deploy/healthcheck.py web|worker|beat` exits 0 when healthy.

Each check looks only at its own process, so one broken service is marked unhealthy without
dragging the others along: web is healthy when /readyz says this process can serve (its
database, migrations, static files), which never depends on the worker, beat or Redis; whether
the jobs run is /health/jobs, for monitoring (docs/operations.md, Health).
"""

from __future__ import annotations

import os
import socket
import sys
import time
import urllib.request
from pathlib import Path

# Beat's persistent scheduler writes its schedule file at least every 3 minutes while it sends
# tasks (every 30 s here); a file older than this means beat is stuck or gone.
BEAT_MAX_SILENCE_SECONDS = 600


def check_web() -> bool:
    port = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000").rsplit(":", 1)[-1]
    url = f"http://127.0.0.1:{port}/readyz"
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status == 200


def check_worker() -> bool:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "terms_site.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from terms_site.celery import app  # noqa: PLC0415 -- only this mode needs Celery

    # Ask this container's worker only (the node name defaults to celery@<hostname>).
    replies = app.control.ping(destination=[f"celery@{socket.gethostname()}"], timeout=10)
    return bool(replies)


def check_beat() -> bool:
    var_dir = Path(os.environ.get("TERMS_VAR_DIR", Path(__file__).resolve().parent.parent / "var"))
    files = list(var_dir.glob("celerybeat-schedule*"))
    if not files:
        return False
    age = time.time() - max(f.stat().st_mtime for f in files)
    return age <= BEAT_MAX_SILENCE_SECONDS


CHECKS = {"web": check_web, "worker": check_worker, "beat": check_beat}


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[1] not in CHECKS:
        print(f"usage: {argv[0]} {'|'.join(CHECKS)}", file=sys.stderr)
        return 2
    try:
        healthy = CHECKS[argv[1]]()
    except Exception as exc:  # any failure is "unhealthy"; the class name is enough for docker
        print(f"{argv[1]} unhealthy: {exc.__class__.__name__}", file=sys.stderr)
        return 1
    if not healthy:
        print(f"{argv[1]} unhealthy", file=sys.stderr)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
