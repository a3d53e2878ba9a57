from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from agreements.text.diff.articles import diff_documents
from agreements.text.diff.texts import ArticleText, DocText, ParagraphText, doctext_from_parsed
from agreements.text.notice.excerpts import excerpt_pair, notice_categories
from agreements.text.notice.reading import NoticeRow, ParsedNotice, category_kind, parse_notice
from agreements.text.notice.table import render_notice_table
from agreements.text.parser import ParseError, parse_terms, strip_ws

pytestmark = pytest.mark.unit

# (category, article, paragraph label, 新設) for every paragraph the seed's table changes:
# 28 table rows, the merged 第5条 1–3 row split into three.
EXPECTED_ROWS = [
    (1, 5, "4.", False),
    (1, 5, "5.", True),
    (2, 1, "(3)", False),
    (2, 1, "(4)", False),
    (2, 1, "(6)", False),
    (2, 2, "1.", False),
    (2, 3, "1.", False),
    (2, 3, "2.", False),
    (2, 4, None, False),
    (2, 5, "1.", False),
    (2, 5, "2.", False),
    (2, 5, "3.", False),
    (2, 6, "1.", False),
    (2, 6, "3.", False),
    (2, 6, "4.", False),
    (2, 6, "5.", False),
    (2, 6, "6.", False),
    (2, 7, "3.", False),
    (2, 8, "1.", False),
    (2, 9, "1.", False),
    (2, 9, "2.", False),
    (2, 10, "3.", False),
    (2, 13, "(5)", False),
    (2, 13, "(6)", False),
    (2, 14, "2.", False),
    (2, 16, "1.", False),
    (2, 17, "2.", False),
    (2, 18, "1.(1)", False),
    (2, 18, "5.", False),
    (2, 20, None, False),
]


@pytest.fixture(scope="module")
def notice(idplus_notice_text: str) -> ParsedNotice:
    return parse_notice(idplus_notice_text)


def _row(notice: ParsedNotice, article: int, label: str | None) -> NoticeRow:
    [row] = [r for r in notice.rows if (r.article_number, r.paragraph_label) == (article, label)]
    return row


def _cell(label: str | None, text: str) -> str:
    return strip_ws((label or "") + text)


# --- seed 003 --------------------------------------------------------------------------


def test_parse_notice_seed_003_title_and_dates(notice: ParsedNotice) -> None:
    assert notice.title == "OPTiM ID+利用規約改定のお知らせ"
    assert notice.document_title == "OPTiM ID+サービス利用規約"
    assert notice.notice_date == date(2022, 4, 19)
    assert notice.effective_date == date(2022, 4, 27)


def test_parse_notice_seed_003_categories(notice: ParsedNotice) -> None:
    assert [(c.index, c.title, c.kind, c.line) for c in notice.categories] == [
        (1, "自動更新への対応", "substantive", 18),
        (2, "誤字、表記揺れの統一などの軽微な修正", "editorial", 26),
    ]


def test_parse_notice_seed_003_paragraph_rows(notice: ParsedNotice) -> None:
    assert len(notice.source_rows) == 28
    assert [
        (r.category_index, r.article_number, r.paragraph_label, r.is_new) for r in notice.rows
    ] == EXPECTED_ROWS


def test_parse_notice_seed_003_table_keeps_every_character(
    idplus_notice_text: str, notice: ParsedNotice
) -> None:
    lines = [line.strip() for line in idplus_notice_text.splitlines()]
    table: list[str] = []
    in_table = False
    for index, line in enumerate(lines):
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if line == "該当箇所 改定前 改定後":
            in_table = True
        elif following == "該当箇所 改定前 改定後" or not line:
            in_table = False  # category line, or the blank line that ends the table
        elif in_table:
            table.append(line)
    rebuilt = "".join(
        f"第{r.article_number}条" + ("新設" if r.is_new else "") + r.before + r.after
        for r in notice.source_rows
    )
    assert strip_ws(rebuilt) == strip_ws("".join(table))


def test_parse_notice_seed_003_split_rows_rebuild_their_source_row(notice: ParsedNotice) -> None:
    for source in notice.source_rows:
        rows = [r for r in notice.rows if r.line == source.line]
        before = "".join(_cell(r.paragraph_label, r.before) for r in rows if not r.is_new)
        assert before == strip_ws(source.before)
        assert strip_ws("".join(_cell(r.paragraph_label, r.after) for r in rows)) == strip_ws(
            source.after
        )


def test_parse_notice_seed_003_multiline_article_4_splits_between_the_blocks(
    notice: ParsedNotice,
) -> None:
    row = _row(notice, 4, None)
    assert (row.before.count("\n"), row.after.count("\n")) == (3, 3)
    assert row.before.endswith("本サービスを使用していただく必要があります。")
    assert row.after.endswith("本サービスを利用していただく必要があります。")
    assert row.after.startswith("本サービスは、本IDを用いて")


def test_parse_notice_seed_003_merged_article_5_row_splits_into_paragraphs(
    notice: ParsedNotice,
) -> None:
    rows = [r for r in notice.rows if r.article_number == 5 and r.category_index == 2]
    assert [(r.paragraph_label, r.line) for r in rows] == [("1.", 42), ("2.", 42), ("3.", 42)]
    assert rows[0].before.startswith("本サービスの使用を希望する場合は")
    assert rows[0].after.startswith("本サービスの利用を希望する場合は")
    assert rows[2].after.endswith("本サービスの利用契約が成立します。")


def test_parse_notice_seed_003_rewritten_and_new_paragraphs_of_article_5(
    notice: ParsedNotice,
) -> None:
    rewritten = _row(notice, 5, "4.")
    assert rewritten.before.endswith("利用期間の満了によって終了します。")
    assert rewritten.after.startswith("サービスの利用契約は、")
    assert "①申込時において自動更新を適用する旨がある場合" in rewritten.after
    new = _row(notice, 5, "5.")
    assert (new.is_new, new.before) == (True, "")
    assert new.after.startswith("前項の自動更新をしない旨の申し込みは")


def test_parse_notice_seed_003_space_inside_cells_is_not_the_delimiter(
    notice: ParsedNotice,
) -> None:
    row = _row(notice, 3, "1.")
    assert row.before.count("「OPTiM Cloud IoT OS」") == 4
    assert row.after.startswith("本サービスは当社の提供する「OPTiM Cloud IoT OS」の一部機能を利用")


def test_excerpt_pair_seed_003_diff_reproduces_the_table(notice: ParsedNotice) -> None:
    before, after = excerpt_pair(notice.rows)
    assert (before.is_excerpt, after.is_excerpt) == (True, True)
    diff = diff_documents(before, after)
    table = render_notice_table(diff, notice_categories(notice.rows))
    expected = [
        (
            f"第{r.article_number}条",
            r.paragraph_label,
            "新設" if r.is_new else _cell(r.paragraph_label, r.before),
            _cell(r.paragraph_label, r.after),
        )
        for r in notice.rows
    ]
    got = [
        (t.article_label, t.paragraph_label, strip_ws(t.before), strip_ws(t.after)) for t in table
    ]
    assert got == expected  # same rows, same order (by category), same text
    assert [t.category_index for t in table] == [r.category_index for r in notice.rows]
    kinds = {(t.article_number, t.paragraph_key): t.kind for t in table}
    assert kinds.pop((5, "5")) == "added"
    assert set(kinds.values()) == {"changed"}


def test_excerpt_pair_seed_003_marks_the_changed_characters(notice: ParsedNotice) -> None:
    before, after = excerpt_pair(notice.rows)
    table = render_notice_table(diff_documents(before, after))
    [row] = [t for t in table if (t.article_number, t.paragraph_key) == (1, "(3)")]
    assert row.before_html == (
        "(3)「本ID」とは、本サービスを<del>使</del>用するうえで当社から発行される固有の識別符号"
        "(お客様が法人である場合は従業員が<del>使</del>用するもの)をいいます。"
    )
    assert row.after_html.count("<ins>利</ins>") == 2
    [new] = [t for t in table if t.is_new]
    assert (new.article_label, new.before, new.before_html) == ("第5条", "新設", "新設")
    assert new.after_html.startswith("5.<ins>前項の自動更新")


# --- synthetic notices -----------------------------------------------------------------

NOTICE = """お知らせ
2023.01.10お知らせ
EXAMPLE利用規約改定のお知らせ
「EXAMPLEサービス利用規約」の一部を改定します。
■改定日:
2023年2月1日(水)
■改定内容
1. 料金の変更
該当箇所 改定前 改定後
{rows}

以上
"""


def test_parse_notice_cells_without_any_whitespace_split_at_the_repeated_label() -> None:
    notice = parse_notice(
        NOTICE.format(rows="第2条 1.月額料金は千円です。1.月額料金は二千円です。")
    )
    [row] = notice.rows
    assert (row.paragraph_label, row.before, row.after) == (
        "1.",
        "月額料金は千円です。",
        "月額料金は二千円です。",
    )
    assert (notice.notice_date, notice.effective_date) == (date(2023, 1, 10), date(2023, 2, 1))
    assert notice.categories[0].kind == "substantive"


def test_parse_notice_deleted_paragraph() -> None:
    notice = parse_notice(NOTICE.format(rows="第3条 2.旧い定めです。 削除"))
    [row] = notice.rows
    assert (row.paragraph_label, row.before, row.after, row.is_deleted) == (
        "2.",
        "旧い定めです。",
        "",
        True,
    )
    before, after = excerpt_pair(notice.rows)
    [table_row] = render_notice_table(diff_documents(before, after))
    assert (table_row.kind, table_row.before, table_row.after) == (
        "removed",
        "2.旧い定めです。",
        "削除",
    )


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        pytest.param("", 1, "empty", id="empty"),
        pytest.param("お知らせ\n■改定日:\n2023年2月1日\n", 1, "notice date", id="no-notice-date"),
        pytest.param("2023.01.10お知らせ\n本文\n", 1, "effective date", id="no-effective-date"),
        pytest.param(NOTICE.format(rows="")[: NOTICE.index("1. 料金")], 1, "table", id="no-table"),
        pytest.param(
            NOTICE.format(rows="第2条 1.あ\n2.い\n1.あ\n3.う"), 10, "different", id="cell-mismatch"
        ),
        pytest.param(
            NOTICE.format(rows="料金の表"), 10, "before the first", id="row-without-article"
        ),
    ],
)
def test_parse_notice_parse_error_has_line(text: str, line: int, fragment: str) -> None:
    with pytest.raises(ParseError) as excinfo:
        parse_notice(text)
    assert excinfo.value.line == line
    assert fragment in excinfo.value.message


@pytest.mark.parametrize(
    ("title", "kind"),
    [
        ("自動更新への対応", "substantive"),
        ("誤字、表記揺れの統一などの軽微な修正", "editorial"),
        ("料金体系の変更", "substantive"),
    ],
)
def test_category_kind(title: str, kind: str) -> None:
    assert category_kind(title) == kind


def test_excerpt_pair_rejects_a_paragraph_listed_twice() -> None:
    row = NoticeRow(1, 5, "4.", "a", "b", False, 1)
    with pytest.raises(ValueError, match="listed twice"):
        excerpt_pair([row, replace(row, category_index=2)])


# --- tables from full documents --------------------------------------------------------


def test_render_notice_table_seed_000_revision(biz_terms_text: str) -> None:
    biz = doctext_from_parsed(parse_terms(biz_terms_text))
    articles = list(biz.articles)
    article_2 = articles[1]
    articles[1] = replace(
        article_2,
        paragraphs=[
            *article_2.paragraphs,
            ParagraphText("5", "5.", "変更の効力発生日の7日前までに通知します。"),
        ],
    )
    article_17 = articles[16]
    articles[16] = replace(article_17, title="協議事項", heading="第１７条（協議事項）")
    articles[18] = replace(articles[18], paragraphs=list(articles[18].paragraphs[:1]))
    table = render_notice_table(diff_documents(biz, replace(biz, articles=articles)))
    assert [
        (t.kind, t.article_label, t.paragraph_label, t.before[:6], t.after[:6]) for t in table
    ] == [
        ("added", "第2条", "5.", "新設", "5.変更の効"),
        ("heading", "第17条", None, "第１７条（協", "第１７条（協"),
        ("removed", "第19条", "2.", "2.各サービ", "削除"),
    ]
    assert table[1].after_html == "第１７条（協議<ins>事項</ins>）"


def test_render_notice_table_new_article_and_renumbering() -> None:
    body = [ParagraphText("", "", "本文です。")]
    before = DocText(
        [
            ArticleText(1, "第1条（目的）", "目的", body),
            ArticleText(2, "第2条（定義）", "定義", body),
        ]
    )
    after = DocText(
        [
            ArticleText(1, "第1条（目的）", "目的", body),
            ArticleText(2, "第2条（適用）", "適用", [ParagraphText("", "", "全てに適用します。")]),
            ArticleText(3, "第3条（定義）", "定義", body),
        ]
    )
    table = render_notice_table(diff_documents(before, after))
    assert [
        (t.kind, t.article_label, t.before_article_label, t.before, t.after) for t in table
    ] == [
        # A new article: its heading opens the row of its first paragraph (as seed 003's
        # table has one row per paragraph), not a row of its own.
        ("added", "第2条", None, "新設", "第2条（適用）\n全てに適用します。"),
        ("heading", "第3条", "第2条", "第2条（定義）", "第3条（定義）"),
    ]
    assert table[0].after_html == "<ins>第2条（適用）\n全てに適用します。</ins>"
    assert (table[1].before_html, table[1].after_html) == (
        "第<del>2</del>条（定義）",
        "第<ins>3</ins>条（定義）",
    )
