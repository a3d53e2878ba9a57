from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db.migrations.executor import MigrationExecutor

from core import clock
from core.enums import OutboxChannel
from core.models import Heartbeat, Outbox
from core.services import heartbeat_write

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

TOKEN = "ops-token-for-tests"


@pytest.fixture
def operator(settings) -> dict[str, str]:
    """The component detail is for the operator: the metrics token (docs/operations.md)."""
    settings.TERMS_METRICS_TOKEN = TOKEN
    return {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}


@pytest.fixture
def fresh_heartbeats() -> None:
    heartbeat_write(name="beat")
    heartbeat_write(name="worker")


def test_readyz_reports_this_process_checks_as_json_when_ready(client, operator) -> None:
    response = client.get("/readyz", **operator)
    body = response.json()
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert body["status"] == "ok"
    assert body["failing"] == []
    # Only what a request of this process needs: no heartbeat, broker or cache.
    assert body["checks"] == {
        "database": {"ok": True, "detail": "ok"},
        "migrations": {"ok": True, "detail": "ok"},
        "static": {"ok": True, "detail": "ok"},
    }


def test_readyz_stays_ready_without_heartbeats_broker_or_redis(client, settings, operator) -> None:
    """A dead worker, beat or Redis must not drain every web instance (DESIGN, Interfaces)."""
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.FallbackRedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        }
    }
    Heartbeat.objects.all().delete()
    assert client.get("/readyz", **operator).status_code == 200
    jobs = client.get("/health/jobs", **operator)
    assert jobs.status_code == 503
    assert jobs.json()["failing"] == ["beat", "worker", "cache"]
    assert jobs.json()["checks"]["cache"] == {"ok": False, "detail": "ConnectionError"}


def test_readyz_fails_when_the_static_files_were_not_collected(
    client, settings, operator, tmp_path
) -> None:
    """Production serves from STATIC_ROOT through the manifest: without `collectstatic` every
    page is a 500, so the instance is not ready."""
    settings.STATIC_ROOT = str(tmp_path)
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    body = client.get("/readyz", **operator).json()
    assert body["failing"] == ["static"]
    assert body["checks"]["static"] == {"ok": False, "detail": "no manifest (collectstatic)"}


def test_readyz_passes_with_collected_static_files(client, settings, operator, tmp_path) -> None:
    settings.STATIC_ROOT = str(tmp_path)
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    call_command("collectstatic", "--no-input", "-v", "0", "-i", "drf-yasg", "-i", "*.js")
    assert client.get("/readyz", **operator).json()["checks"]["static"] == {
        "ok": True,
        "detail": "ok",
    }


def test_readyz_fails_on_unapplied_migrations(client, operator, monkeypatch) -> None:
    monkeypatch.setattr(
        MigrationExecutor, "migration_plan", lambda self, targets: [("core", "0099_x")]
    )
    response = client.get("/readyz", **operator)
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"] == {"ok": False, "detail": "1 pending"}


# --- the jobs check --------------------------------------------------------------------------


def test_jobs_check_reports_every_check_when_the_jobs_run(
    client, fresh_heartbeats, operator
) -> None:
    response = client.get("/health/jobs", **operator)
    body = response.json()
    assert response.status_code == 200
    assert set(body["checks"]) == {"beat", "worker", "broker", "outbox", "cache"}
    assert body["checks"]["cache"] == {"ok": True, "detail": "ok"}
    assert body["checks"]["outbox"] == {"ok": True, "detail": "empty"}
    assert body["checks"]["beat"]["detail"].endswith("s ago")
    assert body["heartbeat_max_age_seconds"] == 180


def test_jobs_check_fails_on_a_heartbeat_older_than_the_limit(
    client, fresh_heartbeats, settings, operator
) -> None:
    settings.TERMS_HEARTBEAT_MAX_AGE_SECONDS = 60
    Heartbeat.objects.filter(name="beat").update(beat_at=clock.now() - timedelta(seconds=61))
    response = client.get("/health/jobs", **operator)
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "unavailable"
    assert body["failing"] == ["beat"]
    assert body["checks"]["beat"] == {"ok": False, "detail": "61s ago"}
    assert client.get("/readyz").status_code == 200


def test_jobs_check_names_a_missing_worker_heartbeat(client, operator) -> None:
    heartbeat_write(name="beat")
    body = client.get("/health/jobs", **operator).json()
    assert body["failing"] == ["worker"]
    assert body["checks"]["worker"] == {"ok": False, "detail": "never"}


def test_jobs_check_fails_on_an_outbox_backlog(
    client, fresh_heartbeats, settings, operator
) -> None:
    settings.TERMS_OUTBOX_BACKLOG_MAX_AGE_SECONDS = 600
    Outbox.objects.create(
        kind="test.backlog",
        channel=OutboxChannel.EMAIL,
        dedupe_key=f"backlog-{uuid.uuid4().hex}",
        recipient="ops@customer.example",
        next_attempt_at=clock.now() - timedelta(seconds=601),
    )
    body = client.get("/health/jobs", **operator).json()
    assert body["failing"] == ["outbox"]
    assert body["checks"]["outbox"]["detail"].startswith("oldest due 60")


@pytest.mark.parametrize(
    ("token", "header", "expected"),
    [("", f"Bearer {TOKEN}", 404), (TOKEN, "", 403), (TOKEN, "Bearer wrong", 403)],
)
def test_jobs_check_is_for_the_metrics_token_only(client, settings, token, header, expected):
    settings.TERMS_METRICS_TOKEN = token
    response = client.get("/health/jobs", HTTP_AUTHORIZATION=header)
    assert response.status_code == expected
    assert response.content == b""


def test_jobs_check_refuses_the_token_over_plain_http_outside_debug(
    client, settings, operator
) -> None:
    settings.TERMS_METRICS_REQUIRE_HTTPS = True
    assert client.get("/health/jobs", **operator).status_code == 403
    assert client.get("/health/jobs", secure=True, **operator).status_code == 503


def test_probes_answer_any_host_and_plain_http(client, settings, operator) -> None:
    """Docker and Prometheus call the container by its service name over plain HTTP."""
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/admin/login/", HTTP_HOST="web:8000").status_code == 400
    response = client.get("/healthz", HTTP_HOST="web:8000")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    ready = client.get("/readyz", HTTP_HOST="web:8000", **operator)
    assert ready.status_code == 200
    # No heartbeats in this test: the jobs check answers (not a 400 for the host), failing.
    jobs = client.get("/health/jobs", HTTP_HOST="web:8000", **operator)
    assert jobs.json()["failing"] == ["beat", "worker"]


# --- public answers carry no component detail (docs/security.md) ------------------------------


def test_readyz_tells_an_anonymous_caller_the_status_only(client, monkeypatch) -> None:
    ready = client.get("/readyz")
    assert (ready.status_code, ready.json()) == (200, {"status": "ok"})
    monkeypatch.setattr(
        MigrationExecutor, "migration_plan", lambda self, targets: [("core", "0099_x")]
    )
    down = client.get("/readyz")
    assert (down.status_code, down.json()) == (503, {"status": "unavailable"})


@pytest.mark.parametrize("header", ["Bearer wrong-token", f"Basic {TOKEN}", "Bearer"])
def test_readyz_detail_needs_the_right_token(client, operator, header) -> None:
    response = client.get("/readyz", HTTP_AUTHORIZATION=header)
    assert response.json() == {"status": "ok"}


def test_readyz_detail_is_absent_while_no_token_is_configured(client, settings) -> None:
    settings.TERMS_METRICS_TOKEN = ""
    assert client.get("/readyz", HTTP_AUTHORIZATION="Bearer ").json() == {"status": "ok"}


def test_readyz_detail_refuses_the_token_over_plain_http_outside_debug(
    client, settings, operator
) -> None:
    settings.TERMS_METRICS_REQUIRE_HTTPS = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert client.get("/readyz", **operator).json() == {"status": "ok"}
    assert "failing" in client.get("/readyz", secure=True, **operator).json()
    behind_proxy = client.get("/readyz", HTTP_X_FORWARDED_PROTO="https", **operator)
    assert behind_proxy.json()["failing"] == []


def test_healthz_carries_no_detail_with_or_without_a_token(client, operator) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/healthz", **operator).json() == {"status": "ok"}
