"""The answer-recorded and R6 case e-mails state what was recorded and what happens next."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from agreements.enums import Answer, ConsentMode, LegalBasis
from agreements.models import ConsentRecord, TerminationCase, TermsVersion
from agreements.services.consents.answers import consent_answer
from agreements.services.consents.cases import case_confirm, case_drop
from agreements.services.consents.projection import consent_states_open
from core import clock
from core.enums import EventKind, OutboxChannel
from core.models import Outbox
from tenants.delivery.email import email_render, format_instant
from tenants.models import Tenant
from tenants.scope import Scope
from tests.factories.agreements import DocumentFactory, ProductFactory, VersionFactory
from tests.factories.consents import BEFORE, admin_scope, bound_tenant, posted_version
from tests.factories.tenants import StaffFactory, TenantFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@dataclass
class Setup:
    tenant: Tenant
    v1: TermsVersion
    v2: TermsVersion
    contract_id: int


def _setup(code: str, *, mode: str, basis: str, locale: str = "ja") -> Setup:
    product = ProductFactory(code=code, name=f"{code}製品", name_en=f"{code} product")
    document = DocumentFactory(product=product, title=f"{code} 利用規約")
    v1 = VersionFactory(document=document, label="2024-01")
    v2 = posted_version(document, mode=mode, legal_basis=basis, label="2025-04")
    tenant = TenantFactory(locale=locale, name="テスト商事株式会社")
    contract = bound_tenant(document, tenant=tenant)
    with clock.frozen_at(date(2025, 3, 1)):
        consent_states_open(version=v2)
    return Setup(tenant, v1, v2, contract.pk)


def _answer(s: Setup, value: str, on: date = BEFORE) -> ConsentRecord:
    with clock.frozen_at(on):
        record, _created = consent_answer(
            scope=admin_scope(s.tenant), tenant=s.tenant, version=s.v2, answer=value
        )
    return record


def _mail(tenant: Tenant, kind: str) -> tuple[str, str, str]:
    row = (
        Outbox.objects.filter(tenant_id=tenant.pk, kind=kind, channel=OutboxChannel.EMAIL)
        .order_by("-pk")
        .first()
    )
    assert row is not None, kind
    return email_render(row)


def _all_in(facts: list[str], *bodies: str) -> None:
    for body in bodies:
        missing = [fact for fact in facts if fact not in body]
        assert not missing, (missing, body)


def test_answer_recorded_email_r6_biz_rejection_states_the_record_and_the_case() -> None:
    s = _setup("optimal-biz", mode=ConsentMode.DEEMED, basis=LegalBasis.REASONABLE)
    record = _answer(s, Answer.REJECTED)
    subject, text, html = _mail(s.tenant, EventKind.ANSWER_RECORDED)
    assert subject == "optimal-biz 利用規約 2025年4月1日改定 へのご回答（拒否）を記録しました"
    facts = [
        "お客様: テスト商事株式会社",
        "製品: optimal-biz製品",
        "規約: optimal-biz 利用規約 2025年4月1日改定（効力発生日 2025年4月1日（火））",
        "回答: 拒否",
        f"記録日時: {format_instant(record.recorded_at, 'ja')}",
        f"台帳の番号: {record.seq}",
        f"/portal/receipts/{record.pk}/",
        # What happens next: binding whatever the answer only on the CC 548-4(1) ground, Biz 2.4 (a case).
        "この改定は民法第548条の4第1項第2号に基づく変更のため、ご回答にかかわらず2025年4月1日（火）から効力を生じます。",
        "将来に向けて中止することがあります（利用規約第2条第4項）",
        "終了日を定めてあらためてご連絡します",
    ]
    _all_in(facts, text)
    _all_in([f for f in facts if not f.startswith("/portal")], html)
    assert f'href="http://127.0.0.1:8000/portal/receipts/{record.pk}/"' in html
    # Biz 2.3 does not make a change bind a customer who objected; only CC 548-4(1) does.
    assert "第2条第3項" not in text


def test_answer_recorded_email_biz_rejection_en_cites_the_civil_code_ground() -> None:
    s = _setup(
        "optimal-biz", mode=ConsentMode.DEEMED, basis=LegalBasis.GENERAL_INTEREST, locale="en"
    )
    _answer(s, Answer.REJECTED)
    _subject, text, html = _mail(s.tenant, EventKind.ANSWER_RECORDED)
    _all_in(
        [
            "This revision is a change under Article 548-4(1)(i) of the Civil Code, so it takes"
            " effect on"
        ],
        text,
        html,
    )
    for body in (text, html):
        assert "2(3)" not in body
        assert "2.3" not in body


def test_answer_recorded_email_r6_idplus_rejection_promises_no_case_and_names_no_biz_article() -> (
    None
):
    s = _setup(
        "optim-id-plus", mode=ConsentMode.EXPLICIT, basis=LegalBasis.EXPLICIT_CONSENT, locale="en"
    )
    record = _answer(s, Answer.REJECTED)
    subject, text, html = _mail(s.tenant, EventKind.ANSWER_RECORDED)
    assert subject == (
        "Your answer to optim-id-plus 利用規約 Revision of 1 Apr 2025 (rejected) is recorded"
    )
    facts = [
        "Customer: テスト商事株式会社",
        "Product: optim-id-plus product",
        "Answer: rejected",
        f"Recorded at: {format_instant(record.recorded_at, 'en')}",
        f"Ledger number: {record.seq}",
        "until you accept it, the version before it (Revision of 1 Jan 2024) continues to apply to you",
        "For what a rejection leads to, please see your contract.",
        "Until Mon, 31 Mar 2025 you can also change your answer to an acceptance in the portal.",
    ]
    _all_in(facts, text, html)
    for body in (text, html):
        assert "Article 2(" not in body
        assert "discontinue" not in body
        assert "deemed" not in body
    assert not TerminationCase.objects.filter(tenant=s.tenant).exists()


def test_answer_recorded_email_acceptance_before_the_effective_date_gives_the_last_day_to_change() -> (
    None
):
    s = _setup("optimal-biz", mode=ConsentMode.DEEMED, basis=LegalBasis.GENERAL_INTEREST)
    _answer(s, Answer.ACCEPTED)
    _subject, text, html = _mail(s.tenant, EventKind.ANSWER_RECORDED)
    facts = [
        "回答: 同意",
        "改定後の規約は2025年4月1日（火）からお客様に適用されます。",
        "2025年3月31日（月）までは、ポータルから回答を拒否に変更できます。",
    ]
    _all_in(facts, text, html)


def test_case_emails_r6_opened_confirmed_dropped_state_contract_rejection_and_next_step() -> None:
    s = _setup("optimal-biz", mode=ConsentMode.DEEMED, basis=LegalBasis.REASONABLE)
    record = _answer(s, Answer.REJECTED)
    rejected_at = format_instant(record.recorded_at, "ja")

    _subject, text, html = _mail(s.tenant, EventKind.CASE_OPENED)
    opened = [
        f"契約番号 {s.contract_id}",
        "規約: optimal-biz 利用規約 2025年4月1日改定（効力発生日 2025年4月1日（火））",
        f"拒否のご回答: {rejected_at}記録（台帳の番号 {record.seq}）",
        "利用規約第2条第4項に基づき",
        # Answered on 2025-03-10: confirmed today, 30 days later is after the effective date.
        "終了日は早くとも2025年4月9日（水）です",
        "この手続きは取り下げられます",
    ]
    _all_in(opened, text, html)

    case = TerminationCase.objects.get(tenant=s.tenant)
    staff = Scope.staff(StaffFactory())
    with clock.frozen_at(date(2025, 3, 12)):
        case_confirm(scope=staff, case=case)
    subject, text, html = _mail(s.tenant, EventKind.CASE_CONFIRMED)
    assert (
        subject
        == "【重要】optimal-biz製品 のご契約は2025年4月11日（金）をもって終了します（改定への拒否）"
    )
    confirmed = [
        f"契約番号 {s.contract_id}",
        "終了日: 2025年4月11日（金）",
        "終了日までにポータルから変更後の規約に同意いただいた場合は、この終了は取り消されます。",
    ]
    _all_in(confirmed, text, html)

    with clock.frozen_at(date(2025, 3, 13)):
        case_drop(scope=staff, case=case)
    _subject, text, html = _mail(s.tenant, EventKind.CASE_DROPPED)
    dropped = [
        f"契約番号 {s.contract_id}",
        "事由: 当社が提供を継続すると判断したため",
        "ご契約はこれまでどおり継続し、お手続きは必要ありません。",
    ]
    _all_in(dropped, text, html)


def test_case_dropped_email_r6_after_acceptance_says_why_in_english() -> None:
    s = _setup("optimal-biz", mode=ConsentMode.DEEMED, basis=LegalBasis.REASONABLE, locale="en")
    _answer(s, Answer.REJECTED)
    _answer(s, Answer.ACCEPTED, on=date(2025, 3, 11))
    _subject, text, html = _mail(s.tenant, EventKind.CASE_DROPPED)
    facts = [
        "Why: you accepted the revised terms",
        "Your contract continues as before; nothing is needed from you.",
        "The revised terms apply to you from Tue, 1 Apr 2025.",
    ]
    _all_in(facts, text, html)
