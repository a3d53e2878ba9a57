"""法人番号 are unique per partner (and among direct customers), never across partners: a
partner must not learn from `corporate_number_taken` that a company is another partner's (or
OPTiM's direct) customer. Staff see the duplicates on the tenant page instead."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from core.errors import Conflict
from tenants.models import Tenant
from tenants.scope import Scope
from tenants.selectors import tenant_same_corporate_number
from tenants.services import tenant_create, tenant_update
from tests.api.conftest import key_client
from tests.console.conftest import make_staff
from tests.factories.contracts import partner_scope, staff_scope
from tests.factories.tenants import PartnerFactory, TenantFactory, make_partner_key

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

NTA = "7000012050002"  # 国税庁's own 法人番号 (a valid check digit)


def test_partner_cannot_learn_that_a_company_is_another_partners_customer() -> None:
    rival, partner = PartnerFactory(), PartnerFactory()
    TenantFactory(partner=rival, corporate_number=NTA)
    TenantFactory(partner=None, corporate_number=NTA)  # and OPTiM's direct customer
    client = key_client(make_partner_key(partner)[1])
    response = client.post(
        "/api/v1/tenants/", {"name": "国税商事", "corporate_number": NTA}, format="json"
    )
    assert response.status_code == 201, response.content
    assert "corporate_number_taken" not in response.content.decode()


def test_corporate_number_stays_unique_within_one_partner() -> None:
    partner = PartnerFactory()
    TenantFactory(partner=partner, corporate_number=NTA)
    client = key_client(make_partner_key(partner)[1])
    response = client.post(
        "/api/v1/tenants/", {"name": "二重登録", "corporate_number": NTA}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "corporate_number_taken"


def test_corporate_number_stays_unique_among_direct_tenants() -> None:
    staff = staff_scope()
    tenant_create(scope=staff, name="直販A", corporate_number=NTA)
    with pytest.raises(Conflict) as exc:
        tenant_create(scope=staff, name="直販B", corporate_number=NTA)
    assert exc.value.code == "corporate_number_taken"
    # The database holds the line without the service's pre-check (a lost race).
    with pytest.raises(IntegrityError), transaction.atomic():
        Tenant.objects.create(name="直販C", corporate_number=NTA)


def test_moving_a_tenant_to_a_partner_that_holds_the_number_conflicts() -> None:
    partner = PartnerFactory()
    TenantFactory(partner=partner, corporate_number=NTA)
    direct = TenantFactory(partner=None, corporate_number=NTA)
    with pytest.raises(Conflict) as exc:
        tenant_update(scope=staff_scope(), tenant=direct, partner=partner)
    assert exc.value.code == "corporate_number_taken"


def test_staff_see_the_same_number_under_other_partners_and_partners_do_not() -> None:
    rival, partner = PartnerFactory(name="ライバル販売"), PartnerFactory()
    theirs = TenantFactory(partner=rival, corporate_number=NTA)
    ours = TenantFactory(partner=partner, corporate_number=NTA)
    TenantFactory(partner=partner, corporate_number=None)
    assert tenant_same_corporate_number(scope=staff_scope(), tenant=ours) == [theirs]
    assert tenant_same_corporate_number(scope=partner_scope(partner), tenant=ours) == []
    assert tenant_same_corporate_number(scope=Scope.system(), tenant=ours) == [theirs]


def test_console_tenant_page_warns_staff_of_a_cross_partner_duplicate(client) -> None:
    rival = PartnerFactory(name="ライバル販売")
    theirs = TenantFactory(partner=rival, corporate_number=NTA, name="国税商事（ライバル）")
    ours = TenantFactory(partner=PartnerFactory(), corporate_number=NTA)
    lonely = TenantFactory(partner=None, corporate_number="5" * 13)
    client.force_login(make_staff("viewer"))
    page = client.get(f"/console/tenants/{ours.pk}/").content.decode()
    assert 'id="same-corporate-number"' in page
    assert f"/console/tenants/{theirs.pk}/" in page
    assert "ライバル販売" in page
    other = client.get(f"/console/tenants/{lonely.pk}/").content.decode()
    assert 'id="same-corporate-number"' not in other
