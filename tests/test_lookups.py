"""Id lists as one array parameter (core/lookups.py): `__any_of` reads what `__in` reads, with
one parameter whatever the list's length; the array literals survive PostgreSQL's parser for
any text; the heads' batch UPDATE writes per-head instants when they differ."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agreements.ledger.heads import LockedHead, heads_lock, heads_save
from agreements.models import LedgerHead
from core import clock
from core.lookups import bigint_array, text_array
from tenants.models import Tenant
from tests.factories.consents import bound_tenant, posted_version

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_any_of_reads_what_in_reads_with_one_parameter() -> None:
    version = posted_version()
    ids = [bound_tenant(version.document).tenant.pk for _ in range(5)]
    asked = [*ids[:3], 0, -1]
    with CaptureQueriesContext(connection) as queries:
        found = sorted(Tenant.objects.filter(pk__any_of=asked).values_list("pk", flat=True))
    assert found == sorted(Tenant.objects.filter(pk__in=asked).values_list("pk", flat=True))
    assert found == sorted(ids[:3])
    if connection.vendor == "postgresql":
        assert "= ANY(" in queries[0]["sql"]
    assert list(Tenant.objects.filter(pk__any_of=[])) == []


def test_bigint_array_takes_integers_only() -> None:
    assert bigint_array([1, -2, 3]) == "{1,-2,3}"
    assert bigint_array([1, None]) == "{1,NULL}"  # a projection row without a ledger row
    with pytest.raises(ValueError, match="invalid literal"):
        bigint_array(["1}, {2"])  # type: ignore[list-item]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL arrays")
@pytest.mark.parametrize(
    "values",
    [
        ["deemed", "unnotified"],
        ['a"b', "back\\slash", "{braces}", "com,ma", "", "NULL", " spaced ", "改行\nと\tタブ"],
        [],
    ],
)
def test_text_array_round_trips_through_postgresql(values: list[str]) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::text[]", [text_array(values)])
        assert cursor.fetchone()[0] == values


def test_heads_save_writes_each_heads_own_instant_when_they_differ() -> None:
    version = posted_version()
    ids = [bound_tenant(version.document).tenant.pk for _ in range(3)]
    heads = heads_lock(ids)
    now = clock.now()
    moved: list[LockedHead] = []
    for n, tenant_id in enumerate(ids):
        head = heads[tenant_id]
        head.seq, head.hash, head.updated_at = n + 1, f"{n:064x}", now + timedelta(seconds=n)
        moved.append(head)
    heads_save(moved)
    saved = {h.tenant_id: h for h in LedgerHead.objects.filter(tenant_id__in=ids)}
    for n, tenant_id in enumerate(ids):
        assert (saved[tenant_id].seq, saved[tenant_id].hash) == (n + 1, f"{n:064x}")
        assert saved[tenant_id].updated_at == now + timedelta(seconds=n)
