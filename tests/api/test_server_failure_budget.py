"""A request the throttle counted whose answer is a server's failure (the database-down 503,
a 500) spends nothing of the caller's budget (docs/api.md, Throttling): its count is taken
back, on the throttle's own path and on a count made ahead (web/api/prefetch.py), on Redis,
on its fallback and in the embedded mode's memory."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.core.cache import caches
from django.db import OperationalError
from django.test import override_settings
from rest_framework.test import APIClient

from core.cache import outage_for
from web.api.tenants import TenantListApi

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def _failing(exc: Exception) -> Any:
    def get(*args: object, **kwargs: object) -> None:
        raise exc

    return get


def _calls(client: APIClient, monkeypatch: pytest.MonkeyPatch, exc: Exception) -> list[Any]:
    client.raise_request_exception = False
    with monkeypatch.context() as patch:
        patch.setattr(TenantListApi, "get", _failing(exc))
        # The first authenticates the key; the next ones are counted ahead (prefetch).
        failed = [client.get("/api/v1/tenants/") for _ in range(3)]
    return [*failed, client.get("/api/v1/tenants/")]


def _check(responses: list[Any], status: int) -> None:
    *failed, served = responses
    assert [r.status_code for r in failed] == [status] * 3
    assert [r["RateLimit-Remaining"] for r in failed] == ["5", "5", "5"]
    assert served.status_code == 200
    assert served["RateLimit-Remaining"] == "4"


@override_settings(TERMS_API_THROTTLE_RATE="5/min")
@pytest.mark.parametrize(
    ("exc", "status"),
    [(OperationalError("the database is down"), 503), (RuntimeError("a bug"), 500)],
    ids=["503", "500"],
)
def test_a_server_failure_after_the_throttle_counted_spends_nothing(
    partner_client: APIClient, monkeypatch: pytest.MonkeyPatch, exc: Exception, status: int
) -> None:
    _check(_calls(partner_client, monkeypatch, exc), status)


@override_settings(TERMS_API_THROTTLE_RATE="5/min")
def test_a_503_counted_on_the_fallback_while_redis_is_down_spends_nothing(
    partner_client: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = caches["default"]
    outage = outage_for(settings.CACHES["default"]["LOCATION"])
    monkeypatch.setattr(outage, "_down", True)  # nothing is counted ahead, nor on Redis
    monkeypatch.setattr(outage, "_retry_at", float("inf"))
    cache.fallback.clear()
    try:
        _check(_calls(partner_client, monkeypatch, OperationalError("down")), 503)
    finally:
        cache.fallback.clear()


@override_settings(TERMS_API_THROTTLE_RATE="5/min", CACHES=LOCMEM)
def test_a_503_in_the_embedded_mode_spends_nothing(
    partner_client: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    caches["default"].clear()
    _check(_calls(partner_client, monkeypatch, OperationalError("down")), 503)
