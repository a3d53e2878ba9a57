"""Scope.tenant_sql, the reach the hot paths write by hand, selects exactly the tenants
Scope.tenant_q does, for every kind of caller."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection

from tenants.models import Tenant
from tenants.scope import Scope
from tests.factories.contracts import biz_product, make_contract
from tests.factories.tenants import PartnerFactory, StaffFactory, TenantFactory

pytestmark = pytest.mark.django_db


def _by_sql(scope: Scope) -> set[int]:
    condition, params = scope.tenant_sql("t")
    table = connection.ops.quote_name(Tenant._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT t.id FROM {table} t WHERE {condition}", params)  # noqa: S608
        return {pk for (pk,) in cursor.fetchall()}


def _by_q(scope: Scope) -> set[int]:
    return set(Tenant.objects.filter(scope.tenant_q("")).values_list("pk", flat=True))


def test_tenant_sql_reaches_the_tenants_tenant_q_reaches_for_every_kind() -> None:
    partner, other = PartnerFactory(), PartnerFactory()
    own = TenantFactory(partner=partner)
    theirs = TenantFactory(partner=other)
    direct = TenantFactory(partner=None)
    contract = make_contract(tenant=theirs, start_date=date(2024, 4, 1))
    make_contract(tenant=direct, product=contract.product, start_date=date(2024, 4, 1))
    make_contract(tenant=own, product=biz_product(), start_date=date(2024, 4, 1))
    user = StaffFactory()
    scopes = [
        Scope.system(),
        Scope.staff(user),
        Scope(kind="partner", partner_id=partner.pk),
        Scope(kind="tenant_user", tenant_id=own.pk),
        Scope(kind="product", product_id=contract.product_id),
    ]
    for scope in scopes:
        assert _by_sql(scope) == _by_q(scope), scope.kind
    assert _by_sql(Scope(kind="partner", partner_id=partner.pk)) == {own.pk}
    assert _by_sql(Scope(kind="product", product_id=contract.product_id)) == {theirs.pk, direct.pk}
    # A partner scope without its partner reaches nothing (not every direct tenant).
    assert _by_sql(Scope(kind="partner", partner_id=None)) == set()
