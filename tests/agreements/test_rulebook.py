"""Each product's own rulebook (docs/rules.md): data, read from the product's terms."""

from __future__ import annotations

from pathlib import Path

import pytest

from agreements.rulebook import (
    EMPTY,
    article_en,
    article_ja,
    load_rulebook,
    rulebook_for,
    rulebooks,
)

pytestmark = pytest.mark.unit

BIZ, ID_PLUS = "optimal-biz", "optim-id-plus"


def test_rulebooks_r1_r19_one_file_per_product():
    assert sorted(book.code for book in rulebooks()) == sorted([BIZ, ID_PLUS])


@pytest.mark.parametrize(
    ("code", "rule", "article"),
    [
        (BIZ, "R12", "7.2"),
        (BIZ, "R14", "13.1"),
        (BIZ, "R15", "10.3"),
        (BIZ, "R16", "12.3"),
        (BIZ, "R17", "12.4"),
        (ID_PLUS, "R11", "5.5"),
        (ID_PLUS, "R12", "7.3"),
        (ID_PLUS, "R13", "9.1, 9.2"),
        (ID_PLUS, "R14", "14.2"),
        (ID_PLUS, "R18", "3.2"),
    ],
)
def test_rulebook_r12_r18_articles_per_product(code, rule, article):
    entry = rulebook_for(code).entry(rule)
    assert (entry.contained, entry.article) == (True, article)


@pytest.mark.parametrize("rule", ["R2", "R3", "R4", "R6", "R15", "R16", "R17"])
def test_rulebook_r3_r15_r16_r17_idplus_cites_nothing_the_notice_does_not_show(rule):
    entry = rulebook_for(ID_PLUS).entry(rule)
    assert (entry.contained, entry.article_ja, entry.article_en) == (False, "", "")


def test_rulebook_r15_r16_r17_parameters_biz_only():
    biz, idplus = rulebook_for(BIZ), rulebook_for(ID_PLUS)
    assert (biz.deletion_timetable, biz.claims_window_months, biz.has_liability_cap) == (
        (1, 12),
        3,
        True,
    )
    assert (idplus.deletion_timetable, idplus.claims_window_months, idplus.has_liability_cap) == (
        None,
        None,
        False,
    )


def test_rulebook_r11_r12_renewal_proration_settlement():
    biz, idplus = rulebook_for(BIZ), rulebook_for(ID_PLUS)
    assert (biz.auto_renewal, biz.notice_months, biz.no_proration) == (False, None, False)
    assert biz.settlement_reasons == {"terms_rejected", "service_discontinued"}
    assert (idplus.auto_renewal, idplus.notice_months, idplus.no_proration) == (True, 1, True)
    assert idplus.settlement_reasons == frozenset()
    assert (biz.accounts_removed_on_end, idplus.accounts_removed_on_end) == (False, True)


@pytest.mark.parametrize(
    ("reason", "biz", "idplus"),
    [
        ("non_payment", "第13条第1項第1号", ""),
        ("terms_violation", "第13条第1項第2号", ""),
        ("status_lost", "第13条第1項第3号", ""),
        ("antisocial_forces", "第13条第1項第4号", ""),
        ("owner_antisocial_forces", "第13条第1項第5号", ""),
        ("listed_grounds", "", "第14条第2項"),
        ("terms_rejected", "第2条第4項", ""),
        ("service_discontinued", "第7条第2項", ""),
        ("succession", "第14条", "第20条"),
        ("customer_request", "", ""),
    ],
)
def test_rulebook_r14_reason_articles_per_product(reason, biz, idplus):
    assert rulebook_for(BIZ).reason_article_ja(reason) == biz
    assert rulebook_for(ID_PLUS).reason_article_ja(reason) == idplus


def test_rulebook_r14_biz_grounds_are_the_articles_own_words():
    grounds = {code: entry.grounds for code, entry in rulebook_for(BIZ).reasons.items()}
    assert grounds["non_payment"] == "お客様が利用料金を支払わないとき"
    assert grounds["status_lost"] == "お客様としての地位が失われたとき、又は不明となったとき"
    # 13.1(4) and (5) in full, as the terms word them (no abridged grounds).
    assert grounds["antisocial_forces"] == (
        "お客様が反社会的勢力（暴力団・暴力団員及びこれらのものでなくなった時から５年を経過しない者、"
        "暴力団準構成員等）であることが判明したとき"
    )
    assert grounds["owner_antisocial_forces"] == (
        "お客様が管理端末の所有者でない場合において、当該端末の所有者が前号の反社会的勢力に該当し、"
        "お客様が直ちに当該端末の所有者との関係を解消しないとき"
    )
    assert "信用不安" not in "".join(grounds.values())
    assert "役員" not in "".join(grounds.values())
    assert all(
        not entry.grounds
        for code, entry in rulebook_for(ID_PLUS).reasons.items()
        if code != "succession"
    )


@pytest.mark.parametrize(
    ("article", "ja", "en"),
    [
        ("12.3", "第12条第3項", "Article 12(3)"),
        ("13.1(5)", "第13条第1項第5号", "Article 13(1)(v)"),
        ("14", "第14条", "Article 14"),
        ("9.1, 9.2", "第9条第1項、第9条第2項", "Articles 9(1), 9(2)"),
        (None, "", ""),
    ],
)
def test_article_formats_ja_en(article, ja, en):
    assert (article_ja(article), article_en(article)) == (ja, en)


def test_rulebook_unknown_product_cites_and_applies_nothing():
    book = rulebook_for("no-such-product")
    assert book is EMPTY
    assert (book.deletion_timetable, book.claims_window_months, book.has_liability_cap) == (
        None,
        None,
        False,
    )
    assert all(not entry.contained for entry in book.entries())


def test_rulebook_third_product_is_data(tmp_path: Path):
    path = tmp_path / "third.toml"
    path.write_text(
        'code = "third"\nname = "Third"\n'
        '[rules.R16]\ncontained = true\narticle = "20.1"\n[rules.R16.params]\nmonths_after_end = 6\n',
        encoding="utf-8",
    )
    book = load_rulebook(path)
    assert (book.claims_window_months, book.entry("R16").article_ja) == (6, "第20条第1項")
    assert book.deletion_timetable is None


@pytest.mark.parametrize(
    "body",
    [
        "[rules.R16]\ncontained = true\n",  # contained but uncited
        '[rules.R16]\ncontained = false\narticle = "12.3"\n',  # cites a rule it lacks
        "[rules.R20]\ncontained = false\n",  # no such rule
        '[rules.R16]\ncontained = true\narticle = "twelve"\n',  # not an article
    ],
)
def test_rulebook_malformed_file_refused(tmp_path: Path, body: str):
    path = tmp_path / "bad.toml"
    path.write_text('code = "bad"\n' + body, encoding="utf-8")
    with pytest.raises(ValueError):  # noqa: PT011 -- several distinct messages
        load_rulebook(path)
