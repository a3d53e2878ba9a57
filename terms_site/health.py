"""/healthz (process up) and /readyz (database, broker, migrations, beat heartbeat)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

from terms_site import clock


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _check_database() -> tuple[bool, str]:
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
        return True, "ok"
    except Exception as exc:  # any failure means "not ready"; the text is for the operator
        return False, exc.__class__.__name__


def _check_migrations() -> tuple[bool, str]:
    try:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        return (not pending), ("ok" if not pending else f"{len(pending)} pending")
    except Exception as exc:
        return False, exc.__class__.__name__


def _check_broker() -> tuple[bool, str]:
    from terms_site.celery import app  # noqa: PLC0415 -- avoid loading Celery for /healthz

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True, "ok"
    except Exception as exc:
        return False, exc.__class__.__name__


def _check_heartbeat(name: str) -> tuple[bool, str]:
    from core.models import Heartbeat  # noqa: PLC0415 -- apps are ready by request time

    beat = Heartbeat.objects.filter(name=name).first()
    if beat is None:
        return False, "never"
    age = clock.now() - beat.beat_at
    limit = timedelta(seconds=settings.TERMS_HEARTBEAT_MAX_AGE_SECONDS)
    return age <= limit, f"{int(age.total_seconds())}s ago"


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, tuple[bool, str]] = {"database": _check_database()}
    if checks["database"][0]:
        checks["migrations"] = _check_migrations()
        checks["beat"] = _check_heartbeat("beat")
        checks["worker"] = _check_heartbeat("worker")
    checks["broker"] = _check_broker()
    ready = all(ok for ok, _ in checks.values())
    body = {
        "status": "ok" if ready else "unavailable",
        "checks": {name: {"ok": ok, "detail": detail} for name, (ok, detail) in checks.items()},
    }
    return JsonResponse(body, status=200 if ready else 503)
