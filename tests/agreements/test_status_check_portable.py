"""The status check's statement has a portable form for databases without LATERAL (SQLite,
which `make run` uses); on PostgreSQL both forms must return the same rows."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection

from agreements.models.products import Product
from agreements.selectors.consents.status_sql import STATUS_COLUMNS, status_params, status_sql
from tenants.models import Tenant

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

# Columns the comparison must see filled at least once: a version in force, a pending one, a
# projection row, a live case, the version binding the tenant (R4) and a contract.
WATCHED = ("in_force_id", "pending_id", "state_status", "case_status", "binding_id", "contract_id")


def _rows(sql: str, *, tenant_id: int, product_id: int, any_tenant: bool) -> list[tuple]:
    params = status_params(tenant_id=tenant_id, product_id=product_id, any_tenant=any_tenant)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor)


def test_status_check_portable_statement_returns_what_lateral_returns() -> None:
    # The demo lays out every state: answers of each kind, an R6 case, ended contracts,
    # a posted revision not yet in force.
    call_command("loaddemo", "--as-of", "2026-06-15")
    seen: list[tuple] = []
    for tenant_id in Tenant.objects.values_list("pk", flat=True):
        for product_id in Product.objects.values_list("pk", flat=True):
            for any_tenant in (False, True):
                asked = {"tenant_id": tenant_id, "product_id": product_id, "any_tenant": any_tenant}
                lateral = _rows(status_sql("postgresql"), **asked)
                portable = _rows(status_sql("sqlite"), **asked)
                assert portable == lateral, asked
                seen += lateral
    # The comparison covered a version in force, a pending one, projections, a live case and
    # the version binding the tenant (R4).
    columns = [STATUS_COLUMNS.index(name) for name in WATCHED]
    assert all(any(row[column] is not None for row in seen) for column in columns)
