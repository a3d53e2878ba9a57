"""One rule for every list filtered by `?tenant=` (docs/api.md, Filters): a tenant that is not
the caller's is a 404 `not_found`, the same answer whether it is another partner's or does not
exist at all, so the filter tells nobody which tenant ids exist. The contracts list answered
404 and the events feed an empty 200."""

from __future__ import annotations

import pytest

from tenants.models import Tenant
from tests.api.conftest import World

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

LISTS = ["/api/v1/contracts/", "/api/v1/events/"]


@pytest.mark.parametrize("path", LISTS)
def test_a_tenant_filter_outside_the_callers_reach_is_not_found_whoever_holds_it(
    world: World, path: str
) -> None:
    client = world.client("own_partner")
    missing = (Tenant.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1000
    others = client.get(path, {"tenant": world.other_tenant.pk})
    nobodys = client.get(path, {"tenant": missing})
    for response in (others, nobodys):
        assert response.status_code == 404, response.content
        assert response.json()["code"] == "not_found"
    # Nothing tells the two apart but the id itself.
    assert others.json()["detail"] == nobodys.json()["detail"]
    assert {k: v for k, v in others.json().items() if k != "instance"} == {
        k: v for k, v in nobodys.json().items() if k != "instance"
    }
    assert client.get(path, {"tenant": world.tenant.pk}).status_code == 200
