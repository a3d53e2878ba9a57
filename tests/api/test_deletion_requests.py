"""A customer's data-deletion request through the API (R15, Biz 10.3: 「解約申込と同時又は
本製品の利用期間終了後」): filed in advance on an active contract whose end is filed (201,
`scheduled`, due after the end), refused on one without a filed end (409
`deletion_needs_end`), a repeat returns the existing request with 200."""

from __future__ import annotations

import pytest

from agreements.enums import ContractStatus, DeletionStatus
from agreements.models import Contract, DataDeletion
from agreements.services.contracts import contract_end
from core import clock
from tenants.scope import Scope
from tests.api.conftest import TODAY, World

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _request(world: World, contract: Contract, caller: str = "own_partner"):
    return world.client(caller).post(f"/api/v1/contracts/{contract.pk}/deletions/")


def test_r15_filed_in_advance_with_a_filed_end_is_scheduled_after_it(world: World) -> None:
    assert world.renewing.status == ContractStatus.ACTIVE  # its non-renewal ends it 2025-05-31
    first = _request(world, world.renewing)
    assert first.status_code == 201, first.content
    data = first.json()
    assert (data["status"], data["kind"], data["due_on"]) == (
        "scheduled",
        "requested",
        "2025-06-01",
    )
    assert data["requested_on"] == TODAY.isoformat()
    assert data["ordered_at"] is None  # nothing is ordered deleted before the end
    again = _request(world, world.renewing)
    assert again.status_code == 200
    assert again.json() == data
    assert DataDeletion.objects.filter(contract=world.renewing, kind="requested").count() == 1


def test_r15_active_contract_without_a_filed_end_is_refused(world: World) -> None:
    refused = _request(world, world.contract)
    assert refused.status_code == 409
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["code"] == "deletion_needs_end"
    assert not DataDeletion.objects.filter(contract=world.contract, kind="requested").exists()


def test_r15_after_the_end(world: World) -> None:
    with clock.frozen_at(TODAY):
        contract_end(
            contract=world.contract, end_date=TODAY, reason="non_payment", scope=Scope.system()
        )
    filed = _request(world, world.contract)
    assert filed.status_code == 201, filed.content
    assert filed.json()["status"] == DeletionStatus.SCHEDULED
    assert filed.json()["due_on"] == "2025-03-24"  # the request date + 14 days is later


def test_r15_another_partners_key_sees_nothing(world: World) -> None:
    response = _request(world, world.renewing, caller="other_partner")
    assert response.status_code == 404
    assert world.tenant.name not in response.content.decode()
    assert not DataDeletion.objects.filter(contract=world.renewing, kind="requested").exists()
