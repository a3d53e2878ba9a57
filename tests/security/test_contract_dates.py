"""Back-dated and out-of-range contracts — a partner registering a contract whose
first period has already ended got deletion orders and "contract ended" mail for a tenant still
using the product; 0001-01-01 was accepted and 9999-12-31 was a 500."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from django.urls import reverse

from agreements.enums import ContractStatus, DeletionKind, DeletionStatus
from agreements.models import Contract, DataDeletion
from agreements.services.deletions import deletions_due, deletions_order_due
from core import clock
from core.models import Event
from tests.api.conftest import TODAY, World, build_world, make_staff
from tests.factories.contracts import biz_product, make_contract
from tests.factories.tenants import TenantFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def world(db: None) -> Iterator[World]:
    with clock.frozen_at(TODAY):
        yield build_world()


def _post(world: World, **fields: Any) -> Any:
    client = world.client("own_partner")
    client.raise_request_exception = False
    body = {
        "tenant": world.tenant.pk,
        "product": "optim-id-plus",
        "start_date": TODAY.isoformat(),
        "term_months": 12,
        "billing_cycle": "monthly",
        "amount_jpy": 1000,
        **fields,
    }
    return client.post("/api/v1/contracts/", body, format="json")


def _refused(response: Any, field: str) -> None:
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_partner_cannot_register_a_contract_whose_first_period_already_ended(world: World):
    before = Contract.objects.count()
    with clock.frozen_at(TODAY):
        response = _post(world, start_date="2020-01-01", term_months=1)
    _refused(response, "start_date")
    assert response.json()["code"] == "start_date_in_the_past"
    assert Contract.objects.count() == before


@pytest.mark.parametrize("start", ["0001-01-01", "1999-12-31", "9999-12-31", "2026-03-11"])
def test_partner_start_date_out_of_range_is_a_400_never_a_500(world: World, start: str):
    with clock.frozen_at(TODAY):
        response = _post(world, start_date=start, term_months=120)
    _refused(response, "start_date")
    assert response.json()["code"] in ("start_date_out_of_range", "start_date_in_the_past")


def test_partner_start_date_within_range_is_accepted(world: World):
    with clock.frozen_at(TODAY):
        latest = _post(world, start_date=(TODAY + timedelta(days=365)).isoformat())
        running = _post(world, start_date="2024-04-01", term_months=12)  # period 1 still open
    assert latest.status_code == 201, latest.content
    assert running.status_code == 201, running.content


def test_console_out_of_range_dates_are_form_errors_not_500(world: World, client):
    client.force_login(make_staff("editor"))
    client.raise_request_exception = False
    url = reverse("console:contract-create", args=[world.tenant.pk])
    base = {"product": world.contract.product_id, "billing_cycle": "monthly", "amount_jpy": "1"}
    with clock.frozen_at(TODAY):
        far = client.post(url, {**base, "start_date": "9999-12-31", "term_months": "12"})
        huge = client.post(url, {**base, "start_date": "2025-03-10", "term_months": "999999999"})
    for response in (far, huge):
        assert response.status_code == 400
    assert not Contract.objects.filter(start_date__in=[date(9999, 12, 31)]).exists()


def test_deletion_waits_while_the_tenant_has_another_active_contract_for_the_product():
    tenant = TenantFactory()
    product = biz_product()
    old = make_contract(tenant=tenant, product=product, start_date=date(2024, 1, 1))
    current = make_contract(tenant=tenant, product=product, start_date=date(2024, 6, 1))
    Contract.objects.filter(pk=old.pk).update(
        status=ContractStatus.ENDED, ended_on=date(2024, 12, 31), end_reason="expired"
    )
    deletion = DataDeletion.objects.create(
        contract=old,
        tenant=tenant,
        kind=DeletionKind.PRIMARY,
        status=DeletionStatus.SCHEDULED,
        due_on=date(2025, 2, 1),
    )
    today = date(2025, 3, 10)
    with clock.frozen_at(today):
        assert deletion not in deletions_due(today)
        deletions_order_due(today=today)
    deletion.refresh_from_db()
    assert deletion.status == DeletionStatus.SCHEDULED
    assert not Event.objects.filter(subject_id=deletion.pk, kind="deletion_ordered").exists()

    # Once the tenant's last contract for the product has ended, the order goes out.
    Contract.objects.filter(pk=current.pk).update(
        status=ContractStatus.ENDED, ended_on=date(2025, 3, 9), end_reason="expired"
    )
    with clock.frozen_at(today):
        deletions_order_due(today=today)
    deletion.refresh_from_db()
    assert deletion.status == DeletionStatus.ORDERED
