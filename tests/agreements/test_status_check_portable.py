"""The status check's statement has a portable form for databases without LATERAL (SQLite,
which `make run` uses), and on PostgreSQL runs inside a function that keeps its plan; all
three must return the same rows."""

from __future__ import annotations

import logging

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from agreements.models.products import Product
from agreements.selectors.consents import status_sql as status_module
from agreements.selectors.consents.status_sql import (
    STATUS_COLUMNS,
    STATUS_FUNCTION,
    install_status_function,
    status_params,
    status_rows,
    status_sql,
)
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
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"SELECT * FROM {STATUS_FUNCTION}(%s, %s, %s)",  # noqa: S608
                        [tenant_id, product_id, any_tenant],
                    )
                    assert list(cursor) == lateral, asked
                seen += lateral
    # The comparison covered a version in force, a pending one, projections, a live case and
    # the version binding the tenant (R4).
    columns = [STATUS_COLUMNS.index(name) for name in WATCHED]
    assert all(any(row[column] is not None for row in seen) for column in columns)


def _function_exists() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_proc WHERE proname = %s", [STATUS_FUNCTION])
        return cursor.fetchone()[0] == 1


@pytest.mark.django_db(transaction=True)
def test_migrate_installs_the_status_function_and_a_database_without_it_still_answers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """`migrate` creates the function this code calls (post_migrate); a process meeting a
    database migrated by other code falls back to the statement, says so once, and inside a
    transaction refuses rather than abort it."""
    call_command("loaddemo", "--as-of", "2026-06-15")
    assert _function_exists()
    tenant_id = Tenant.objects.order_by("pk").values_list("pk", flat=True).first()
    product_id = Product.objects.order_by("pk").values_list("pk", flat=True).first()
    expected = status_rows(tenant_id=tenant_id, product_id=product_id, any_tenant=True)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP FUNCTION {STATUS_FUNCTION}")
    try:
        with transaction.atomic(), pytest.raises(Exception, match=STATUS_FUNCTION):
            status_rows(tenant_id=tenant_id, product_id=product_id, any_tenant=True)
        with caplog.at_level(logging.WARNING, logger=status_module.__name__):
            first = status_rows(tenant_id=tenant_id, product_id=product_id, any_tenant=True)
            second = status_rows(tenant_id=tenant_id, product_id=product_id, any_tenant=True)
        assert first == second == expected
        assert [r.getMessage() for r in caplog.records].count(
            f"status check: {STATUS_FUNCTION} is missing on database default "
            "(docs/operations.md, Upgrade); "
            "using the statement"
        ) == 1
    finally:
        install_status_function(connection)
    assert _function_exists()
    assert connection.alias not in status_module._function_missing


@pytest.mark.django_db(transaction=True)
def test_a_role_that_may_not_execute_the_status_function_still_gets_answers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Revoking EXECUTE from PUBLIC (a common hardening step) without granting it to the
    service's role must not turn every uncached status check into a 500: the statement is
    run instead, and said once."""
    call_command("loaddemo", "--as-of", "2026-06-15")
    tenant_id = Tenant.objects.order_by("pk").values_list("pk", flat=True).first()
    product_id = Product.objects.order_by("pk").values_list("pk", flat=True).first()
    expected = status_rows(tenant_id=tenant_id, product_id=product_id, any_tenant=True)
    role = f"terms_noexec_{connection.settings_dict['NAME']}"[:63]
    signature = f"{STATUS_FUNCTION}(bigint,bigint,boolean)"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE ROLE "{role}"')
        cursor.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{role}"')
        cursor.execute(f"REVOKE EXECUTE ON FUNCTION {signature} FROM PUBLIC")
        cursor.execute(f'SET ROLE "{role}"')
    try:
        with caplog.at_level(logging.WARNING, logger=status_module.__name__):
            got = status_rows(tenant_id=tenant_id, product_id=product_id, any_tenant=True)
        assert got == expected
        assert any("not executable by this role" in r.getMessage() for r in caplog.records)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")
            cursor.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO PUBLIC")
            cursor.execute(f'DROP OWNED BY "{role}"')
            cursor.execute(f'DROP ROLE "{role}"')
        status_module._function_missing.discard(connection.alias)
