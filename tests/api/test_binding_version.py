"""`binding_version` in the status check and the consent status (R4): the version that binds the
tenant — the previous one while it has not accepted a revision put to explicit consent, the
revision once it accepts; a revision on a CC 548-4(1) ground binds it from its effective date."""

from __future__ import annotations

import json
from datetime import date

import pytest

from agreements.enums import ConsentMode, LegalBasis, VersionStatus
from agreements.models import TermsVersion
from agreements.services.versions.effective import version_apply_effective
from core import clock
from tests.api.conftest import World

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

EFFECTIVE_ON = date(2025, 4, 1)
AFTER = date(2025, 4, 10)


def _v2_takes_effect(world: World, *, basis: str, mode: str) -> None:
    TermsVersion.objects.filter(pk=world.v2.pk).update(consent_mode=mode, legal_basis=basis)
    with clock.frozen_at(EFFECTIVE_ON):
        version_apply_effective(version_id=world.v2.pk, today=EFFECTIVE_ON)
    world.v2.refresh_from_db()
    assert world.v2.status == VersionStatus.EFFECTIVE


def _both(world: World, on: date) -> tuple[dict, dict]:
    with clock.frozen_at(on):
        status = world.client("product").get(f"/api/v1/status/{world.tenant.pk}/")
        consents = world.client("own_partner").get(f"/api/v1/tenants/{world.tenant.pk}/consents/")
    assert (status.status_code, consents.status_code) == (200, 200)
    (checked,) = json.loads(status.content)["versions"]
    (row,) = json.loads(consents.content)
    return checked, row


def test_status_api_r4_silent_tenant_stays_bound_by_the_previous_version(world: World) -> None:
    checked, row = _both(world, date(2025, 3, 10))
    assert (checked["binding_version"], checked["binding_version_label"]) == (
        world.v1.pk,
        "2024-01-01",
    )
    _v2_takes_effect(world, basis=LegalBasis.EXPLICIT_CONSENT, mode=ConsentMode.EXPLICIT)
    checked, row = _both(world, AFTER)
    assert (checked["version"], checked["binding_version"]) == (world.v2.pk, world.v1.pk)
    assert checked["binding_version_label"] == "2024-01-01"
    assert row["version_in_force"]["id"] == world.v2.pk
    assert row["binding_version"] == {"id": world.v1.pk, "label": "2024-01-01"}


def test_status_api_r4_accepting_moves_the_binding_to_the_revision(world: World) -> None:
    _v2_takes_effect(world, basis=LegalBasis.EXPLICIT_CONSENT, mode=ConsentMode.EXPLICIT)
    with clock.frozen_at(AFTER):
        response = world.client("own_partner").post(
            f"/api/v1/tenants/{world.tenant.pk}/consents/",
            {
                "version": world.v2.pk,
                "answer": "accepted",
                "evidence": {
                    "person_name": "管理 太郎",
                    "obtained_at": "2025-04-10T08:30:00+09:00",
                    "method": "書面",
                },
            },
            format="json",
        )
    assert response.status_code == 201, response.content
    checked, row = _both(world, AFTER)
    assert checked["binding_version"] == row["binding_version"]["id"] == world.v2.pk


@pytest.mark.parametrize("basis", [LegalBasis.GENERAL_INTEREST, LegalBasis.REASONABLE])
def test_status_api_r4_a_548_4_revision_binds_at_its_effective_date(
    world: World, basis: str
) -> None:
    _v2_takes_effect(world, basis=basis, mode=ConsentMode.EXPLICIT)
    checked, row = _both(world, AFTER)
    assert checked["binding_version"] == row["binding_version"]["id"] == world.v2.pk
