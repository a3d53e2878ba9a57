"""gunicorn settings for the web service (docker-compose `web`; `gunicorn -c deploy/gunicorn.conf.py`).

Every value can be overridden with GUNICORN_* variables so an operator tunes a host without
rebuilding the image. Logs go to stdout as JSON lines (terms_site.logging.JsonFormatter), the
access log without client IP addresses, user agents or query strings.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


wsgi_app = "terms_site.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")

# A fixed number, never derived from the machine: inside a container the core count is the
# host's, and every worker (times its threads) holds a PostgreSQL connection, so the
# connection budget must follow from configuration (docs/operations.md, "Connections").
# Requests are short and mostly wait on PostgreSQL; 3 sync workers serve a 2-core host.
DEFAULT_WORKERS = 3
workers = _int("GUNICORN_WORKERS", DEFAULT_WORKERS)
threads = _int("GUNICORN_THREADS", 1)
worker_class = "sync"
# A request slower than this is killed (and logged); PDF receipts are the slowest at ~1 s.
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Recycle workers now and then so a slow leak never takes the service down; jitter keeps them
# from restarting together.
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 200)
# Docker's /dev/shm is RAM; the default (/tmp) may be an overlay on disk.
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None  # noqa: S108 -- RAM, by design
# Behind the TLS proxy: trust its X-Forwarded-* headers (the proxy is the only way in).
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "*")
limit_request_line = 8190
# No gunicornc control socket: compose scales and restarts containers, and the app user's
# home directory is read-only.
control_socket_disable = True

accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# The access line is rebuilt from the atoms by JsonFormatter (method, path, status, duration,
# size, request id); this format is only what a plain formatter would show.
access_log_format = "%(m)s %(U)s %(s)s %(M)sms %(b)s {x-request-id}o"
logconfig_dict: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "terms_site.logging.JsonFormatter"}},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stdout",
        }
    },
    # gunicorn merges this over its defaults, whose root logger names a "console" handler.
    "root": {"handlers": ["stdout"], "level": "INFO"},
    "loggers": {
        "gunicorn.error": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
    },
}

# Prometheus counters from every worker process are summed at scrape time (multiprocess mode).
# PROMETHEUS_MULTIPROC_DIR names a base folder; each gunicorn instance (master) writes to its
# own subfolder, so a second gunicorn on the same host neither adds its counters to this one's
# nor wipes them when it starts. The variable must point at that subfolder before
# prometheus_client is imported, i.e. before the workers load the app: on_starting sets it in
# the master, and the workers inherit it.
PROMETHEUS_BASE_DEFAULT = "/tmp/terms-prometheus"  # noqa: S108 -- per-host scratch, RAM or disk
INSTANCE_PREFIX = "gunicorn-"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def prometheus_instance_dir(base: Path, pid: int) -> Path:
    """Start this instance's metrics folder empty (files of an earlier run would be added in)
    and drop the folders of instances whose master is gone; a live one's is left alone."""
    base.mkdir(parents=True, exist_ok=True)
    for folder in base.glob(f"{INSTANCE_PREFIX}*"):
        number = folder.name.removeprefix(INSTANCE_PREFIX)
        if number.isdigit() and int(number) != pid and not _pid_alive(int(number)):
            shutil.rmtree(folder, ignore_errors=True)
    instance = base / f"{INSTANCE_PREFIX}{pid}"
    shutil.rmtree(instance, ignore_errors=True)
    instance.mkdir()
    return instance


def on_starting(server: Any) -> None:
    """Give this instance its own, empty metrics folder (keyed by the master's pid)."""
    # A re-exec'd master (USR2 upgrade) inherits the variable already pointing at the old
    # instance's folder: the base is remembered separately.
    base = os.environ.get("TERMS_PROMETHEUS_BASE_DIR") or os.environ.get(
        "PROMETHEUS_MULTIPROC_DIR", PROMETHEUS_BASE_DEFAULT
    )
    os.environ["TERMS_PROMETHEUS_BASE_DIR"] = base
    instance = prometheus_instance_dir(Path(base), os.getpid())
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(instance)


def on_exit(server: Any) -> None:
    """A master that stops cleanly removes its folder; a killed one's goes at the next start."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    if Path(folder).name.startswith(INSTANCE_PREFIX):
        shutil.rmtree(folder, ignore_errors=True)


def child_exit(server: Any, worker: Any) -> None:
    """Drop a dead worker's live gauges (its counters stay in the sum)."""
    from prometheus_client import multiprocess  # noqa: PLC0415 -- only in the master

    multiprocess.mark_process_dead(worker.pid, os.environ["PROMETHEUS_MULTIPROC_DIR"])
