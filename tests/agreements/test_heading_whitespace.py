"""A heading that differs only by whitespace (「第７条 （非保証・免責）」 → 「第７条（非保証・免責）」)
is not a change: not in the diff, not in the console's compare blocks, not in the notice."""

from __future__ import annotations

import pytest

from agreements.text import render_notice_table
from agreements.text.diff import ArticleText, DocText, ParagraphText, diff_documents
from web.console.presenters import compare_blocks

pytestmark = pytest.mark.unit

BODY = [ParagraphText("1", "1.", "当社は、本サービスに瑕疵がないことを保証しません。")]


def _doc(heading: str, body: list[ParagraphText] = BODY) -> DocText:
    return DocText([ArticleText(7, heading, "非保証・免責", body)])


def test_r8_whitespace_only_heading_is_unchanged() -> None:
    diff = diff_documents(_doc("第７条 （非保証・免責）"), _doc("第７条（非保証・免責）"))
    assert not diff.has_changes
    assert not diff.articles[0].heading_changed
    assert render_notice_table(diff) == []


def test_r8_compare_block_does_not_mark_a_spaced_heading_when_the_body_changed() -> None:
    changed = [ParagraphText("1", "1.", "当社は、本サービスの完全性を保証しません。")]
    diff = diff_documents(_doc("第７条 （非保証・免責）"), _doc("第７条（非保証・免責）", changed))
    [block] = compare_blocks(diff, full=False)
    assert block.kind == "changed"
    assert block.heading_changed is False
    heading_rows = [r for r in render_notice_table(diff) if r.kind == "heading"]
    assert heading_rows == []


def test_r8_a_real_heading_change_is_still_marked() -> None:
    diff = diff_documents(_doc("第７条（非保証・免責）"), _doc("第７条（免責）"))
    assert diff.articles[0].heading_changed
