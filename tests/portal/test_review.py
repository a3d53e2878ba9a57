"""Reviewing a change: what changed (character marks, categories, legal basis, full text),
then answering per the consent truth table, with R6's consequence stated before a rejection."""

from __future__ import annotations

from datetime import date

import pytest

from agreements.enums import Answer, CaseStatus, ConsentMode, LegalBasis
from agreements.models import ConsentRecord, TerminationCase, TermsVersion
from agreements.services.consents import consents_apply_effective
from core import clock
from tests.factories.contracts import biz_product, idplus_product
from tests.portal.conftest import biz_renewing, build_world, signed_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_review_shows_the_changes_first_then_the_full_text(world, admin_client) -> None:
    body = admin_client.get(f"/portal/changes/{world.v2.pk}/").content.decode()
    assert body.index('data-testid="diff-table"') < body.index('class="terms-doc"')
    # Character marks inside the changed paragraph of article 2 and the new article 3.
    assert "本<del>製品</del>の利用" in body
    assert "当社は<ins>、お客様に通知のうえ</ins>本規約" in body
    assert "新設" in body
    assert "自動更新への対応" in body  # the category
    assert "内容の変更" in body  # its label
    assert "個別の同意による" in body  # legal basis
    assert "2025年4月1日（火）" in body  # effective date, Japanese
    assert "あと22日" in body
    assert "明示の同意" in body
    # The full revised text as a PDF, the public one of this version.
    pdf_url = (
        f"/terms/{world.v2.document.product.code}/{world.v2.document.slug}"
        f"/versions/{world.v2.pk}/pdf/"
    )
    assert f'href="{pdf_url}"' in body
    pdf = admin_client.get(pdf_url)
    assert (pdf.status_code, pdf["Content-Type"]) == (200, "application/pdf")


def test_review_in_english_says_the_japanese_text_governs(world, admin_client) -> None:
    admin_client.cookies["django_language"] = "en"
    body = admin_client.get(f"/portal/changes/{world.v2.pk}/").content.decode()
    assert '<html lang="en">' in body
    assert "Tue, 1 Apr 2025" in body
    assert 'class="governing-note"' in body
    assert '<article class="terms-doc" lang="ja"' in body


def test_reject_states_the_consequence_before_it_is_recorded(db, today) -> None:
    # R6 rests on Biz 2.4: an Optimal Biz contract (the ID+ case is the test below).
    world = build_world(product=biz_renewing())
    admin_client = signed_in(world.admin)
    url = f"/portal/changes/{world.v2.pk}/answer/"
    confirm = admin_client.post(url, {"answer": Answer.REJECTED})
    assert confirm.status_code == 200
    text = confirm.content.decode()
    # R6: the later of the effective date (04-01) and today + 30 days (03-10 + 30 = 04-09).
    assert "終了日は早くとも2025年4月9日（水）です" in text
    assert not ConsentRecord.objects.filter(tenant=world.tenant).exists()

    done = admin_client.post(url, {"answer": Answer.REJECTED, "confirm": "True"})
    record = ConsentRecord.objects.get(tenant=world.tenant)
    assert done["Location"] == f"/portal/receipts/{record.pk}/"
    assert record.answer == Answer.REJECTED
    case = TerminationCase.objects.get(tenant=world.tenant)
    assert (case.status, case.contract_id) == (CaseStatus.OPEN, world.contract.pk)

    # The answer can be changed while the table allows: switching to accept drops the case.
    review = admin_client.get(f"/portal/changes/{world.v2.pk}/").content.decode()
    assert 'data-testid="accept"' in review
    assert 'data-testid="reject"' not in review
    switched = admin_client.post(url, {"answer": Answer.ACCEPTED}, follow=True)
    assert "拒否による解約の手続きは取り下げられました" in switched.content.decode()
    case.refresh_from_db()
    assert case.status == CaseStatus.DROPPED
    assert list(
        ConsentRecord.objects.filter(tenant=world.tenant)
        .order_by("seq")
        .values_list("answer", "channel")
    ) == [(Answer.REJECTED, "portal"), (Answer.ACCEPTED, "portal")]


def test_reject_r6_idplus_is_recorded_without_a_case_or_an_end_date(world, admin_client) -> None:
    # The ID+ text available has no clause to discontinue for a rejection (rulebook R6).
    url = f"/portal/changes/{world.v2.pk}/answer/"
    confirm = admin_client.post(url, {"answer": Answer.REJECTED}).content.decode()
    assert 'data-testid="reject-no-case"' in confirm
    assert "ご契約内容をご確認ください" in confirm
    assert "早くとも" not in confirm
    assert "第2条第4項" not in confirm
    done = admin_client.post(url, {"answer": Answer.REJECTED, "confirm": "True"})
    record = ConsentRecord.objects.get(tenant=world.tenant)
    assert done["Location"] == f"/portal/receipts/{record.pk}/"
    assert record.answer == Answer.REJECTED
    assert not TerminationCase.objects.filter(tenant=world.tenant).exists()
    # No R6: no end to wait for; the last day to switch, and no CC 548-4 without its ground.
    receipt = admin_client.get(done["Location"]).content.decode()
    assert (
        "拒否を記録しました。2025年3月31日（月）までは同意に切り替えることができます。" in receipt
    )
    assert "終了が効力を生じる" not in receipt
    assert "民法第548条の4" not in receipt


def test_reject_idplus_on_a_548_4_ground_says_the_revision_applies_anyway(
    world, admin_client
) -> None:
    TermsVersion.objects.filter(pk=world.v2.pk).update(
        consent_mode=ConsentMode.DEEMED, legal_basis=LegalBasis.REASONABLE
    )
    url = f"/portal/changes/{world.v2.pk}/answer/"
    done = admin_client.post(url, {"answer": Answer.REJECTED, "confirm": "True"})
    receipt = admin_client.get(done["Location"]).content.decode()
    assert (
        "拒否を記録しました。2025年3月31日（月）までは同意に切り替えることができます。"
        "この改定は民法第548条の4に基づき2025年4月1日（火）から適用されます。" in receipt
    )


def test_repeating_an_answer_records_nothing_new(world, admin_client) -> None:
    url = f"/portal/changes/{world.v2.pk}/answer/"
    admin_client.post(url, {"answer": Answer.ACCEPTED})
    again = admin_client.post(url, {"answer": Answer.ACCEPTED}, follow=True)
    assert "この回答は既に記録されています" in again.content.decode()
    assert ConsentRecord.objects.filter(tenant=world.tenant).count() == 1


def test_answer_records_the_portal_evidence(world, admin_client) -> None:
    admin_client.post(
        f"/portal/changes/{world.v2.pk}/answer/",
        {"answer": Answer.ACCEPTED},
        HTTP_USER_AGENT="TestBrowser/1.0",
    )
    evidence = ConsentRecord.objects.get(tenant=world.tenant).evidence
    assert (evidence.person_name, evidence.person_email, evidence.user_agent, evidence.method) == (
        "管理 太郎",
        world.admin.user.email,
        "TestBrowser/1.0",
        "portal",
    )


def test_r3_id_plus_deemed_mode_writes_no_deemed_entry_and_a_rejection_stays_open(
    db, today
) -> None:
    # The ID+ terms (as far as the available text shows) have no deemed-consent clause: a
    # deemed-mode revision of ID+ asks for an answer instead (docs/rules.md, R3). This test
    # used to expect a Biz 2.1 deemed consent and the R13 pointer on an ID+ world.
    world = build_world(name="みなし商事株式会社", mode=ConsentMode.DEEMED)
    client = signed_in(world.admin)
    with clock.frozen_at(date(2025, 4, 2)):
        consents_apply_effective(version=world.v2, today=date(2025, 4, 2))
        review = client.get(f"/portal/changes/{world.v2.pk}/").content.decode()
        assert 'data-testid="reject"' in review
    assert not ConsentRecord.objects.filter(tenant=world.tenant, answer=Answer.DEEMED).exists()


def test_home_lists_pending_items_first_with_their_dates(world, viewer_client) -> None:
    body = viewer_client.get("/portal/").content.decode()
    assert body.index("予定・未回答の規約改定") < body.index("契約と期限")
    assert "2025年4月1日改定" in body
    assert "2025-04" not in body  # the internal working label is staff-only
    assert "あと22日" in body
    assert "未回答" in body
    # The contract: current period, auto-renewal and the concrete next deadline (R11): the
    # 2025-02-28 deadline has passed, so the next end is 2026-03-31 with deadline 2026-02-28.
    assert "2024年4月1日（月） – 2025年3月31日（月）" in body
    assert "2026年2月28日（土）" in body
    assert "申し込んだ場合は2026年3月31日（火）に終了" in body  # not "it ends"


@pytest.mark.parametrize(
    ("product", "article"), [("idplus", "第9条第1項、第9条第2項"), ("biz", "第5条第3項")]
)
def test_reject_on_a_548_4_ground_says_it_still_applies_and_names_the_exit(db, product, article):
    """A change on a CC 548-4(1) ground binds an objector: the confirmation says so before the
    answer is filed, with the exit the product's terms give (a termination on a chosen date)."""
    world = build_world(
        mode=ConsentMode.DEEMED,
        product=biz_product() if product == "biz" else idplus_product(),
    )
    client = signed_in(world.admin)
    with clock.frozen_at(date(2025, 3, 10)):
        confirm = client.post(
            f"/portal/changes/{world.v2.pk}/answer/", {"answer": Answer.REJECTED}
        ).content.decode()
    assert 'data-testid="reject-still-binds"' in confirm
    if product == "biz":
        assert "拒否や異議があっても2025年4月1日（火）から適用されます" in confirm
    else:
        # No change clause in the ID+ text: the company's view, not a settled fact.
        assert (
            "当社は、この改定が民法第548条の4の要件を満たすものと考えており、"
            "拒否や異議があっても2025年4月1日（火）から適用されるものとして取り扱います"
        ) in confirm
    assert (
        f"2025年3月31日（月）までに、ご契約の画面から解約（終了日の指定）をお申し込みいただけます（利用規約{article}）"
        in confirm
    )


@pytest.mark.parametrize(
    ("product", "title", "message"),
    [
        ("biz", "異議の申出の受領証", "異議の申出を記録しました"),
        ("idplus", "改定の拒否の受領証", "拒否を記録しました"),
    ],
)
def test_r3_a_rejection_is_an_objection_only_where_silence_consents(db, product, title, message):
    """Biz 2.1: silence consents, so a rejection is an objection; ID+ has no such clause, so
    it stays a rejection — on the page, in the message after it and on the receipt alike."""
    world = build_world(
        mode=ConsentMode.DEEMED,
        product=biz_product() if product == "biz" else idplus_product(),
    )
    client = signed_in(world.admin)
    with clock.frozen_at(date(2025, 3, 10)):
        done = client.post(
            f"/portal/changes/{world.v2.pk}/answer/",
            {"answer": Answer.REJECTED, "confirm": "True"},
            follow=True,
        ).content.decode()
    assert title in done
    assert message in done


def test_r8_review_page_says_the_body_s_last_revised_line_is_not_this_version_s_date(
    world, admin_client
) -> None:
    """The full text ends 「最終改定：2024年 11 月 22日」 as it was copied; the portal says so
    beside it, as the public page does, and names the version's own date."""
    TermsVersion.objects.filter(pk=world.v2.pk).update(trailer="以上\n最終改定：2024年 11 月 22日")
    page = admin_client.get(f"/portal/changes/{world.v2.pk}/").content.decode()
    assert 'data-testid="body-date-note"' in page
    assert "この版の効力発生日は2025年4月1日（火）です。" in page


def test_changing_an_accepted_answer_to_a_rejection_names_the_current_answer(
    world, admin_client
) -> None:
    url = f"/portal/changes/{world.v2.pk}/answer/"
    with clock.frozen_at(date(2025, 3, 10)):
        admin_client.post(url, {"answer": Answer.ACCEPTED})
    page = admin_client.post(url, {"answer": Answer.REJECTED}).content.decode()
    current = page[page.index('data-testid="current-answer"') :]
    assert "2025年3月10日（月）" in current
    assert "「同意」と回答しています" in current
    assert "「拒否」に変更します" in current
    # The way back keeps the answer; it is not "do not answer".
    assert "戻る（回答は「同意」のまま）" in page
    assert "戻る（回答しない）" not in page


def test_the_current_answer_in_english_has_an_english_colon(world, admin_client) -> None:
    url = f"/portal/changes/{world.v2.pk}/answer/"
    with clock.frozen_at(date(2025, 3, 10)):
        admin_client.post(url, {"answer": Answer.ACCEPTED})
    admin_client.post("/i18n/setlang/", {"language": "en"})
    page = admin_client.post(url, {"answer": Answer.REJECTED}).content.decode()
    current = page[page.index('data-testid="current-answer"') :]
    assert "Current answer</strong>: " in current
    assert "：" not in current[: current.index("</p>")]


def test_a_first_rejection_has_no_current_answer(world, admin_client) -> None:
    page = admin_client.post(
        f"/portal/changes/{world.v2.pk}/answer/", {"answer": Answer.REJECTED}
    ).content.decode()
    assert 'data-testid="current-answer"' not in page
    assert "戻る（回答しない）" in page
