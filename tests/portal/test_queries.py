"""List pages cost a constant number of queries, whatever the number of rows."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agreements.models import ConsentRecord
from tests.factories.agreements import ProductFactory
from tests.factories.consents import chain_rows
from tests.factories.contracts import make_contract
from tests.portal.conftest import build_world, signed_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _queries(client, url: str) -> int:
    client.get(url)  # warm the gate cache and the session
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("url", ["/portal/receipts/", "/portal/contracts/", "/portal/"])
def test_list_pages_do_not_grow_with_rows(db, today, url: str) -> None:
    counts = []
    for extra in (0, 2):
        world = build_world(name=f"件数{extra}株式会社")
        chain_rows(world.tenant, world.v1, 1 + extra)
        for _ in range(extra):
            make_contract(
                tenant=world.tenant, product=ProductFactory(), start_date=date(2024, 4, 1)
            )
        assert ConsentRecord.objects.filter(tenant=world.tenant).count() == 1 + extra
        counts.append(_queries(signed_in(world.viewer), url))
    assert counts[0] == counts[1]
