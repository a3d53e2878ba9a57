"""Customers' requests are not staff actions and leave no audit row: the console shows them
from the request records, on the contract page (all of them) and the tenant page (the latest),
with when each was filed and withdrawn, through which channel and by whom (R11, R13, R15)."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from agreements.services import contracts as contract_services
from agreements.services import deletions as deletion_services
from core import clock
from core.models import AuditEntry
from tenants.scope import Scope
from tests.portal.conftest import build_world

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def customer_requests():
    world = build_world()
    scope = Scope.tenant_user(world.admin)
    with clock.frozen_at(date(2025, 2, 10)):
        first = contract_services.non_renewal_request(scope=scope, contract=world.contract)
        contract_services.non_renewal_withdraw(scope=scope, request=first)
    with clock.frozen_at(date(2025, 2, 12)):
        contract_services.non_renewal_request(scope=scope, contract=world.contract)
        deletion = deletion_services.deletion_request(scope=scope, contract=world.contract)
    with clock.frozen_at(date(2025, 2, 13)):
        deletion_services.deletion_withdraw(scope=scope, deletion=deletion)
    return world


def _rows(html: str, kind: str) -> list[str]:
    return [part.split("</tr>")[0] for part in html.split(f'<tr data-kind="{kind}">')[1:]]


def test_contract_page_shows_the_customers_filed_withdrawn_and_refiled_requests(
    client, viewer, customer_requests
) -> None:
    world = customer_requests
    # None of them is a staff action: the audit trail has nothing to show.
    assert not AuditEntry.objects.filter(tenant_id=world.tenant.pk).exists()
    client.force_login(viewer)
    html = client.get(reverse("console:contract-detail", args=[world.contract.pk])).content
    page = html.decode()
    assert 'data-testid="request-history"' in page
    refiled, withdrawn = _rows(page, "non_renewal")
    assert "2025年2月12日（水）" in refiled
    assert "受付済み" in refiled
    assert "2025年2月10日（月）" in withdrawn
    assert "取り下げ" in withdrawn
    for row in (refiled, withdrawn):
        assert "ポータル" in row
        assert world.admin.user.email in row or world.admin.user.username in row
    (deletion,) = _rows(page, "deletion")
    assert "お客様の依頼による削除" in deletion
    assert "2025年2月13日（木）" in deletion  # withdrawn


def test_tenant_page_summarises_the_requests_with_links_to_the_contracts(
    client, viewer, customer_requests
) -> None:
    world = customer_requests
    client.force_login(viewer)
    page = client.get(reverse("console:tenant-detail", args=[world.tenant.pk])).content.decode()
    assert len(_rows(page, "non_renewal")) == 2
    assert len(_rows(page, "deletion")) == 1
    assert reverse("console:contract-detail", args=[world.contract.pk]) in page


def test_request_history_in_english(client, viewer, customer_requests) -> None:
    client.force_login(viewer)
    url = reverse("console:contract-detail", args=[customer_requests.contract.pk])
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Requests" in page
    assert "12 Feb 2025" in page
