"""The version that bound a tenant before a change (R4) is named where the change is told and
answered: the notice e-mail (per tenant, read per batch), the answer e-mail and the receipt."""

from __future__ import annotations

from datetime import date

import pytest
from django.template.loader import render_to_string

from agreements.enums import Answer, ConsentMode, LegalBasis, VersionStatus
from agreements.models import ConsentRecord, TermsDocument, TermsVersion
from agreements.selectors.consents import binding_versions_for_tenants
from agreements.services.consents import consent_answer, consent_states_open
from agreements.services.versions.effective import version_apply_effective
from agreements.services.versions.posting import notice_post
from core import clock
from core.enums import EventKind, OutboxChannel
from core.models import Outbox
from tenants.delivery.email import email_render
from tenants.models import Tenant
from tests.factories.agreements import DocumentFactory, ProductFactory, VersionFactory
from tests.factories.consents import BEFORE, admin_scope, bound_tenant, posted_version
from tests.factories.tenants import TenantFactory
from web.receipts import receipt_context

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

NOTICE_ON = date(2025, 5, 1)
EFFECTIVE_ON = date(2025, 6, 1)


def _world() -> tuple[TermsDocument, TermsVersion, TermsVersion, TermsVersion, Tenant, Tenant]:
    """v1 in force since 2024; v2, put to explicit consent, took effect on 2025-04-01 and was
    accepted by `accepting` only; v3 is scheduled, not yet posted."""
    document = DocumentFactory(product=ProductFactory(code="optimal-biz"), title="Biz 利用規約")
    v1 = VersionFactory(document=document, label="2024-01")
    accepting = TenantFactory(name="同意商事")
    silent = TenantFactory(name="無回答商事")
    for tenant in (accepting, silent):
        bound_tenant(document, tenant=tenant)
    v2 = posted_version(
        document,
        mode=ConsentMode.EXPLICIT,
        legal_basis=LegalBasis.EXPLICIT_CONSENT,
        label="2025-04",
    )
    with clock.frozen_at(BEFORE):
        consent_states_open(version=v2)
        consent_answer(
            scope=admin_scope(accepting), tenant=accepting, version=v2, answer=Answer.ACCEPTED
        )
    with clock.frozen_at(v2.effective_on):
        version_apply_effective(version_id=v2.pk, today=v2.effective_on)
    v3 = posted_version(
        document,
        mode=ConsentMode.DEEMED,
        legal_basis=LegalBasis.REASONABLE,
        label="2025-06",
        notice_on=NOTICE_ON,
        effective_on=EFFECTIVE_ON,
        posted=False,
        status=VersionStatus.SCHEDULED,
    )
    return document, v1, v2, v3, accepting, silent


def _notice(tenant: Tenant) -> Outbox:
    row = (
        Outbox.objects.filter(
            tenant_id=tenant.pk, kind=EventKind.NOTICE_POSTED, channel=OutboxChannel.EMAIL
        )
        .order_by("pk")
        .first()
    )
    assert row is not None
    return row


def test_notice_posted_email_r4_names_each_tenants_own_binding_version() -> None:
    _document, v1, v2, v3, accepting, silent = _world()
    with clock.frozen_at(NOTICE_ON):
        assert notice_post(version=v3)
    # The tenant that accepted the explicit-consent revision is bound by it; the silent one
    # still by the version before it.
    assert _notice(accepting).payload["binding_version_label"] == v2.label
    assert _notice(silent).payload["binding_version_label"] == v1.label
    _subject, text, html = email_render(_notice(accepting))
    line = (
        "改定前にお客様に適用されている版: Biz 利用規約 2025年4月1日改定（2025年4月1日（火）から）"
    )
    assert line in text
    assert line in html
    silent_row = _notice(silent)
    silent_row.locale = "en"
    _subject, text, _html = email_render(silent_row)
    assert (
        "Version binding you before this change: Biz 利用規約 Revision of 1 Jan 2024 (from Mon, 1 Jan 2024)"
        in text
    )


def test_answer_recorded_email_and_receipt_r4_name_the_binding_version() -> None:
    _document, v1, _v2, v3, _accepting, silent = _world()
    with clock.frozen_at(NOTICE_ON):
        notice_post(version=v3)
        consent_states_open(version=v3)
        record, _created = consent_answer(
            scope=admin_scope(silent), tenant=silent, version=v3, answer=Answer.ACCEPTED
        )
    row = Outbox.objects.filter(
        tenant_id=silent.pk, kind=EventKind.ANSWER_RECORDED, channel=OutboxChannel.EMAIL
    ).first()
    assert row is not None
    _subject, text, html = email_render(row)
    line = (
        "改定前にお客様に適用されている版: Biz 利用規約 2024年1月1日改定（2024年1月1日（月）から）"
    )
    assert line in text
    assert line in html

    record = ConsentRecord.objects.get(pk=record.pk)
    context = receipt_context(record)
    assert context["binding_before"] == v1
    page = render_to_string(
        "agreements/portal/receipt_pdf.html",
        {**context, "verify_url": "https://terms.example/verify/", "LANGUAGE_CODE": "ja"},
    )
    assert "改定前に適用されていた版" in page
    assert "2024年1月1日改定" in page


def test_answer_recorded_r4_names_the_explicit_revision_the_tenant_accepted() -> None:
    """The answer reads the tenant's last answers to the revisions put to explicit consent
    with its other rows (one statement): the tenant that accepted v2 is bound by it until v3,
    the silent one by v1, as binding_versions_for_tenants says for both."""
    document, v1, v2, v3, accepting, silent = _world()
    with clock.frozen_at(NOTICE_ON):
        notice_post(version=v3)
        consent_states_open(version=v3)
        for tenant in (accepting, silent):
            consent_answer(
                scope=admin_scope(tenant), tenant=tenant, version=v3, answer=Answer.ACCEPTED
            )
    named = {
        tenant.pk: {
            row.payload["binding_version_id"]
            for row in Outbox.objects.filter(
                tenant_id=tenant.pk, kind=EventKind.ANSWER_RECORDED, payload__version_id=v3.pk
            )
        }
        for tenant in (accepting, silent)
    }
    assert named == {accepting.pk: {v2.pk}, silent.pk: {v1.pk}}
    binding = binding_versions_for_tenants(
        document=document, tenant_ids=[accepting.pk, silent.pk], before=v3.effective_on
    )
    assert {pk: {version.pk} for pk, version in binding.items() if version} == named
