"""Rebasing a draft on a newer version (agreements.text.merge): pure three-way merge."""

from __future__ import annotations

import pytest

from agreements.text.diff import ArticleText, DocText, ParagraphText
from agreements.text.merge import merge_docs

pytestmark = pytest.mark.unit


def _art(number: int, title: str, text: str, *, heading: str | None = None) -> ArticleText:
    return ArticleText(
        number, heading or f"第{number}条（{title}）", title, [ParagraphText("1", "1.", text)]
    )


BASE = DocText([_art(1, "目的", "元の文。"), _art(19, "個別規程", "個別規程に従う。")])


def test_r7_a_new_article_of_the_scheduled_version_survives_the_draft() -> None:
    scheduled = DocText([*BASE.articles, _art(20, "反社会的勢力の排除", "新しい条。")])
    draft = DocText([_art(1, "目的", "下書きで変えた文。"), BASE.articles[1]])
    result = merge_docs(base=BASE, mine=draft, theirs=scheduled)
    assert [a.number for a in result.doc.articles] == [1, 19, 20]
    assert result.doc.articles[0].paragraphs[0].text == "下書きで変えた文。"
    assert result.doc.articles[2].title == "反社会的勢力の排除"
    assert result.taken == [20]
    assert result.conflicts == []


def test_r7_an_article_the_scheduled_version_edited_is_taken_when_the_draft_left_it() -> None:
    scheduled = DocText([BASE.articles[0], _art(19, "個別規程", "個別規程が優先する。")])
    result = merge_docs(base=BASE, mine=BASE, theirs=scheduled)
    assert result.doc.articles[1].paragraphs[0].text == "個別規程が優先する。"
    assert result.taken == [19]


def test_r7_both_editing_one_article_keeps_the_draft_and_reports_it() -> None:
    scheduled = DocText([_art(1, "目的", "予定版の文。"), BASE.articles[1]])
    draft = DocText([_art(1, "目的", "下書きの文。"), BASE.articles[1]])
    result = merge_docs(base=BASE, mine=draft, theirs=scheduled)
    assert result.doc.articles[0].paragraphs[0].text == "下書きの文。"
    assert result.conflicts == [1]


def test_r7_both_adding_the_same_number_moves_the_drafts_article_to_the_end() -> None:
    scheduled = DocText([*BASE.articles, _art(20, "甲", "予定版の新条。")])
    draft = DocText([*BASE.articles, _art(20, "乙", "下書きの新条。")])
    result = merge_docs(base=BASE, mine=draft, theirs=scheduled)
    assert [(a.number, a.title) for a in result.doc.articles] == [
        (1, "目的"),
        (19, "個別規程"),
        (20, "甲"),
        (21, "乙"),
    ]
    assert result.doc.articles[3].heading == "第２１条（乙）"
    assert result.moved == [(20, 21)]


def test_r7_a_heading_differing_only_by_a_space_is_no_change() -> None:
    spaced = DocText([_art(1, "目的", "元の文。", heading="第1条 （目的）"), BASE.articles[1]])
    scheduled = DocText([_art(1, "目的", "予定版の文。"), BASE.articles[1]])
    result = merge_docs(base=BASE, mine=spaced, theirs=scheduled)
    assert result.doc.articles[0].paragraphs[0].text == "予定版の文。"
    assert result.conflicts == []


def test_r7_an_article_the_draft_deleted_stays_deleted() -> None:
    draft = DocText([BASE.articles[0]])
    result = merge_docs(base=BASE, mine=draft, theirs=BASE)
    assert [a.number for a in result.doc.articles] == [1]
