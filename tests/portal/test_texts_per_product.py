"""Customer texts per product: every deadline and consequence a page, e-mail or notice states
for a Biz and an ID+ contract, compared with what the product's rulebook says (R3, R6, R13,
R15, R16), in Japanese and English. A product whose terms lack a rule gets no article and a
"see your contract" line, never the other product's article."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import translation

from agreements.enums import ConsentMode
from agreements.rulebook import rulebook_for
from agreements.rules import endings
from agreements.services.consents import consent_states_open
from agreements.templatetags.jdates import format_date
from core import clock
from core.enums import EventKind
from core.models import Outbox
from tenants.delivery.email import email_render
from tenants.enums import Role
from tests.factories.agreements import DocumentFactory, VersionFactory
from tests.factories.consents import EFFECTIVE_ON, posted_version
from tests.factories.contracts import biz_product, idplus_product, make_contract
from tests.factories.tenants import MembershipFactory, TenantFactory
from tests.portal.conftest import signed_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

BIZ = "optimal-biz"
IDP = "optim-id-plus"
LAST_DAY_TO_OBJECT = EFFECTIVE_ON - timedelta(days=1)  # 2025-03-31


def _product(code: str):
    return biz_product() if code == BIZ else idplus_product()


def _mail(kind: str, payload: dict, locale: str) -> str:
    row = Outbox(kind=kind, payload=payload, locale=locale, recipient="admin@example.com")
    subject, text, html = email_render(row)
    return f"{subject}\n{text}\n{html}"


def _notice_payload(code: str, mode: str = ConsentMode.DEEMED) -> dict:
    return {
        "version_id": 1,
        "document": "利用規約",
        "product": code,
        "label": "2025-04",
        "notice_on": "2025-03-01",
        "effective_on": EFFECTIVE_ON.isoformat(),
        "consent_mode": mode,
    }


# --- The revision notice e-mail, deemed mode (R3, R6) ---------------------------------------


def test_notice_mail_r3_r6_biz_cites_its_articles_its_word_and_the_last_day_to_object() -> None:
    book = rulebook_for(BIZ)
    text = _mail(EventKind.NOTICE_POSTED, _notice_payload(BIZ), "ja")
    assert f"2025年4月1日（火）以降も{book.product_word}をご利用いただいた場合" in text
    assert f"（利用規約{book.entry('R3').article_ja}）" in text
    assert "ご異議がある場合は、2025年3月31日（月）までにポータルからお知らせください。" in text
    assert (
        f"当社は本製品の提供を将来に向けて中止することがあります（利用規約{book.entry('R6').article_ja}）"
        in text
    )
    assert "本サービス" not in text
    assert "の前日" not in text  # a concrete day, not a rule to apply


def test_notice_mail_biz_deemed_on_a_548_4_ground_says_an_objection_does_not_stop_it() -> None:
    payload = {**_notice_payload(BIZ), "legal_basis": "reasonable"}
    ja = _mail(EventKind.NOTICE_POSTED, payload, "ja")
    assert (
        "この改定は民法第548条の4第1項第2号に基づく変更のため、ご異議をいただいた場合でも"
        "2025年4月1日（火）から適用されます。" in ja
    )
    # A real exit before the change applies: a termination on a chosen date (Biz 5.3), not a
    # non-renewal, which a contract without auto-renewal or far from its period end lacks.
    assert (
        "ポータルのご契約の画面から解約（終了日の指定）をお申し込みいただけます（利用規約第5条第3項）"
        in ja
    )
    assert "更新しない旨" not in ja
    en = _mail(EventKind.NOTICE_POSTED, {**payload, "legal_basis": "general_interest"}, "en")
    assert "change under Article 548-4(1)(i) of the Civil Code, it applies from" in en
    assert "to end your contract on a date you choose (Terms, Article 5(3))" in en
    # Without a 548-4 ground an objection does stop deemed consent: nothing to say.
    plain = _mail(EventKind.NOTICE_POSTED, _notice_payload(BIZ), "ja")
    assert "民法第548条の4" not in plain


def test_r3_idplus_notice_does_not_claim_deemed_consent() -> None:
    assert not rulebook_for(IDP).has("R3")
    assert not rulebook_for(IDP).has("R6")
    payload = {**_notice_payload(IDP), "legal_basis": "general_interest"}
    text = _mail(EventKind.NOTICE_POSTED, payload, "ja")
    assert "みなします" not in text
    assert "以降も本サービスをご利用いただいた場合" not in text
    assert "この改定について、ご回答がないことをもって同意とみなす取り扱いはしません。" in text
    assert "入手できる" not in text
    assert (
        "民法第548条の4（定型約款の変更）に基づくもので、個別のご同意がなくても2025年4月1日（火）から効力を生じます"
        in text
    )
    assert "ご異議がある場合は、2025年3月31日（月）までに" in text
    assert "ご異議をいただいた場合の取り扱いは、ご契約内容をご確認ください。" in text
    assert "第2条" not in text


def test_r3_idplus_notice_cites_cc_548_4_only_for_its_grounds() -> None:
    text = _mail(EventKind.NOTICE_POSTED, _notice_payload(IDP), "ja")
    assert "民法第548条の4" not in text  # no ground recorded: nothing to cite
    assert "ご回答がないことをもって同意とみなす取り扱いはしません" in text


@pytest.mark.parametrize(("code", "article"), [(BIZ, "Article 2(1)"), (IDP, None)])
def test_notice_mail_r3_english_per_product(code: str, article: str | None) -> None:
    payload = {**_notice_payload(code), "legal_basis": "reasonable"}
    text = _mail(EventKind.NOTICE_POSTED, payload, "en")
    assert "please tell us in the portal by Mon, 31 Mar 2025" in text
    if article:
        assert f"(Terms, {article})" in text
        assert "(Terms, Article 2(4))" in text
        assert "deemed to consent" in text
    else:
        assert "Article 548-4 of the Civil Code" in text
        assert "Article " not in text.replace("Article 548-4", "")
        assert "deemed to consent" not in text
        assert "We do not treat silence as consent to this revision" in text
        assert "available text" not in text
        assert "please see your contract" in text


@pytest.mark.parametrize("code", [BIZ, IDP])
def test_outstanding_mail_r4_threatens_no_restriction_and_cites_no_biz_article(code) -> None:
    payload = {**_notice_payload(code, ConsentMode.EXPLICIT), "status": "outstanding"}
    for kind in (EventKind.CONSENT_OUTSTANDING, EventKind.CONSENT_REMINDER):
        for locale in ("ja", "en"):
            text = _mail(kind, payload, locale)
            assert "第2条第2項" not in text
            assert "Article 2(2)" not in text
            assert "制限" not in text
            assert "restrict" not in text


@pytest.mark.parametrize(("code", "cited"), [(BIZ, "（利用規約第10条第3項）"), (IDP, None)])
def test_deletion_mail_r15_cites_the_products_own_article(code: str, cited: str | None) -> None:
    payload = {
        "contract_id": 7,
        "product_code": code,
        "product_name": "x",
        "kind": "requested",
        "due_on": "2025-05-01",
    }
    text = _mail(EventKind.DELETION_ORDERED, payload, "ja")
    if cited:
        assert cited in text
    else:
        assert "第10条" not in text
    english = _mail(EventKind.DELETION_ORDERED, payload, "en")
    assert ("Article 10(3)" in english) is bool(cited)


# --- The review page, deemed mode (R3, R6) --------------------------------------------------


def _deemed_review(
    code: str, language: str = "ja", mode: str = ConsentMode.DEEMED, basis: str | None = None
) -> str:
    product = _product(code)
    tenant = TenantFactory()
    make_contract(tenant=tenant, product=product)
    document = DocumentFactory(product=product)
    VersionFactory(document=document, label="2024", effective_on=date(2024, 1, 1))
    extra = {"legal_basis": basis} if basis else {}
    version = posted_version(document, mode=mode, label="2025-04", **extra)
    consent_states_open(version=version)
    client = signed_in(MembershipFactory(tenant=tenant, role=Role.ADMIN))
    with clock.frozen_at(date(2025, 3, 10)):
        return client.get(
            f"/portal/changes/{version.pk}/", HTTP_ACCEPT_LANGUAGE=language
        ).content.decode()


def test_review_r3_r6_biz_gives_the_last_day_to_object_and_what_it_leads_to() -> None:
    page = _deemed_review(BIZ)
    assert "異議は<strong>2025年3月31日（月）</strong>までに" in page
    assert "当社は本製品の提供を将来に向けて中止することがあります（利用規約第2条第4項）" in page


def test_review_biz_deemed_on_a_548_4_ground_says_an_objection_does_not_stop_it() -> None:
    page = _deemed_review(BIZ, basis="reasonable")
    assert (
        "この改定は民法第548条の4第1項第2号に基づく変更のため、異議をお伝えいただいた場合でも"
        "2025年4月1日（火）から適用されます。" in page
    )
    # The exit before the change applies: a termination on a chosen date, not a non-renewal.
    assert (
        f'2025年3月31日（月）までに、<a href="{reverse("portal:contracts")}">ご契約の画面</a>'
        "から解約（終了日の指定）をお申し込みいただけます。" in page
    )
    assert "更新しない旨" not in page
    english = _deemed_review(BIZ, "en", basis="general_interest")
    assert "Article 548-4(1)(i) of the Civil Code, it applies from" in english
    assert "objection-binds" not in _deemed_review(BIZ)


def test_r3_idplus_review_does_not_claim_deemed_consent() -> None:
    page = _deemed_review(IDP)
    assert "とみなされます" not in page
    assert "回答のお願い（みなし同意の定めはありません）" in page
    assert "この改定について、ご回答がないことをもって同意とみなす取り扱いはしません。" in page
    assert "入手できる" not in page
    assert "<strong>2025年3月31日（月）</strong>までに、この画面で「拒否」を選んで" in page
    assert "異議をお伝えいただいた場合の取り扱いは、ご契約内容をご確認ください。" in page
    assert "第2条第4項" not in page


def test_r3_idplus_review_in_english_does_not_claim_deemed_consent() -> None:
    page = _deemed_review(IDP, "en")
    assert "deemed to accept" not in page
    assert "We do not treat silence as consent to this revision." in page
    assert "available text" not in page
    assert "on this page by <strong>Mon, 31 Mar 2025</strong>." in page


# --- One last day to answer, in every channel (R2, R4) --------------------------------------


@pytest.mark.parametrize("code", [BIZ, IDP])
def test_r4_answer_deadline_is_the_day_before_the_effective_date_in_every_channel(code) -> None:
    explicit = _notice_payload(code, ConsentMode.EXPLICIT)
    for kind in (EventKind.NOTICE_POSTED, EventKind.CONSENT_REMINDER):
        ja = _mail(kind, {**explicit, "status": "no_answer"}, "ja")
        assert "2025年3月31日（月）までに" in ja, kind
        assert "2025年4月1日（火）までに" not in ja, kind
        en = _mail(kind, {**explicit, "status": "no_answer"}, "en")
        assert "by Mon, 31 Mar 2025" in en, kind
        assert "by Tue, 1 Apr 2025" not in en, kind
    page = _deemed_review(code, mode=ConsentMode.EXPLICIT)
    assert "<strong>2025年3月31日（月）</strong>までにご回答ください" in page
    assert "効力発生日までに" not in page
    deemed = _deemed_review(code)
    assert "<strong>2025年3月31日（月）</strong>までに" in deemed


@pytest.mark.parametrize("gate", [None, "2025-04-15"])
def test_notice_mail_r4_biz_explicit_cites_2_2_the_previous_version_the_gate_and_2_4(gate) -> None:
    payload = {
        **_notice_payload(BIZ, ConsentMode.EXPLICIT),
        "legal_basis": "explicit_consent",
        "gate_from": gate,
    }
    ja = _mail(EventKind.NOTICE_POSTED, payload, "ja")
    assert "この改定には明示の同意が必要です（利用規約第2条第2項）。" in ja
    assert "ご回答がない場合は、ご同意いただくまで従前の版が引き続き適用されます。" in ja
    # Biz 2.4's own words: the product's provision is discontinued, not "the contract ended".
    assert "当社は本製品の提供を将来に向けて中止することがあります（利用規約第2条第4項）" in ja
    en = _mail(EventKind.NOTICE_POSTED, payload, "en")
    assert "This revision needs your explicit consent (Terms, Article 2(2))." in en
    assert "the version before it continues to apply to you" in en
    assert "(Terms, Article 2(4))" in en
    assert "we may discontinue providing Optimal Biz going forward" in en
    if gate:
        assert "ご回答がないまま2025年4月15日（火）を迎えた場合" in ja
        assert "restricted from that day" in en
    else:
        assert "ご回答がないことを理由に、製品のご利用を停止することや" in ja
        assert "制限" not in ja
        assert "We do not withhold" in en
    idplus = _mail(EventKind.NOTICE_POSTED, {**payload, "product": IDP}, "ja")
    assert "第2条" not in idplus


@pytest.mark.parametrize("code", [BIZ, IDP])
def test_non_renewal_received_mail_r13_states_accounts_go_on_the_end_date_per_product(code) -> None:
    payload = {
        "contract_id": 7,
        "product_code": code,
        "product_name": "x",
        "requested_on": "2025-01-10",
        "end_date": "2025-03-31",
        "deadline": "2025-02-28",
    }
    ja = _mail(EventKind.NON_RENEWAL_RECEIVED, payload, "ja")
    en = _mail(EventKind.NON_RENEWAL_RECEIVED, payload, "en")
    removed = rulebook_for(code).accounts_removed_on_end
    assert (
        "終了日（2025年3月31日（月））をもってアカウントは削除され、以後は復旧できません（利用規約第9条"
        in ja
    ) is removed
    assert ("removed on the end date (Mon, 31 Mar 2025) and cannot be restored" in en) is removed
    assert ("削除の時期）はポータルのご契約の画面で" in ja) is not removed


# --- The public notice (R8) ---------------------------------------------------------------


def test_public_notice_r8_japanese_weekday_on_english_pages_and_no_wait_line(client) -> None:
    version = posted_version(DocumentFactory(product=biz_product()), label="2025-04")
    url = reverse("public:notice-detail", args=[version.pk])
    for language in ("ja", "en"):
        body = client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()
        assert "2025年4月1日（火）" in body, language
        assert "(Tue)" not in body
        assert "改定後利用規約をご確認いただけます" not in body  # public from the posting


# --- The confirmation screen before a termination (R13, R15, R16) -------------------------


def _termination_confirm(code: str, end: str) -> str:
    tenant = TenantFactory()
    contract = make_contract(tenant=tenant, product=_product(code))
    client = signed_in(MembershipFactory(tenant=tenant, role=Role.ADMIN))
    with clock.frozen_at(date(2024, 9, 10)):
        return client.post(
            f"/portal/contracts/{contract.pk}/termination/", {"end_date": end}
        ).content.decode()


def test_confirm_r13_r15_r16_biz_states_the_timetable_and_the_window_of_its_rulebook() -> None:
    book = rulebook_for(BIZ)
    primary, backup = book.deletion_timetable or (0, 0)
    end = date(2024, 10, 31)
    page = _termination_confirm(BIZ, end.isoformat())
    assert 'data-testid="confirm-step"' in page
    with translation.override("ja"):
        first = format_date(endings.primary_deletion_from(end=end, months=primary), weekday=True)
        purge = format_date(endings.backup_purge_due(end=end, months=backup), weekday=True)
        window = format_date(
            endings.claims_window_closes(end=end, months=book.claims_window_months or 0),
            weekday=True,
        )
    assert (first, purge, window) == (
        "2024年12月1日（日）",
        "2025年11月1日（土）",
        "2025年1月31日（金）",
    )
    assert f"{first}以降、当社の判断で削除することがあります（利用規約第10条第3項）" in page
    assert f"1年間保有したのち、{purge}から順次削除します" in page
    assert f"契約終了後3か月（{window}）のいずれか早い日までに、書面で" in page
    assert "アカウントは削除され" not in page
    assert "日割り" not in page


def test_confirm_r13_idplus_states_accounts_go_on_the_end_date_and_no_biz_timetable() -> None:
    page = _termination_confirm(IDP, "2024-10-31")
    assert (
        "終了日（2024年10月31日（木））をもってアカウントは削除され、以後は復旧できません" in page
    )
    assert "原則として、料金の日割り計算は行いません（利用規約第7条第3項）" in page
    assert "第10条" not in page
    assert "第12条" not in page


@pytest.mark.parametrize("code", [BIZ, IDP])
@pytest.mark.parametrize("status", ["no_answer", "outstanding"])
def test_consent_mails_r4_gating_on_say_use_may_be_limited_from_gate_from(code, status) -> None:
    # A publisher set the gating policy: effective 2025-04-01 + 14 days → limited from 04-15.
    payload = {
        **_notice_payload(code, ConsentMode.EXPLICIT),
        "status": status,
        "gate_from": "2025-04-15",
    }
    kinds = [EventKind.CONSENT_REMINDER]
    if status == "outstanding":
        kinds.append(EventKind.CONSENT_OUTSTANDING)
    for kind in kinds:
        ja = _mail(kind, payload, "ja")
        assert "ご回答がないまま2025年4月15日" in ja
        assert "製品のご利用が制限されることがあります" in ja
        assert "ご利用を停止することや" not in ja
        en = _mail(kind, payload, "en")
        assert "restricted from that day" in en
        assert "We do not withhold" not in en
        assert "第2条第2項" not in ja + en


@pytest.mark.parametrize("code", [BIZ, IDP])
@pytest.mark.parametrize("status", ["no_answer", "outstanding"])
def test_consent_mails_r4_gating_off_say_nothing_is_withheld(code, status) -> None:
    payload = {**_notice_payload(code, ConsentMode.EXPLICIT), "status": status, "gate_from": None}
    kinds = [EventKind.CONSENT_REMINDER]
    if status == "outstanding":
        kinds.append(EventKind.CONSENT_OUTSTANDING)
    for kind in kinds:
        ja = _mail(kind, payload, "ja")
        assert "ご回答がないことを理由に、製品のご利用を停止することや" in ja
        assert "制限" not in ja
        en = _mail(kind, payload, "en")
        assert "We do not withhold the product or refuse any request" in en
        assert "restrict" not in en
