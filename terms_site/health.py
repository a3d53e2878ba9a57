"""/healthz (process up), /readyz (this web process can serve) and /health/jobs (the jobs).

A load balancer drains a web instance on its own failure only (DESIGN, Interfaces): /readyz
looks at what a request of this process needs — the database within a short timeout, every
migration applied, the static files collected — never at workers, beat or Redis, whose outage
the pages and the API survive (core/cache.py, core/outbox.py). Whether the jobs run (worker and
beat heartbeats, the broker, the outbox backlog, the shared cache) is /health/jobs, for
monitoring and alerts, behind the metrics token.

All answer JSON, 200 or 503. Anyone may call the probes, so their public answer is the status
alone; which component failed, and why, is shown only to a caller with the metrics token, under
the same rules as /metrics: over HTTPS outside debug (docs/operations.md, Health).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import ManifestFilesMixin
from django.core.cache import caches
from django.core.files.storage import storages
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Min
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache

from core import clock
from core.enums import OutboxStatus
from core.models import Heartbeat, Outbox
from terms_site.ops_token import OpsAccess, ops_access

Check = tuple[bool, str]

# A file every page links (templates/base.html): present in the manifest and on disk once
# `collectstatic` ran. Without it every page, and every HTML error page, is a 500.
STATIC_PROBE = "css/terms.css"


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _failure(exc: Exception) -> Check:
    # The exception class tells the operator what broke; its text may carry a DSN or host.
    return False, exc.__class__.__name__


# --- this web process: /readyz ----------------------------------------------------------------


def check_database() -> Check:
    """`SELECT 1` within TERMS_READYZ_DATABASE_TIMEOUT_MS (the connect timeout applies too)."""
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        with transaction.atomic(using=DEFAULT_DB_ALIAS), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                timeout = int(settings.TERMS_READYZ_DATABASE_TIMEOUT_MS)
                cursor.execute("SELECT set_config('statement_timeout', %s, true)", [str(timeout)])
            cursor.execute("SELECT 1")
        return True, "ok"
    except Exception as exc:  # any failure means "not ready"
        return _failure(exc)


def check_migrations() -> Check:
    try:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        return (not pending), ("ok" if not pending else f"{len(pending)} pending")
    except Exception as exc:
        return _failure(exc)


def check_static() -> Check:
    """The stylesheet every page links can be served: in the manifest and on disk."""
    try:
        storage = storages["staticfiles"]
        if isinstance(storage, ManifestFilesMixin):
            # The manifest is read when the process starts, as the pages read it.
            if not storage.hashed_files:
                return False, "no manifest (collectstatic)"
            found = storage.exists(storage.stored_name(STATIC_PROBE))
        elif settings.WHITENOISE_USE_FINDERS:  # debug: served from the source folders
            found = finders.find(STATIC_PROBE) is not None
        else:
            found = storage.exists(STATIC_PROBE)
    except Exception as exc:  # a missing manifest entry is a ValueError
        return _failure(exc)
    return found, "ok" if found else "missing (collectstatic)"


def readiness() -> tuple[bool, dict[str, Check]]:
    """Whether this process can serve: database, migrations, static files."""
    checks: dict[str, Check] = {"database": check_database()}
    checks["migrations"] = (
        check_migrations() if checks["database"][0] else (False, "database unavailable")
    )
    checks["static"] = check_static()
    return all(ok for ok, _ in checks.values()), checks


# --- the jobs: /health/jobs -----------------------------------------------------------------


def check_heartbeat(name: str) -> Check:
    """The named heartbeat is younger than TERMS_HEARTBEAT_MAX_AGE_SECONDS.

    `beat` is written by the worker running beat's heartbeat task, so it proves beat, broker
    and a worker together; `worker` is written by the same run (core.tasks.heartbeat).
    """

    try:
        beat = Heartbeat.objects.filter(name=name).first()
    except Exception as exc:
        return _failure(exc)
    if beat is None:
        return False, "never"
    age = clock.now() - beat.beat_at
    limit = timedelta(seconds=settings.TERMS_HEARTBEAT_MAX_AGE_SECONDS)
    return age <= limit, f"{int(age.total_seconds())}s ago"


def check_broker() -> Check:
    from terms_site.celery import app  # noqa: PLC0415 -- avoid loading Celery for /healthz

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True, "ok"
    except Exception as exc:
        return _failure(exc)


def check_cache() -> Check:
    """Redis itself, past the fallback: pages keep answering without it, at reduced precision
    (per-process throttles and gate caches, core/cache.py)."""
    cache = caches["default"]
    ping = getattr(cache, "ping", None)
    if ping is None:
        # The embedded mode (`make run`) has no Redis; its local-memory cache is fine there.
        return True, f"ok ({settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]})"
    try:
        ping()
    except Exception as exc:
        return _failure(exc)
    return True, "ok"


def check_outbox() -> Check:
    """No message due for longer than TERMS_OUTBOX_BACKLOG_MAX_AGE_SECONDS is still waiting."""
    limit = int(settings.TERMS_OUTBOX_BACKLOG_MAX_AGE_SECONDS)
    try:
        oldest = Outbox.objects.filter(
            status__in=(OutboxStatus.PENDING, OutboxStatus.FAILED)
        ).aggregate(oldest=Min("next_attempt_at"))["oldest"]
    except Exception as exc:
        return _failure(exc)
    if oldest is None:
        return True, "empty"
    age = max(int((clock.now() - oldest).total_seconds()), 0)
    return age <= limit, f"oldest due {age}s ago"


def jobs_health() -> tuple[bool, dict[str, Check]]:
    """Whether the jobs run: heartbeats, broker, outbox backlog, and the shared cache."""
    checks: dict[str, Check] = {
        "beat": check_heartbeat("beat"),
        "worker": check_heartbeat("worker"),
        "broker": check_broker(),
        "outbox": check_outbox(),
        "cache": check_cache(),
    }
    return all(ok for ok, _ in checks.values()), checks


# --- views --------------------------------------------------------------------------------------


def _detail(checks: dict[str, Check], started: float) -> dict[str, Any]:
    return {
        "checks": {n: {"ok": ok, "detail": detail} for n, (ok, detail) in checks.items()},
        "failing": [name for name, (ok, _) in checks.items() if not ok],
        "elapsed_ms": round((time.monotonic() - started) * 1000, 1),
    }


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    started = time.monotonic()
    ready, checks = readiness()
    body: dict[str, Any] = {"status": "ok" if ready else "unavailable"}
    if ops_access(request) is OpsAccess.GRANTED:
        body |= _detail(checks, started)
    return JsonResponse(body, status=200 if ready else 503)


@never_cache
def jobs(request: HttpRequest) -> HttpResponse:
    """The jobs check: for the operator only, under /metrics' rules (404 while no token is
    configured, 403 for a wrong one or over plain HTTP outside debug)."""
    access = ops_access(request)
    if access is OpsAccess.CLOSED:
        return HttpResponse(b"", status=404, content_type="text/plain")
    if access is OpsAccess.INSECURE:
        return HttpResponse(b"https required\n", status=403, content_type="text/plain")
    if access is not OpsAccess.GRANTED:
        return HttpResponse(b"", status=403, content_type="text/plain")
    started = time.monotonic()
    healthy, checks = jobs_health()
    body: dict[str, Any] = {"status": "ok" if healthy else "unavailable"}
    body |= _detail(checks, started)
    body["heartbeat_max_age_seconds"] = settings.TERMS_HEARTBEAT_MAX_AGE_SECONDS
    body["outbox_backlog_max_age_seconds"] = settings.TERMS_OUTBOX_BACKLOG_MAX_AGE_SECONDS
    return JsonResponse(body, status=200 if healthy else 503)


def _metrics(request: HttpRequest) -> HttpResponse:
    from terms_site.metrics import metrics_view  # noqa: PLC0415 -- only scrapes need it

    return metrics_view(request)


OPS_ENDPOINTS: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/healthz": healthz,
    "/readyz": readyz,
    "/health/jobs": jobs,
    "/metrics": _metrics,
}


class OpsEndpointsMiddleware:
    """Answers probes and scrapes before host validation, HTTPS redirects and sessions.

    Docker, load balancers and Prometheus call the container by its internal address and over
    plain HTTP; neither is (or should be) an allowed host or an HTTPS URL. None of these views
    builds a URL from the Host header, so skipping its check is safe; /metrics and /health/jobs
    have their token.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        view = OPS_ENDPOINTS.get(request.path_info.rstrip("/") or "/")
        if view is not None and request.method in ("GET", "HEAD"):
            return view(request)
        return self.get_response(request)
