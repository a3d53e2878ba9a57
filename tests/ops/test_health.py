from __future__ import annotations

from datetime import timedelta

import pytest

from core import clock
from core.models import Heartbeat
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


def test_readyz_reports_every_check_as_json_when_ready(client, fresh_heartbeats, operator) -> None:
    response = client.get("/readyz", **operator)
    body = response.json()
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert body["status"] == "ok"
    assert body["failing"] == []
    assert set(body["checks"]) == {"database", "migrations", "beat", "worker", "cache", "broker"}
    # Tests run against the real Redis cache, so the check says plain "ok", not a fallback.
    assert body["checks"]["cache"] == {"ok": True, "detail": "ok"}
    assert body["checks"]["beat"]["detail"].endswith("s ago")
    assert body["heartbeat_max_age_seconds"] == 180


def test_readyz_fails_on_a_heartbeat_older_than_the_limit(
    client, fresh_heartbeats, settings, operator
) -> None:
    settings.TERMS_HEARTBEAT_MAX_AGE_SECONDS = 60
    Heartbeat.objects.filter(name="beat").update(beat_at=clock.now() - timedelta(seconds=61))
    response = client.get("/readyz", **operator)
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "unavailable"
    assert body["failing"] == ["beat"]
    assert body["checks"]["beat"] == {"ok": False, "detail": "61s ago"}
    assert body["checks"]["worker"]["ok"] is True


def test_readyz_fails_when_the_redis_cache_is_unreachable(
    client, fresh_heartbeats, settings, operator
) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        }
    }
    response = client.get("/readyz", **operator)
    body = response.json()
    assert response.status_code == 503
    assert body["failing"] == ["cache"]
    assert body["checks"]["cache"] == {"ok": False, "detail": "ConnectionError"}


def test_readyz_names_a_missing_worker_heartbeat(client, operator) -> None:
    heartbeat_write(name="beat")
    body = client.get("/readyz", **operator).json()
    assert body["failing"] == ["worker"]
    assert body["checks"]["worker"] == {"ok": False, "detail": "never"}


def test_probes_answer_any_host_and_plain_http(client, settings, operator) -> None:
    """Docker and Prometheus call the container by its service name over plain HTTP."""
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/admin/login/", HTTP_HOST="web:8000").status_code == 400
    response = client.get("/healthz", HTTP_HOST="web:8000")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    # No heartbeats in this test: not ready, but answered (not a 400 for the host).
    ready = client.get("/readyz", HTTP_HOST="web:8000", **operator)
    assert ready.status_code == 503
    assert ready.json()["failing"] == ["beat", "worker"]


# --- public answers carry no component detail (docs/security.md) ------------------------------


def test_readyz_tells_an_anonymous_caller_the_status_only(client, fresh_heartbeats) -> None:
    ready = client.get("/readyz")
    assert (ready.status_code, ready.json()) == (200, {"status": "ok"})
    Heartbeat.objects.all().delete()
    down = client.get("/readyz")
    assert (down.status_code, down.json()) == (503, {"status": "unavailable"})


@pytest.mark.parametrize("header", ["Bearer wrong-token", f"Basic {TOKEN}", "Bearer"])
def test_readyz_detail_needs_the_right_token(client, operator, header) -> None:
    response = client.get("/readyz", HTTP_AUTHORIZATION=header)
    assert response.json() == {"status": "unavailable"}


def test_readyz_detail_is_absent_while_no_token_is_configured(client, settings) -> None:
    settings.TERMS_METRICS_TOKEN = ""
    assert client.get("/readyz", HTTP_AUTHORIZATION="Bearer ").json() == {"status": "unavailable"}


def test_readyz_detail_refuses_the_token_over_plain_http_outside_debug(
    client, settings, operator
) -> None:
    settings.TERMS_METRICS_REQUIRE_HTTPS = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert client.get("/readyz", **operator).json() == {"status": "unavailable"}
    assert "failing" in client.get("/readyz", secure=True, **operator).json()
    behind_proxy = client.get("/readyz", HTTP_X_FORWARDED_PROTO="https", **operator)
    assert behind_proxy.json()["failing"] == ["beat", "worker"]


def test_healthz_carries_no_detail_with_or_without_a_token(client, operator) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/healthz", **operator).json() == {"status": "ok"}
