"""A batch's tenants read one by one through the (version, tenant) index
(agreements/selectors/consents/per_tenant.py): the same rows as the plain filter, and a plan
that probes per tenant, never a scan of every row the version has (which grew batch after
batch as the effective-date job wrote them: 650 µs per tenant at 1,000,000 tenants)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agreements.models import ConsentRecord, NoticeDelivery
from agreements.selectors.consents.per_tenant import answered_tenants, deliveries
from tests.factories.consents import bound_tenant, chain_rows, delivered, posted_version

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _world():
    version = posted_version()
    tenants = [bound_tenant(version.document).tenant for _ in range(6)]
    for tenant in tenants[:3]:
        chain_rows(tenant, version, 1)
    delivered(version, *tenants[1:4])
    return version, [t.pk for t in tenants]


def test_r3_the_probes_read_what_the_plain_filters_read() -> None:
    version, ids = _world()
    asked = ids[:5]
    assert answered_tenants(version_id=version.pk, tenant_ids=asked) == set(
        ConsentRecord.objects.filter(version=version, tenant_id__in=asked).values_list(
            "tenant_id", flat=True
        )
    )
    plain = NoticeDelivery.objects.filter(version=version, tenant_id__in=asked)
    expected = sorted(plain.values_list("tenant_id", "pk", "route", "reached_at"))
    assert sorted(deliveries(version_id=version.pk, tenant_ids=asked, before=None)) == expected
    first = min(at for *_x, at in expected)
    assert deliveries(version_id=version.pk, tenant_ids=asked, before=first) == []
    later = first + timedelta(days=3650)
    assert len(deliveries(version_id=version.pk, tenant_ids=asked, before=later)) == len(expected)
    assert answered_tenants(version_id=version.pk, tenant_ids=[]) == set()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the plan of PostgreSQL")
def test_r3_the_probe_is_a_nested_loop_over_the_tenants() -> None:
    version, ids = _world()
    with CaptureQueriesContext(connection) as captured:
        answered_tenants(version_id=version.pk, tenant_ids=ids)
        deliveries(version_id=version.pk, tenant_ids=ids, before=None)
    for query in captured.captured_queries:
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN " + query["sql"])
            plan = "\n".join(row[0] for row in cursor.fetchall())
        assert plan.lstrip().startswith("Nested Loop"), plan
        assert "Function Scan on unnest" in plan, plan
