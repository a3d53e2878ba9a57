"""Rows of one version for a batch of tenants, read tenant by tenant through the (version,
tenant) index.

`version_id = v AND tenant_id IN (…)` lets PostgreSQL scan every index entry of the version
and filter the tenants: a batch job writing the version's rows (the effective date) then
rereads everything written so far, batch after batch, and the planner's statistics, taken
before the run, say the version has none. A LATERAL probe per tenant (OFFSET 0 keeps it from
being flattened into a join) costs one index descent per tenant whatever the version's size.
Elsewhere (SQLite) the plain filter.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import connection

from agreements.models import ConsentRecord, NoticeDelivery
from core.lookups import bigint_array


def _probe(
    table: str, columns: str, where: str, tenant_ids: Sequence[int], params: list[Any]
) -> list[tuple[Any, ...]]:
    sql = (
        f"SELECT t.id, {columns} FROM unnest(%s::bigint[]) AS t(id) "  # noqa: S608 -- model tables
        f"JOIN LATERAL (SELECT * FROM {table} x WHERE x.version_id = %s "
        f"AND x.tenant_id = t.id{where} OFFSET 0) x ON TRUE"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [bigint_array(tenant_ids), *params])
        return cursor.fetchall()


def answered_tenants(*, version_id: int, tenant_ids: Sequence[int]) -> set[int]:
    """The tenants of `tenant_ids` with a ledger row for the version."""
    if not tenant_ids:
        return set()
    if connection.vendor != "postgresql":
        return set(
            ConsentRecord.objects.filter(version_id=version_id, tenant_id__in=tenant_ids)
            .order_by()
            .values_list("tenant_id", flat=True)
        )
    rows = _probe(ConsentRecord._meta.db_table, "1", "", tenant_ids, [version_id])
    return {int(tenant_id) for tenant_id, _one in rows}


def deliveries(
    *, version_id: int, tenant_ids: Sequence[int], before: datetime | None
) -> list[tuple[int, int, str, datetime]]:
    """(tenant id, id, route, reached_at) of the version's notice deliveries to the tenants,
    those before `before` when given."""
    if not tenant_ids:
        return []
    if connection.vendor != "postgresql":
        rows = NoticeDelivery.objects.filter(version_id=version_id, tenant_id__in=tenant_ids)
        if before is not None:
            rows = rows.filter(reached_at__lt=before)
        return [
            (int(t), int(pk), str(route), at)
            for t, pk, route, at in rows.order_by().values_list(
                "tenant_id", "pk", "route", "reached_at"
            )
        ]
    where, params = "", [version_id]
    if before is not None:
        where, params = " AND x.reached_at < %s", [version_id, before]
    rows = _probe(
        NoticeDelivery._meta.db_table, "x.id, x.route, x.reached_at", where, tenant_ids, params
    )
    return [(int(t), int(pk), str(route), at) for t, pk, route, at in rows]
