"""The console's read-only page of each product's rulebook, and contract facts per product."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from core import clock
from tenants.enums import Role
from tests.factories.contracts import idplus_product, make_contract
from tests.factories.tenants import MembershipFactory, TenantFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_rulebook_page_r14_r16_lists_each_product_with_articles(client, viewer) -> None:
    client.force_login(viewer)
    page = client.get(reverse("console:rulebook")).content.decode()
    assert 'data-testid="rulebook-optimal-biz"' in page
    assert 'data-testid="rulebook-optim-id-plus"' in page
    assert "第12条第3項" in page  # Biz R16
    assert "第14条第2項" in page  # ID+ R14
    assert "months_after_end" in page
    assert "全文ではありません" in page  # the ID+ text is an excerpt


def test_rulebook_page_needs_a_staff_sign_in(client) -> None:
    response = client.get(reverse("console:rulebook"))
    assert response.status_code in (302, 403)


def test_contract_detail_r17_cap_only_on_biz_with_the_intent_note(client, world, viewer) -> None:
    client.force_login(viewer)
    biz_page = client.get(reverse("console:contract-detail", args=[world.contract.pk]))
    assert "故意又は重大な過失による損害には適用されません" in biz_page.content.decode()
    idplus = make_contract(tenant=TenantFactory(), product=idplus_product())
    with clock.frozen_at(date(2024, 6, 1)):
        page = client.get(reverse("console:contract-detail", args=[idplus.pk])).content.decode()
    assert "終了日にアカウント削除（利用規約第9条第1項、第9条第2項）。" in page
    assert "それ以外のデータの削除時期は、入手できる規約本文には記載がありません" in page
    # Said once, in the deletion row: never in another rule's row (the liability cap's).
    assert page.count("それ以外のデータの削除時期") == 1
    cap = page[page.index('data-testid="liability-cap"') :]
    assert "それ以外のデータ" not in cap[: cap.index("</dd>")]
    assert "定めなし" not in page  # the ID+ text is an excerpt: silence there proves nothing
    assert "原則として日割りなし（利用規約第7条第3項）" in page
    assert "第13条" not in page


def _reason_options(page: str) -> list[str]:
    start = page.index('name="reason"')
    select = page[start : page.index("</select>", start)]
    values = [chunk.split('"', 1)[0] for chunk in select.split('<option value="')[1:]]
    assert values[0] == ""  # the blank prompt comes first: no ground is chosen for staff
    return values[1:]


def test_termination_form_r14_idplus_offers_only_14_2_and_no_biz_wording(client, publisher) -> None:
    client.force_login(publisher)
    idplus = make_contract(tenant=TenantFactory(), product=idplus_product())
    with clock.frozen_at(date(2024, 6, 1)):
        page = client.get(reverse("console:contract-detail", args=[idplus.pk])).content.decode()
    assert _reason_options(page) == ["listed_grounds", "customer_request"]  # no discontinuation
    assert (
        "第14条第2項：利用規約に定める解約事由に該当したとき（該当した事由をメモ欄に具体的に記入）"
        in page
    )
    assert "contract.termination_reason" not in page
    for biz_words in ("利用料金を支払わないとき", "管理端末", "第13条", "催告"):
        assert biz_words not in page, biz_words
    # R19: ID+ 20 for the written consent, not Biz 14.
    assert "承諾書の文書番号など（利用規約第20条）" in page
    assert "利用規約14条" not in page


def test_termination_form_r14_biz_offers_its_grounds_and_the_7_2_discontinuation(
    client, world, publisher
) -> None:
    client.force_login(publisher)
    page = client.get(reverse("console:contract-detail", args=[world.contract.pk])).content.decode()
    assert _reason_options(page)[:5] == [
        "non_payment",
        "terms_violation",
        "status_lost",
        "antisocial_forces",
        "owner_antisocial_forces",
    ]
    assert "listed_grounds" not in _reason_options(page)
    # R14/R12: the discontinuation its rulebook lists (Biz 7.2), with its settlement.
    assert "service_discontinued" in _reason_options(page)
    # 7.2 stops the product for everyone: staff are told before choosing it for one customer.
    assert "製品全体の提供を中止する場合に限る" in page
    assert "第7条第2項：本製品・サービス提供の中止" in page
    assert "第13条第1項第1号：お客様が利用料金を支払わないとき" in page
    # Biz 13.1 terminates without prior demand; 7.2 (discontinuation) is not one of its items.
    assert "利用規約第13条第1項の各号による解約は、事前の催告を要しません。" in page
    assert "催告は不要ですが" not in page
    assert "承諾書の文書番号など（利用規約第14条）" in page


def test_r14_console_contract_shows_the_scheduled_reason_as_a_label_not_a_code(
    client, publisher
) -> None:
    client.force_login(publisher)
    idplus = make_contract(tenant=TenantFactory(), product=idplus_product())
    MembershipFactory(tenant=idplus.tenant, role=Role.ADMIN)
    url = reverse("console:contract-terminate", args=[idplus.pk])
    with clock.frozen_at(date(2024, 6, 1)):
        refused = client.post(url, {"reason": "listed_grounds", "end_date": "2024-06-30"})
        assert "お客様が該当した事由を具体的に記入してください" in refused.content.decode()
        client.post(
            url,
            {
                "reason": "listed_grounds",
                "end_date": "2024-06-30",
                "note": "利用料金の未払い",
                "confirm": "1",
            },
        )
        page = client.get(reverse("console:contract-detail", args=[idplus.pk])).content.decode()
    assert "(利用規約に定める解約事由に該当したとき)" in page
    assert "(listed_grounds)" not in page
