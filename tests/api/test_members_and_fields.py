"""Members a partner cannot set are refused as docs/api.md promises for a closed body (400
`unknown_field`, each naming the member), and what the API shows claims no more than it
records: a delivery with no attempt ahead has no `next_attempt_at`, a key's last use is shown
to the minute."""

from __future__ import annotations

from datetime import datetime

import pytest

from agreements.models import ProductKey
from core.enums import OutboxStatus
from tenants.models import PartnerAPIKey, Tenant
from tests.api.conftest import World

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _refused(response, *fields: str) -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "unknown_field"
    assert sorted(error["field"] for error in body["errors"]) == sorted(fields)


@pytest.mark.parametrize("partner", ["other", "none", "own"])
def test_a_partner_naming_a_partner_for_a_new_tenant_is_refused_as_unknown(
    world: World, partner: str
) -> None:
    pk = {"other": world.other_partner.pk, "none": 999_999, "own": world.partner.pk}[partner]
    before = Tenant.objects.count()
    response = world.client("own_partner").post(
        "/api/v1/tenants/", {"name": "株式会社新規", "partner": pk}, format="json"
    )
    _refused(response, "partner")
    assert "does not exist" not in response.content.decode()
    assert Tenant.objects.count() == before


def test_a_partner_moving_or_deactivating_a_tenant_is_refused_as_unknown(world: World) -> None:
    client = world.client("own_partner")
    url = f"/api/v1/tenants/{world.tenant.pk}/"
    _refused(client.patch(url, {"partner": world.other_partner.pk}, format="json"), "partner")
    _refused(client.patch(url, {"is_active": False}, format="json"), "is_active")
    _refused(
        client.patch(url, {"is_active": False, "partner": 2, "name": "x"}, format="json"),
        "is_active",
        "partner",
    )
    world.tenant.refresh_from_db()
    assert world.tenant.is_active
    assert world.tenant.partner_id == world.partner.pk


def test_a_partner_naming_a_partner_for_a_webhook_is_refused_as_unknown(world: World) -> None:
    response = world.client("own_partner").post(
        "/api/v1/webhooks/",
        {"url": "https://partner.example/other", "partner": world.other_partner.pk},
        format="json",
    )
    _refused(response, "partner")


def test_staff_may_still_set_the_staff_only_members(world: World) -> None:
    response = world.client("staff").patch(
        f"/api/v1/tenants/{world.tenant.pk}/", {"is_active": True}, format="json"
    )
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    ("status", "has_next"),
    [
        (OutboxStatus.DEAD, False),
        (OutboxStatus.SENT, False),
        (OutboxStatus.CANCELLED, False),
        (OutboxStatus.FAILED, True),
        (OutboxStatus.PENDING, True),
    ],
)
def test_only_a_delivery_still_to_be_tried_shows_its_next_attempt(
    world: World, status: str, has_next: bool
) -> None:
    world.delivery.status = status
    world.delivery.save(update_fields=["status"])
    response = world.client("own_partner").get(f"/api/v1/webhooks/{world.webhook.pk}/deliveries/")
    assert response.status_code == 200
    (item,) = [d for d in response.json()["results"] if d["id"] == world.delivery.pk]
    assert (item["next_attempt_at"] is not None) is has_next


def test_a_keys_last_use_is_shown_to_the_minute(world: World) -> None:
    live = world.client("own_partner")
    issued = live.post("/api/v1/sandbox/")
    assert issued.status_code == 201, issued.content
    used = datetime.fromisoformat("2026-12-07T14:05:37.123456+09:00")
    PartnerAPIKey.objects.filter(partner__sandbox_of=world.partner).update(last_used_at=used)
    ProductKey.objects.filter(product__sandbox__sandbox_of=world.partner).update(last_used_at=used)
    shown = [
        key["last_used_at"]
        for path in ("/api/v1/sandbox/keys/", "/api/v1/sandbox/product-keys/")
        for key in live.get(path).json()["results"]
    ]
    assert shown
    assert set(shown) == {"2026-12-07T14:05:00+09:00"}
