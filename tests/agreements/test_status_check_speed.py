"""The products' status check stays one plain statement (bench #3).

The tenant's contracts and the per-document rows are one hand-written statement; these tests
pin the query count of the selector and of the whole product-key request, whatever the number
of documents, answers and cases, and that the answers it reads are the right ones (latest
case, last in-force answer).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from agreements.enums import CaseStatus, ConsentMode, ConsentStatus, ProductKeyScope, VersionStatus
from agreements.models import ProductKey, TerminationCase, TermsVersion
from agreements.selectors.consents import (
    FLAG_CASE_CONFIRMED,
    FLAG_OUTSTANDING,
    FLAG_REJECTED,
    tenant_is_allowed,
)
from agreements.services.consents import consent_answer, consent_states_open
from core import clock
from tenants.keys import PRODUCT_KEY_TAG, issue_key
from tenants.scope import Scope
from tests.factories.agreements import DocumentFactory, OptionFactory, VersionFactory
from tests.factories.consents import (
    BEFORE,
    EFFECTIVE_ON,
    admin_scope,
    bound_tenant,
    posted_version,
)
from tests.factories.contracts import biz_product

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _world(documents: int):
    """A product with `documents` base documents (V1 in force, V2 posted) and an individual
    rule bound through an option; one tenant holding the option, answering every V2."""
    option = OptionFactory()
    product = option.product
    pending = []
    for _ in range(documents):
        document = DocumentFactory(product=product)
        VersionFactory(document=document)
        pending.append(posted_version(document))
    rules_doc = DocumentFactory(product=product, kind="individual", option=option)
    VersionFactory(document=rules_doc)
    tenant = bound_tenant(rules_doc).tenant
    for version in pending:
        consent_states_open(version=version)
        with clock.frozen_at(BEFORE):
            consent_answer(
                scope=admin_scope(tenant), tenant=tenant, version=version, answer="accepted"
            )
    return product, tenant


def _scope(product) -> Scope:
    return Scope.product(product_id=product.pk, key_id=None, scopes=("status:read",))


@pytest.mark.parametrize("documents", [1, 6])
def test_status_check_is_one_query_whatever_the_number_of_documents(documents: int) -> None:
    product, tenant = _world(documents)
    with clock.frozen_at(BEFORE), CaptureQueriesContext(connection) as captured:
        check = tenant_is_allowed(scope=_scope(product), tenant=tenant, product=product)
    assert len(captured) == 1
    assert check.allowed is True
    assert len(check.versions) == documents + 1
    assert [b.status for b in check.versions].count(ConsentStatus.ACCEPTED) == documents


def test_status_check_over_the_api_is_a_fixed_number_of_queries() -> None:
    product, tenant = _world(3)
    issued = issue_key(PRODUCT_KEY_TAG)
    ProductKey.objects.create(
        product=product,
        name="speed",
        prefix=issued.prefix,
        hashed_key=issued.hashed,
        scopes=[ProductKeyScope.STATUS_READ],
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {issued.full}")
    with clock.frozen_at(BEFORE), CaptureQueriesContext(connection) as captured:
        response = client.get(f"/api/v1/status/{tenant.pk}/")
    assert response.status_code == 200, response.content
    assert response.json()["allowed"] is True
    # Cold: the key lookup, one statement for the tenant's contracts for the product (which
    # also decide whether the product reaches the tenant) and the per-document rows, and once
    # the response is sent the key's first-use stamp.
    assert len(captured) == 3
    with clock.frozen_at(BEFORE), CaptureQueriesContext(connection) as captured:
        again = client.get(f"/api/v1/status/{tenant.pk}/")
    assert again.json() == response.json()
    assert len(captured) == 0  # warm: the key and the answer from the cache


def test_status_check_reads_each_documents_own_case_and_the_earliest_end() -> None:
    """Two documents rejected, each with its own confirmed case: the check flags both and
    reports the earlier end date; a third, explicit and effective, owed by the silent tenant."""
    # Optimal Biz: its rulebook has R6, so the rejections open cases.
    option = OptionFactory(product=biz_product())
    product = option.product
    rejected = []
    for _ in range(2):
        document = DocumentFactory(product=product)
        VersionFactory(document=document)
        rejected.append(posted_version(document))
    explicit_doc = DocumentFactory(product=product)
    VersionFactory(document=explicit_doc, status=VersionStatus.SUPERSEDED)
    explicit = posted_version(explicit_doc, mode=ConsentMode.EXPLICIT)
    contract = bound_tenant(explicit_doc)
    tenant = contract.tenant
    for version in [*rejected, explicit]:
        consent_states_open(version=version)
    for version in rejected:
        with clock.frozen_at(BEFORE):
            consent_answer(
                scope=admin_scope(tenant), tenant=tenant, version=version, answer="rejected"
            )
    ends = {rejected[0].pk: date(2025, 4, 30), rejected[1].pk: date(2025, 4, 20)}
    for case in TerminationCase.objects.filter(tenant=tenant):
        TerminationCase.objects.filter(pk=case.pk).update(
            status=CaseStatus.CONFIRMED, end_date=ends[case.version_id]
        )
    TermsVersion.objects.filter(pk=explicit.pk).update(status=VersionStatus.EFFECTIVE)
    with clock.frozen_at(BEFORE):
        before = tenant_is_allowed(scope=_scope(product), tenant=tenant, product=product)
    assert (before.allowed, before.flags, before.case_end_date) == (
        True,
        (FLAG_REJECTED, FLAG_CASE_CONFIRMED),
        date(2025, 4, 20),
    )
    with clock.frozen_at(EFFECTIVE_ON):
        silent = tenant_is_allowed(scope=_scope(product), tenant=tenant, product=product)
    # R4: without a gating policy an outstanding answer is flagged, never a reason to withhold.
    assert silent.allowed is True
    assert FLAG_OUTSTANDING in silent.flags
    TermsVersion.objects.filter(pk=explicit.pk).update(
        gating_enabled=True, gating_rationale="個別契約で合意した利用条件", gating_grace_days=1
    )
    with clock.frozen_at(EFFECTIVE_ON + timedelta(days=1)):
        after = tenant_is_allowed(scope=_scope(product), tenant=tenant, product=product)
    # Flags follow the documents' order (precedence, slug): compare them as a set.
    assert after.allowed is False
    assert set(after.flags) == {FLAG_REJECTED, FLAG_CASE_CONFIRMED, FLAG_OUTSTANDING}
    assert len(after.flags) == 3
    by_document = {b.document_id: b.status for b in after.versions}
    assert by_document[explicit_doc.pk] == ConsentStatus.OUTSTANDING
    assert [by_document[v.document_id] for v in rejected] == [ConsentStatus.REJECTED] * 2
