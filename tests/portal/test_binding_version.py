"""The portal shows the version that binds the tenant (R4): 「現在お客様に適用されている規約」 on the
home page, the contracts page and the review page — the previous version for a tenant that has
not accepted a revision put to explicit consent, the new one once it accepted. For a Biz and an
ID+ contract."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.test import Client

from agreements.enums import Answer, ConsentMode, LegalBasis, VersionStatus
from agreements.models import TermsVersion
from agreements.services.consents import consent_answer, consent_states_open
from agreements.services.versions.effective import version_apply_effective
from core import clock
from tenants.enums import Role
from tests.factories.agreements import DocumentFactory, VersionFactory
from tests.factories.consents import admin_scope, posted_version
from tests.factories.contracts import biz_product, idplus_product, make_contract
from tests.factories.tenants import MembershipFactory, TenantFactory
from tests.portal.conftest import signed_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

BEFORE = date(2025, 3, 10)
EFFECTIVE_ON = date(2025, 4, 1)
AFTER = date(2025, 4, 10)
BINDING = "現在お客様に適用されている"
DIFFERS = "同意をいただくまでは、従前の版が適用されます。"


def _world(code: str, *, basis: str = LegalBasis.EXPLICIT_CONSENT, answer: str | None = None):
    product = biz_product() if code == "optimal-biz" else idplus_product()
    tenant = TenantFactory()
    make_contract(tenant=tenant, product=product, start_date=date(2024, 4, 1))
    document = DocumentFactory(product=product, title="利用規約", slug="terms")
    v1 = VersionFactory(document=document, label="2024-01", effective_on=date(2024, 1, 1))
    mode = ConsentMode.EXPLICIT if basis == LegalBasis.EXPLICIT_CONSENT else ConsentMode.DEEMED
    v2 = posted_version(document, mode=mode, legal_basis=basis, label="2025-04", based_on=v1)
    consent_states_open(version=v2)
    admin = MembershipFactory(tenant=tenant, role=Role.ADMIN)
    if answer:
        with clock.frozen_at(BEFORE):
            consent_answer(scope=admin_scope(tenant), tenant=tenant, version=v2, answer=answer)
    with clock.frozen_at(EFFECTIVE_ON):
        version_apply_effective(version_id=v2.pk, today=EFFECTIVE_ON)
    v2.refresh_from_db()
    assert v2.status == VersionStatus.EFFECTIVE
    return signed_in(admin), v1, v2


def _page(client: Client, url: str) -> str:
    with clock.frozen_at(AFTER):
        response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def _binding_text(html: str) -> str:
    """The text of the first element saying which version binds the tenant."""
    assert BINDING in html
    found = re.search(r'data-testid="binding-version">(.*?)</(?:p|td)>', html, re.S)
    assert found is not None
    return re.sub(r"<[^>]+>", "", found.group(1))


@pytest.mark.parametrize("code", ["optimal-biz", "optim-id-plus"])
@pytest.mark.parametrize("answer", [None, Answer.REJECTED])
def test_portal_r4_silent_or_rejecting_tenant_is_shown_the_previous_version(
    code: str, answer: str | None
) -> None:
    client, v1, v2 = _world(code, answer=answer)
    for url in ("/portal/", "/portal/contracts/", f"/portal/changes/{v2.pk}/"):
        html = _page(client, url)
        assert v1.display_name in _binding_text(html), url
        assert DIFFERS in html, url
    # The text that binds the tenant is readable in the portal.
    assert v1.display_name in _page(client, f"/portal/changes/{v1.pk}/")


@pytest.mark.parametrize("code", ["optimal-biz", "optim-id-plus"])
def test_portal_r4_accepted_tenant_is_shown_the_new_version(code: str) -> None:
    client, _v1, v2 = _world(code, answer=Answer.ACCEPTED)
    for url in ("/portal/", "/portal/contracts/", f"/portal/changes/{v2.pk}/"):
        html = _page(client, url)
        assert v2.display_name in _binding_text(html), url
        assert DIFFERS not in html, url


@pytest.mark.parametrize("code", ["optimal-biz", "optim-id-plus"])
def test_portal_r4_type_ii_revision_binds_a_rejecting_tenant_from_its_effective_date(
    code: str,
) -> None:
    client, _v1, v2 = _world(code, basis=LegalBasis.REASONABLE, answer=Answer.REJECTED)
    html = _page(client, "/portal/contracts/")
    assert v2.display_name in _binding_text(html)
    assert DIFFERS not in html


def test_portal_r4_before_the_effective_date_the_version_in_force_binds() -> None:
    product = idplus_product()
    tenant = TenantFactory()
    make_contract(tenant=tenant, product=product, start_date=date(2024, 4, 1))
    document = DocumentFactory(product=product, slug="terms")
    v1 = VersionFactory(document=document, label="2024-01")
    v2 = posted_version(document, mode=ConsentMode.EXPLICIT, legal_basis="explicit_consent")
    consent_states_open(version=v2)
    client = signed_in(MembershipFactory(tenant=tenant, role=Role.ADMIN))
    with clock.frozen_at(BEFORE):
        html = client.get("/portal/").content.decode()
    assert v1.display_name in _binding_text(html)
    assert DIFFERS not in html
    assert TermsVersion.objects.get(pk=v2.pk).status == VersionStatus.SCHEDULED
