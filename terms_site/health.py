"""/healthz (process up) and /readyz (database, Redis cache, broker, migrations, heartbeats).

Both answer JSON. /readyz returns 503 when a check fails, so a load balancer stops sending
traffic. Anyone may call the probes, so the public answer is the status alone; which
component failed, and why, is shown only to a caller with the metrics token (the operator's
scraper or `curl -H "Authorization: Bearer …"`), under the same rules as /metrics: over
HTTPS outside debug (docs/operations.md, Health; docs/security.md).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache

from core import clock
from core.models import Heartbeat
from terms_site.ops_token import OpsAccess, ops_access

Check = tuple[bool, str]


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _failure(exc: Exception) -> Check:
    # The exception class tells the operator what broke; its text may carry a DSN or host.
    return False, exc.__class__.__name__


def check_database() -> Check:
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
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


def check_cache() -> Check:
    """A write and a read-back through the configured cache (Redis in production)."""
    key = f"readyz:{uuid.uuid4().hex}"
    try:
        cache.set(key, "1", timeout=10)
        ok = cache.get(key) == "1"
        cache.delete(key)
    except Exception as exc:
        return _failure(exc)
    if not ok:
        return False, "read-back failed"
    backend = settings.CACHES["default"]["BACKEND"].rsplit(".", 2)[-2]
    # The embedded mode (`make run`) has no Redis; its local-memory cache is fine there.
    return True, "ok" if backend == "redis" else f"ok ({backend})"


def check_broker() -> Check:
    from terms_site.celery import app  # noqa: PLC0415 -- avoid loading Celery for /healthz

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True, "ok"
    except Exception as exc:
        return _failure(exc)


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


def readiness() -> tuple[bool, dict[str, Check]]:
    """Every check, in the order an operator reads them; database-backed ones need the DB."""
    checks: dict[str, Check] = {"database": check_database()}
    if checks["database"][0]:
        checks["migrations"] = check_migrations()
        checks["beat"] = check_heartbeat("beat")
        checks["worker"] = check_heartbeat("worker")
    else:
        for name in ("migrations", "beat", "worker"):
            checks[name] = (False, "database unavailable")
    checks["cache"] = check_cache()
    checks["broker"] = check_broker()
    return all(ok for ok, _ in checks.values()), checks


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    started = time.monotonic()
    ready, checks = readiness()
    body: dict[str, Any] = {"status": "ok" if ready else "unavailable"}
    if ops_access(request) is OpsAccess.GRANTED:
        body |= {
            "checks": {n: {"ok": ok, "detail": detail} for n, (ok, detail) in checks.items()},
            "failing": [name for name, (ok, _) in checks.items() if not ok],
            "heartbeat_max_age_seconds": settings.TERMS_HEARTBEAT_MAX_AGE_SECONDS,
            "elapsed_ms": round((time.monotonic() - started) * 1000, 1),
        }
    return JsonResponse(body, status=200 if ready else 503)


def _metrics(request: HttpRequest) -> HttpResponse:
    from terms_site.metrics import metrics_view  # noqa: PLC0415 -- only scrapes need it

    return metrics_view(request)


OPS_ENDPOINTS: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/healthz": healthz,
    "/readyz": readyz,
    "/metrics": _metrics,
}


class OpsEndpointsMiddleware:
    """Answers probes and scrapes before host validation, HTTPS redirects and sessions.

    Docker, load balancers and Prometheus call the container by its internal address and over
    plain HTTP; neither is (or should be) an allowed host or an HTTPS URL. None of these views
    builds a URL from the Host header, so skipping its check is safe; /metrics has its token.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        view = OPS_ENDPOINTS.get(request.path_info.rstrip("/") or "/")
        if view is not None and request.method in ("GET", "HEAD"):
            return view(request)
        return self.get_response(request)
