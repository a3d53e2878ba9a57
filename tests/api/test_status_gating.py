"""The status API's `allowed` follows the version's gating policy (R4): an `outstanding`
tenant stays allowed (flagged) unless a publisher set the policy and its grace period has
run; `gate_from` tells the product the day it would start."""

from __future__ import annotations

import json
from datetime import date

import pytest

from agreements.enums import ConsentMode, VersionStatus
from agreements.models import TermsVersion
from agreements.services.consents import consent_states_open, consents_apply_effective
from core import clock
from tests.api.conftest import World

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

EFFECTIVE_ON = date(2025, 4, 1)


def _explicit_v2_in_force(world: World, **policy: object) -> None:
    """V2 becomes an explicit-consent revision (with `policy`) in force since 2025-04-01,
    and the tenant never answered it."""
    TermsVersion.objects.filter(pk=world.v2.pk).update(consent_mode=ConsentMode.EXPLICIT, **policy)
    world.v2.refresh_from_db()
    consent_states_open(version=world.v2)
    TermsVersion.objects.filter(pk=world.v1.pk).update(status=VersionStatus.SUPERSEDED)
    TermsVersion.objects.filter(pk=world.v2.pk).update(status=VersionStatus.EFFECTIVE)
    with clock.frozen_at(EFFECTIVE_ON):
        consents_apply_effective(version=world.v2, today=EFFECTIVE_ON)


def _status(world: World, on: date) -> dict:
    with clock.frozen_at(on):
        response = world.client("product").get(f"/api/v1/status/{world.tenant.pk}/")
    assert response.status_code == 200, response.content
    return json.loads(response.content)


def test_status_api_r4_outstanding_without_gating_policy_stays_allowed(world: World) -> None:
    _explicit_v2_in_force(world)
    data = _status(world, date(2025, 6, 1))
    assert (data["allowed"], data["flags"]) == (True, ["consent_outstanding"])
    assert [(v["status"], v["gate_from"]) for v in data["versions"]] == [("outstanding", None)]


@pytest.mark.parametrize(
    ("on", "allowed"),
    [(date(2025, 4, 1), True), (date(2025, 4, 14), True), (date(2025, 4, 15), False)],
)
def test_status_api_r4_gating_policy_withholds_after_its_grace_period(
    world: World, on: date, allowed: bool
) -> None:
    _explicit_v2_in_force(
        world,
        gating_enabled=True,
        gating_rationale="個別契約第5条により提供を停止できる。",
        gating_grace_days=14,
    )
    data = _status(world, on)
    assert (data["allowed"], data["flags"]) == (allowed, ["consent_outstanding"])
    assert [v["gate_from"] for v in data["versions"]] == ["2025-04-15"]


def test_consent_status_api_r4_a_revision_after_the_filed_end_is_not_owed(world: World) -> None:
    """A revision effective 2025-04-01 is owed while a contract binds the tenant that day;
    once both its contracts have terminations filed for 2025-03-20, it is not."""
    client = world.client("own_partner")
    (row,) = json.loads(client.get(f"/api/v1/tenants/{world.tenant.pk}/consents/").content)
    assert (row["owed"], row["deadline"]) == (True, "2025-03-31")
    with clock.frozen_at(date(2025, 3, 10)):
        for contract in (world.contract, world.renewing):
            response = client.post(
                f"/api/v1/contracts/{contract.pk}/terminations/",
                {"end_date": "2025-03-20", "reason": "customer_request"},
                format="json",
            )
            assert response.status_code == 201, response.content
    (row,) = json.loads(client.get(f"/api/v1/tenants/{world.tenant.pk}/consents/").content)
    assert (row["owed"], row["allowed_answers"], row["deadline"]) == (False, [], None)


def test_a_product_key_naming_another_existing_product_is_product_not_allowed(
    world: World,
) -> None:
    from tests.factories.contracts import biz_product

    biz_product()  # exists: the product list is public, so nothing is hidden by a 404
    response = world.client("product").get(f"/api/v1/status/{world.tenant.pk}/?product=optimal-biz")
    assert response.status_code == 403
    assert response.json()["code"] == "product_not_allowed"


def test_an_unknown_product_code_is_a_field_error_on_product(world: World) -> None:
    response = world.client("product").get(f"/api/v1/status/{world.tenant.pk}/?product=nope")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert [error["field"] for error in response.json()["errors"]] == ["product"]
