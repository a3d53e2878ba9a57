from __future__ import annotations

import pytest

from core.services import heartbeat_write

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_healthz_answers_ok(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.fixture
def operator(settings) -> dict[str, str]:
    """Component detail only for the operator's token (docs/security.md)."""
    settings.TERMS_METRICS_TOKEN = "ops-token"
    return {"HTTP_AUTHORIZATION": "Bearer ops-token"}


def test_readyz_is_ready_without_heartbeats(client, operator) -> None:
    response = client.get("/readyz", **operator)
    body = response.json()
    assert response.status_code == 200
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["migrations"] == {"ok": True, "detail": "ok"}


def test_jobs_check_is_healthy_with_fresh_heartbeats_and_a_reachable_broker(
    client, operator
) -> None:
    heartbeat_write(name="beat")
    heartbeat_write(name="worker")
    response = client.get("/health/jobs", **operator)
    assert response.json()["checks"]["broker"] == {"ok": True, "detail": "ok"}
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_api_root_links_schema_and_docs(client) -> None:
    body = client.get("/api/v1/").json()
    assert body["links"]["schema"].endswith("/api/v1/schema/")
    assert body["links"]["docs"].endswith("/api/v1/docs/")
