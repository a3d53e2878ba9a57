"""Finding a tenant by the partner's own identifier (external_ref) or its 法人番号, scoped to
the caller: a partner finds only its tenants, a product the tenants with a contract for it,
staff all; no match is an empty page, never a 404."""

from __future__ import annotations

import pytest

from tenants.models import Tenant
from tests.api.conftest import World, key_client, make_product_key
from tests.factories.contracts import biz_product
from tests.factories.tenants import TenantFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

NUMBER = "7000012050002"  # 国税庁 (a real, valid 法人番号)
TYPED = "７０００-０１２０-５０００２"  # as typed with an IME


@pytest.fixture
def same_company(world: World) -> World:
    """The same company is a customer of both partners, under the same ref at each."""
    Tenant.objects.filter(pk__in=[world.tenant.pk, world.other_tenant.pk]).update(
        corporate_number=NUMBER, external_ref="CRM-0001"
    )
    return world


def _ids(client, query: str) -> list[int]:
    response = client.get(f"/api/v1/tenants/lookup/?{query}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"next", "previous", "results"}
    return [item["id"] for item in body["results"]]


@pytest.mark.parametrize(
    "query",
    [
        f"corporate_number={NUMBER}",
        f"corporate_number={TYPED}",
        "external_ref=CRM-0001",
        f"external_ref=CRM-0001&corporate_number={NUMBER}",
    ],
)
def test_lookup_each_caller_finds_what_it_reaches(same_company: World, query: str) -> None:
    w = same_company
    assert _ids(w.client("own_partner"), query) == [w.tenant.pk]
    assert _ids(w.client("other_partner"), query) == [w.other_tenant.pk]
    both = sorted([w.tenant.pk, w.other_tenant.pk])
    assert _ids(w.client("product"), query) == both  # both hold an ID+ contract
    assert _ids(w.client("staff"), query) == both


def test_lookup_a_product_finds_no_tenant_without_a_contract_for_it(same_company: World) -> None:
    _key, raw = make_product_key(biz_product())
    assert _ids(key_client(raw), f"corporate_number={NUMBER}") == []


def test_lookup_another_partners_tenant_is_an_empty_page(world: World) -> None:
    Tenant.objects.filter(pk=world.tenant.pk).update(
        corporate_number=NUMBER, external_ref="ONLY-MINE"
    )
    for query in (f"corporate_number={NUMBER}", "external_ref=ONLY-MINE"):
        response = world.client("other_partner").get(f"/api/v1/tenants/lookup/?{query}")
        assert response.status_code == 200
        assert response.json()["results"] == []
        assert world.tenant.name not in response.content.decode()
        assert str(world.tenant.pk) not in response.content.decode()


def test_lookup_only_matches_exactly(same_company: World) -> None:
    w = same_company
    TenantFactory(partner=w.partner, name="CRM-0001 商事", external_ref="CRM-00010")
    assert _ids(w.client("own_partner"), "external_ref=CRM-0001") == [w.tenant.pk]
    assert _ids(w.client("own_partner"), "external_ref=crm-0001") == []


@pytest.mark.parametrize(
    "query", ["", "external_ref=", "corporate_number=123", "corporate_number=12345678901ab"]
)
def test_lookup_needs_an_identifier(world: World, query: str) -> None:
    response = world.client("own_partner").get(f"/api/v1/tenants/lookup/?{query}")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"


def test_tenant_list_filters_by_the_same_identifiers(same_company: World) -> None:
    w = same_company
    for query in (f"corporate_number={TYPED}", "external_ref=CRM-0001"):
        body = w.client("own_partner").get(f"/api/v1/tenants/?{query}").json()
        assert [t["id"] for t in body["results"]] == [w.tenant.pk]
        assert body["results"][0]["external_ref"] == "CRM-0001"
    assert w.client("own_partner").get("/api/v1/tenants/?corporate_number=1").status_code == 400


def test_lookup_a_product_key_needs_status_read(same_company: World) -> None:
    _key, raw = make_product_key(same_company.product, scopes=["deletion:ack"])
    refused = key_client(raw).get(f"/api/v1/tenants/lookup/?corporate_number={NUMBER}")
    assert refused.status_code == 403
    assert str(same_company.tenant.pk) not in refused.content.decode()
