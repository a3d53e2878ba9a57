"""The partner's consent status splits the tenant's standing per version as the products'
status check does: `version_status` on the version in force, `pending_version_status` on the
pending one; the deprecated `status` is unchanged (docs/api.md, The consent flow)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from agreements.enums import ConsentMode
from tests.api.conftest import World
from tests.api.test_agreements_api import EVIDENCE
from tests.factories.agreements import DocumentFactory, VersionFactory
from tests.factories.consents import posted_version
from tests.factories.contracts import make_contract
from tests.factories.tenants import TenantFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _partner_view(world: World, tenant_id: int) -> dict[str, dict[str, Any]]:
    items = world.client("own_partner").get(f"/api/v1/tenants/{tenant_id}/consents/").json()
    return {item["document"]["slug"]: item for item in items}


def _product_view(world: World, tenant_id: int) -> dict[str, dict[str, Any]]:
    body = world.client("product").get(f"/api/v1/status/{tenant_id}/").json()
    return {item["document_slug"]: item for item in body["versions"]}


def _split(item: dict[str, Any]) -> tuple[Any, Any]:
    return item["version_status"], item["pending_version_status"]


def test_the_partner_sees_the_same_split_as_the_product_after_rejecting_the_pending_version(
    world: World,
) -> None:
    response = world.client("own_partner").post(
        f"/api/v1/tenants/{world.tenant.pk}/consents/",
        {"version": world.v2.pk, "answer": "rejected", "evidence": EVIDENCE},
        format="json",
    )
    assert response.status_code == 201, response.content
    partner = _partner_view(world, world.tenant.pk)["terms"]
    product = _product_view(world, world.tenant.pk)["terms"]
    assert _split(partner) == _split(product) == ("no_answer", "rejected")
    assert partner["status"] == "rejected"  # deprecated, unchanged: the pending version's


def test_an_outstanding_version_in_force_is_no_longer_hidden_by_the_pending_one(
    world: World,
) -> None:
    # An explicit revision in force since 2024-06-01 that the tenant (contract since 2024-04-01)
    # never answered, and a newer revision posted and pending.
    document = DocumentFactory(product=world.product, slug="sso-rules", title="SSO 個別規程")
    in_force = VersionFactory(
        document=document,
        label="2024-06-01",
        effective_on=date(2024, 6, 1),
        consent_mode=ConsentMode.EXPLICIT,
    )
    posted_version(document, label="2025-04-01", based_on=in_force)
    tenant = TenantFactory(partner=world.partner)
    make_contract(tenant=tenant, product=world.product, start_date=date(2024, 4, 1))
    partner = _partner_view(world, tenant.pk)["sso-rules"]
    product = _product_view(world, tenant.pk)["sso-rules"]
    assert _split(partner) == _split(product) == ("outstanding", "no_answer")
    assert partner["status"] == "no_answer"  # what the single status showed: the pending one


def test_without_a_pending_version_the_split_is_the_status_on_the_version_in_force(
    world: World,
) -> None:
    document = DocumentFactory(product=world.product, slug="ops-rules", title="運用規程")
    VersionFactory(document=document, label="2024-01-01")  # in force, nothing pending
    item = _partner_view(world, world.tenant.pk)["ops-rules"]
    assert item["pending_version"] is None
    assert item["status"] is not None
    assert _split(item) == (item["status"], None)
    assert _split(_product_view(world, world.tenant.pk)["ops-rules"]) == _split(item)


def test_the_schema_marks_the_mixed_status_deprecated() -> None:
    from web.api.schema import ApiSchemaGenerator

    schema = ApiSchemaGenerator().get_schema(request=None, public=True)
    props = schema["components"]["schemas"]["DocumentStatusOutput"]["properties"]
    assert props["status"].get("deprecated") is True
    assert {"version_status", "pending_version_status"} <= set(props)
