"""R3: deemed consent only for tenants the notice reached; `unnotified` otherwise, deemed once
a delivery is recorded and the lead time has run. R2: a type-(ii) revision whose real posting
left less than its minimum lead time lapses."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.contrib.auth.models import Group

from agreements.enums import Answer, ConsentStatus, LegalBasis, NoticeRoute, VersionStatus
from agreements.ledger.rows import NOTICE_REACHED_KEY
from agreements.ledger.verify import ledger_verify
from agreements.models import ConsentRecord, ConsentState, NoticeDelivery, TermsVersion
from agreements.rules import consent_transition, revision_lapses, status_after_effective
from agreements.services.consents.answers import consent_answer
from agreements.services.consents.effective import (
    consents_apply_effective,
    deemed_after_late_delivery,
)
from agreements.services.consents.reach import notice_delivery_record, notice_seen_in_portal
from agreements.services.versions.effective import version_apply_effective
from core import clock
from core.enums import EventKind, OutboxChannel, OutboxStatus
from core.errors import PermissionDenied, ValidationFailed
from core.models import Event, Outbox
from tenants.scope import Scope
from tests.factories.agreements import DocumentFactory, ProductFactory
from tests.factories.consents import (
    BEFORE,
    EFFECTIVE_ON,
    admin_scope,
    bound_tenant,
    delivered,
    posted_version,
)
from tests.factories.tenants import StaffFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _apply(version: TermsVersion) -> dict[str, int]:
    with clock.frozen_at(version.effective_on):
        return consents_apply_effective(version=version, today=version.effective_on)


def _status(tenant_id: int, version: TermsVersion) -> str:
    return ConsentState.objects.get(tenant_id=tenant_id, document=version.document).status


def _mail(version: TermsVersion, tenant_id: int, status: str) -> Outbox:
    event = Event.objects.create(
        kind=EventKind.NOTICE_POSTED,
        tenant_id=tenant_id,
        subject_type="agreements.termsversion",
        subject_id=version.pk,
        occurred_at=version.posted_at,
    )
    return Outbox.objects.create(
        kind=EventKind.NOTICE_POSTED,
        channel=OutboxChannel.EMAIL,
        dedupe_key=f"test:{version.pk}:{tenant_id}:{status}",
        event=event,
        tenant_id=tenant_id,
        recipient="admin@example.jp",
        status=status,
        next_attempt_at=version.posted_at,
        sent_at=version.posted_at if status == OutboxStatus.SENT else None,
    )


# --- the pure table ---------------------------------------------------------------------------


def test_status_after_effective_r3_unreached_silence_is_unnotified_not_deemed() -> None:
    common = {"status": ConsentStatus.NO_ANSWER, "mode": "deemed", "has_active_contract": True}
    assert status_after_effective(**common, notice_posted=True) == ConsentStatus.DEEMED
    assert (
        status_after_effective(**common, notice_posted=True, notice_reached=False)
        == ConsentStatus.UNNOTIFIED
    )
    assert (
        status_after_effective(**common, notice_posted=False, notice_reached=False)
        == ConsentStatus.NO_ANSWER
    )


def test_truth_table_r3_unnotified_may_accept_or_reject_as_before_the_effective_date() -> None:
    for answer, expected in ((Answer.ACCEPTED, "accepted"), (Answer.REJECTED, "rejected")):
        assert (
            consent_transition(
                current=ConsentStatus.UNNOTIFIED, answer=answer, version_effective=True
            )
            == expected
        )


def test_revision_lapses_r2_real_posting_left_less_than_the_lead_time() -> None:
    effective = date(2025, 4, 1)
    reasonable = LegalBasis.REASONABLE
    assert revision_lapses(
        legal_basis=reasonable, posted_on=date(2025, 3, 31), effective_on=effective, lead_days=30
    )
    assert revision_lapses(
        legal_basis=reasonable, posted_on=date(2025, 3, 3), effective_on=effective, lead_days=30
    )
    assert not revision_lapses(
        legal_basis=reasonable, posted_on=date(2025, 3, 2), effective_on=effective, lead_days=30
    )
    # A type-(i) change does not lapse (CC 548-4(3) concerns (ii)); the default keeps the old
    # reading: posted before the effective date.
    assert not revision_lapses(
        legal_basis=LegalBasis.GENERAL_INTEREST,
        posted_on=date(2025, 3, 31),
        effective_on=effective,
        lead_days=7,
    )
    assert not revision_lapses(
        legal_basis=reasonable, posted_on=date(2025, 3, 31), effective_on=effective
    )


# --- the effective date -----------------------------------------------------------------------


def test_apply_effective_r3_tenant_without_any_delivery_is_unnotified() -> None:
    version = posted_version()
    reached = bound_tenant(version.document).tenant
    unreached = bound_tenant(version.document).tenant  # no admin, no contact, no visit
    delivered(version, reached)
    assert _apply(version) == {"deemed": 1, "outstanding": 0, "unnotified": 1, "batches": 1}
    assert _status(reached.pk, version) == ConsentStatus.DEEMED
    assert _status(unreached.pk, version) == ConsentStatus.UNNOTIFIED
    assert not ConsentRecord.objects.filter(tenant=unreached).exists()


def test_apply_effective_r3_sent_email_reaches_dead_lettered_does_not() -> None:
    version = posted_version()
    sent = bound_tenant(version.document).tenant
    dead = bound_tenant(version.document).tenant
    mail = _mail(version, sent.pk, OutboxStatus.SENT)
    _mail(version, dead.pk, OutboxStatus.DEAD)
    _apply(version)
    assert _status(sent.pk, version) == ConsentStatus.DEEMED
    assert _status(dead.pk, version) == ConsentStatus.UNNOTIFIED
    row = ConsentRecord.objects.get(tenant=sent)
    assert row.evidence_digests[NOTICE_REACHED_KEY].startswith("email@")
    assert row.evidence_digests[NOTICE_REACHED_KEY].endswith(f"#outbox:{mail.pk}")
    assert ledger_verify() == []


def test_apply_effective_r3_delivery_on_the_effective_date_is_too_late() -> None:
    version = posted_version()
    tenant = bound_tenant(version.document).tenant
    delivered(version, tenant, at=clock.start_of_day(EFFECTIVE_ON) + timedelta(hours=1))
    _apply(version)
    assert _status(tenant.pk, version) == ConsentStatus.UNNOTIFIED


def test_apply_effective_r3_id_plus_terms_have_no_deemed_consent_clause() -> None:
    document = DocumentFactory(product=ProductFactory(code="optim-id-plus"))
    version = posted_version(document)
    tenant = bound_tenant(document).tenant
    delivered(version, tenant)
    counts = _apply(version)
    assert counts["deemed"] == 0
    assert counts["outstanding"] == 1
    assert _status(tenant.pk, version) == ConsentStatus.OUTSTANDING
    assert not ConsentRecord.objects.filter(answer=Answer.DEEMED).exists()


def test_deemed_after_late_delivery_r3_once_the_lead_time_has_run() -> None:
    version = posted_version(legal_basis=LegalBasis.GENERAL_INTEREST)
    tenant = bound_tenant(version.document).tenant
    _apply(version)
    TermsVersion.objects.filter(pk=version.pk).update(status=VersionStatus.EFFECTIVE)
    assert _status(tenant.pk, version) == ConsentStatus.UNNOTIFIED
    late = date(2025, 4, 10)
    delivered(version, tenant, route=NoticeRoute.PHONE, at=clock.start_of_day(late))
    with clock.frozen_at(late + timedelta(days=6)):
        assert deemed_after_late_delivery(today=late + timedelta(days=6))["deemed"] == 0
    with clock.frozen_at(late + timedelta(days=7)):
        assert deemed_after_late_delivery(today=late + timedelta(days=7))["deemed"] == 1
        assert deemed_after_late_delivery(today=late + timedelta(days=7))["deemed"] == 0
    row = ConsentRecord.objects.get(tenant=tenant, answer=Answer.DEEMED)
    delivery = NoticeDelivery.objects.get(tenant=tenant)
    assert row.evidence_digests[NOTICE_REACHED_KEY].endswith(f"#delivery:{delivery.pk}")
    assert row.evidence_digests[NOTICE_REACHED_KEY].startswith("phone@")
    assert _status(tenant.pk, version) == ConsentStatus.DEEMED
    assert ledger_verify() == []


def test_deemed_after_late_delivery_r3_an_objection_meanwhile_stands() -> None:
    version = posted_version(legal_basis=LegalBasis.GENERAL_INTEREST)
    tenant = bound_tenant(version.document).tenant
    _apply(version)
    TermsVersion.objects.filter(pk=version.pk).update(status=VersionStatus.EFFECTIVE)
    version.refresh_from_db()
    delivered(version, tenant, at=clock.start_of_day(date(2025, 4, 10)))
    with clock.frozen_at(date(2025, 4, 12)):
        consent_answer(scope=admin_scope(tenant), tenant=tenant, version=version, answer="rejected")
    with clock.frozen_at(date(2025, 5, 30)):
        assert deemed_after_late_delivery(today=date(2025, 5, 30))["deemed"] == 0
    assert _status(tenant.pk, version) == ConsentStatus.REJECTED


# --- recording a delivery ---------------------------------------------------------------------


def test_notice_seen_in_portal_r3_records_the_first_view_only() -> None:
    version = posted_version()
    tenant = bound_tenant(version.document).tenant
    scope = admin_scope(tenant)
    with clock.frozen_at(BEFORE):
        assert notice_seen_in_portal(scope=scope, tenant=tenant, version=version)
        assert not notice_seen_in_portal(scope=scope, tenant=tenant, version=version)
    row = NoticeDelivery.objects.get(tenant=tenant)
    assert row.route == NoticeRoute.PORTAL
    assert clock.business_date(row.reached_at) == BEFORE


def test_notice_delivery_record_r3_staff_only_with_a_note_and_a_date_in_range() -> None:
    user = StaffFactory()
    user.groups.add(Group.objects.get_or_create(name="publisher")[0])
    publisher_scope = Scope.staff(user)
    version = posted_version()
    tenant = bound_tenant(version.document).tenant
    with clock.frozen_at(BEFORE), pytest.raises(PermissionDenied):
        notice_delivery_record(
            scope=admin_scope(tenant),
            tenant=tenant,
            version=version,
            route=NoticeRoute.POST,
            reached_on=BEFORE,
            note="x",
        )
    with clock.frozen_at(BEFORE):
        for bad in ({"route": NoticeRoute.EMAIL}, {"note": " "}, {"reached_on": date(2025, 2, 1)}):
            kwargs = {"route": NoticeRoute.POST, "reached_on": BEFORE, "note": "簡易書留 No.1"}
            kwargs.update(bad)
            with pytest.raises(ValidationFailed):
                notice_delivery_record(
                    scope=publisher_scope, tenant=tenant, version=version, **kwargs
                )
        row = notice_delivery_record(
            scope=publisher_scope,
            tenant=tenant,
            version=version,
            route=NoticeRoute.POST,
            reached_on=BEFORE,
            note="簡易書留 No.1",
        )
    assert row.recorded_by is not None


# --- R2: the real posting ---------------------------------------------------------------------


def test_version_apply_effective_r2_late_posting_of_a_type_ii_change_lapses() -> None:
    version = posted_version(
        notice_on=EFFECTIVE_ON - timedelta(days=1), legal_basis=LegalBasis.REASONABLE
    )
    bound_tenant(version.document)
    with clock.frozen_at(EFFECTIVE_ON):
        assert version_apply_effective(version_id=version.pk, today=EFFECTIVE_ON) == "lapsed"
    version.refresh_from_db()
    assert version.status == VersionStatus.LAPSED
    assert not ConsentRecord.objects.exists()
    assert Outbox.objects.filter(kind=EventKind.VERSION_LAPSED, tenant_id=None).exists()


def test_version_apply_effective_r2_type_ii_change_posted_30_days_ahead_takes_effect() -> None:
    version = posted_version(
        notice_on=EFFECTIVE_ON - timedelta(days=30), legal_basis=LegalBasis.REASONABLE
    )
    tenant = bound_tenant(version.document).tenant
    delivered(version, tenant)
    with clock.frozen_at(EFFECTIVE_ON):
        assert version_apply_effective(version_id=version.pk, today=EFFECTIVE_ON) == "effective"
    assert _status(tenant.pk, version) == ConsentStatus.DEEMED
