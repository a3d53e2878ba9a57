from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from difflib import SequenceMatcher

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agreements.text.diff.articles import changed_only, diff_documents
from agreements.text.diff.chars import apply_segments, char_diff, segments_html, split_segments
from agreements.text.diff.texts import (
    ArticleText,
    DocText,
    DocumentDiff,
    ParagraphText,
    doctext_from_parsed,
    paragraph_key,
    paragraph_sort_key,
)
from agreements.text.parser import parse_terms

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def biz(biz_terms_text: str) -> DocText:
    return doctext_from_parsed(parse_terms(biz_terms_text))


def _edit_article(doc: DocText, index: int, edit: Callable[[ArticleText], ArticleText]) -> DocText:
    articles = list(doc.articles)
    articles[index] = edit(articles[index])
    return replace(doc, articles=articles)


def _edit_paragraph(doc: DocText, index: int, para: int, text: str) -> DocText:
    def edit(article: ArticleText) -> ArticleText:
        paragraphs = list(article.paragraphs)
        paragraphs[para] = replace(paragraphs[para], text=text)
        return replace(article, paragraphs=paragraphs)

    return _edit_article(doc, index, edit)


def _renumbered(article: ArticleText, number: int) -> ArticleText:
    return replace(article, number=number, heading=f"第{number}条（{article.title}）")


def _kinds(diff: DocumentDiff) -> list[tuple[str, int | None, int | None]]:
    return [(a.kind, a.before_number, a.after_number) for a in diff.articles]


# --- documents -------------------------------------------------------------------------


def test_diff_documents_seed_000_against_itself_is_unchanged(biz: DocText) -> None:
    diff = diff_documents(biz, biz)
    assert {a.kind for a in diff.articles} == {"unchanged"}
    assert {p.kind for a in diff.articles for p in a.paragraphs} == {"unchanged"}
    assert len(diff.articles) == 19
    assert not diff.has_changes
    assert changed_only(diff).articles == []


def test_diff_documents_one_word_changed_marks_one_paragraph(biz: DocText) -> None:
    old = biz.articles[6].paragraphs[7].text
    after = _edit_paragraph(biz, 6, 7, old.replace("使用および使用不能", "利用および利用不能"))
    diff = changed_only(diff_documents(biz, after))
    assert _kinds(diff) == [("changed", 7, 7)]
    [paragraph] = diff.articles[0].paragraphs
    assert (paragraph.kind, paragraph.before_label, paragraph.after_label) == (
        "changed",
        "8.",
        "8.",
    )
    assert [s for s in paragraph.before_segments if s[0] != "equal"] == [
        ("delete", "使"),
        ("delete", "使"),
    ]
    assert [s for s in paragraph.after_segments if s[0] != "equal"] == [
        ("insert", "利"),
        ("insert", "利"),
    ]


def test_diff_documents_inserted_paragraph_is_added_and_the_rest_renumbered(
    biz: DocText,
) -> None:
    def insert(article: ArticleText) -> ArticleText:
        old = list(article.paragraphs)
        new = ParagraphText("2", "2.", "当社は、変更の理由を掲示します。")
        shifted = [replace(p, key=str(n), label=f"{n}.") for n, p in enumerate(old[1:], start=3)]
        return replace(article, paragraphs=[old[0], new, *shifted])

    diff = diff_documents(biz, _edit_article(biz, 1, insert))
    article = changed_only(diff).articles[0]
    assert [(p.kind, p.before_label, p.after_label) for p in article.paragraphs] == [
        ("added", None, "2."),
        ("changed", "2.", "3."),
        ("changed", "3.", "4."),
        ("changed", "4.", "5."),
    ]
    # The shifted paragraphs changed only their number: no marks inside the text.
    assert {op for p in article.paragraphs[1:] for op, _ in p.after_segments} == {"equal"}


def test_diff_documents_removed_paragraph(biz: DocText) -> None:
    def remove(article: ArticleText) -> ArticleText:
        return replace(article, paragraphs=list(article.paragraphs[:-1]))

    diff = changed_only(diff_documents(biz, _edit_article(biz, 4, remove)))
    [paragraph] = diff.articles[0].paragraphs
    assert (paragraph.kind, paragraph.before_label, paragraph.after_label) == (
        "removed",
        "5.",
        None,
    )
    assert paragraph.before_segments == [("delete", biz.articles[4].paragraphs[4].text)]


def test_diff_documents_rewritten_paragraph_keeps_its_number(biz: DocText) -> None:
    after = _edit_paragraph(
        biz, 4, 1, "本製品の利用契約は、お客様が更新しない旨を申し出ない限り更新されます。"
    )
    [paragraph] = changed_only(diff_documents(biz, after)).articles[0].paragraphs
    assert (paragraph.kind, paragraph.before_key, paragraph.after_key) == ("changed", "2", "2")


def test_diff_documents_inserted_article_renumbers_the_rest(biz: DocText) -> None:
    new = ArticleText(
        3, "第3条（定義）", "定義", [ParagraphText("", "", "本規約の用語の定義です。")]
    )
    articles = [*biz.articles[:2], new, *(_renumbered(a, a.number + 1) for a in biz.articles[2:])]
    diff = diff_documents(biz, replace(biz, articles=articles))
    kinds = _kinds(diff)
    assert kinds[:4] == [
        ("unchanged", 1, 1),
        ("unchanged", 2, 2),
        ("added", None, 3),
        ("renumbered", 3, 4),
    ]
    assert kinds[-1] == ("renumbered", 19, 20)
    assert diff.articles[3].is_renumbered
    assert diff.articles[2].paragraphs[0].kind == "added"


def test_diff_documents_removed_article(biz: DocText) -> None:
    articles = [*biz.articles[:14], *(_renumbered(a, a.number - 1) for a in biz.articles[15:])]
    diff = diff_documents(biz, replace(biz, articles=articles))
    assert _kinds(changed_only(diff))[:2] == [("removed", 15, None), ("renumbered", 16, 15)]
    assert {p.kind for p in diff.articles[14].paragraphs} == {"removed"}


def test_diff_documents_swapped_articles_are_moved(biz: DocText) -> None:
    a16, a17 = biz.articles[15], biz.articles[16]
    articles = [*biz.articles[:15], _renumbered(a17, 16), _renumbered(a16, 17), *biz.articles[17:]]
    diff = changed_only(diff_documents(biz, replace(biz, articles=articles)))
    # A swap keeps one of the two in order; the other is the one that moved.
    assert _kinds(diff) == [("moved", 17, 16), ("renumbered", 16, 17)]


def test_diff_documents_changed_title(biz: DocText) -> None:
    after = _edit_article(
        biz, 16, lambda a: replace(a, title="協議事項", heading="第１７条（協議事項）")
    )
    [article] = changed_only(diff_documents(biz, after)).articles
    assert (article.kind, article.title_changed, article.paragraphs) == ("changed", True, [])
    assert (article.before_heading, article.after_heading) == (
        "第１７条（協議）",
        "第１７条（協議事項）",
    )


def test_diff_documents_whitespace_only_change_is_unchanged(biz: DocText) -> None:
    text = biz.articles[10].paragraphs[0].text
    after = _edit_paragraph(biz, 10, 0, text.replace("技術上、 販売上", "技術上、販売上"))
    assert not diff_documents(biz, after).has_changes


def test_diff_documents_excerpts_match_by_number_without_titles() -> None:
    before = DocText(
        [ArticleText(5, "第5条", "", [ParagraphText("4", "4.", "使用契約は終了します。")])]
    )
    after = DocText(
        [
            ArticleText(
                5,
                "第5条",
                "",
                [
                    ParagraphText("4", "4.", "利用契約は、以下のいずれかにより終了します。"),
                    ParagraphText("5", "5.", "前項の申し込みは1か月以上前に行います。"),
                ],
            )
        ]
    )
    [article] = diff_documents(before, after).articles
    assert article.kind == "changed"
    assert [(p.kind, p.key) for p in article.paragraphs] == [("changed", "4"), ("added", "5")]


def test_r8_whole_text_after_an_excerpt_does_not_call_the_articles_it_lacks_new() -> None:
    """A draft of the whole ID+ terms compared with the notice's excerpt in force: article 5
    is compared, articles 1 and 9 (not in the excerpt) are neither 新設 nor unchanged but
    listed as outside the excerpt."""
    before = DocText(
        [ArticleText(5, "第5条", "", [ParagraphText("4", "4.", "使用契約は終了します。")])],
        is_excerpt=True,
    )
    after = DocText(
        [
            ArticleText(1, "第1条（適用）", "適用", [ParagraphText("1", "1.", "本規約は…")]),
            ArticleText(
                5, "第5条（期間）", "期間", [ParagraphText("4", "4.", "利用契約は終了します。")]
            ),
            ArticleText(9, "第9条（解約）", "解約", [ParagraphText("1", "1.", "解約は…")]),
        ]
    )
    diff = diff_documents(before, after)
    assert [(a.kind, a.after_number) for a in diff.articles] == [("changed", 5)]
    assert diff.outside_excerpt == (1, 9)
    # Article 5's title (期間), which the excerpt does not give, is not a change either.
    assert not diff.articles[0].title_changed
    assert changed_only(diff).outside_excerpt == (1, 9)
    # Between two whole texts an article the former lacks is 新設, as before.
    whole_before = replace(before, is_excerpt=False)
    assert "added" in [a.kind for a in diff_documents(whole_before, after).articles]


def test_r8_paragraphs_an_excerpt_does_not_quote_are_not_new() -> None:
    """The excerpt quotes 5.4 only; the whole text's 5.1 is unknown before, not 新設."""
    before = DocText(
        [ArticleText(5, "第5条", "", [ParagraphText("4", "4.", "使用契約は終了します。")])],
        is_excerpt=True,
    )
    after = DocText(
        [
            ArticleText(
                5,
                "第5条（期間）",
                "期間",
                [
                    ParagraphText("1", "1.", "利用期間は1年とします。"),
                    ParagraphText("4", "4.", "利用契約は終了します。"),
                ],
            )
        ]
    )
    diff = diff_documents(before, after)
    [article] = diff.articles
    assert [(p.kind, p.key) for p in article.paragraphs] == [("changed", "4")]
    assert diff.outside_paragraphs == ((5, "1"),)


def test_diff_documents_ten_edited_articles_timing(
    biz: DocText, capsys: pytest.CaptureFixture[str]
) -> None:
    """Prints the figure (no timed assertion: machines differ)."""
    after = biz
    for index in range(0, 19, 2)[:10]:
        text = biz.articles[index].paragraphs[0].text
        after = _edit_paragraph(
            after, index, 0, text.replace("本製品", "本サービス", 1)[:-1] + "（改定）。"
        )
    runs = []
    for _ in range(20):
        start = time.perf_counter()
        diff = diff_documents(biz, after)
        runs.append(time.perf_counter() - start)
    assert len(changed_only(diff).articles) == 10

    def whole(doc: DocText) -> str:
        return "\n".join(
            "\n".join([a.heading, *(f"{p.label} {p.text}" for p in a.paragraphs)])
            for a in doc.articles
        )

    start = time.perf_counter()
    SequenceMatcher(None, whole(biz), whole(after), autojunk=False).get_opcodes()
    plain = time.perf_counter() - start
    with capsys.disabled():
        print(
            f"\n[diff timing] seed 000 vs 10 edited articles: diff_documents median "
            f"{statistics.median(runs) * 1000:.2f} ms (20 runs); plain difflib over the "
            f"whole texts ({len(whole(biz))} chars): {plain * 1000:.1f} ms"
        )


# --- characters and HTML ---------------------------------------------------------------


def test_char_diff_folds_short_equalities_into_the_edit() -> None:
    before, after = (
        "申込時に定める利用期間の満了によって終了します。",
        "以下のいずれかにより終了します。",
    )
    # difflib alone keeps one-character islands ("の", "によ") between the edits.
    raw = SequenceMatcher(None, before, after, autojunk=False).get_opcodes()
    assert sum(1 for tag, *_ in raw if tag == "equal") == 3
    assert char_diff(before, after) == [
        ("delete", "申込時に定める利用期間の満了によって"),
        ("insert", "以下のいずれかにより"),
        ("equal", "終了します。"),
    ]


def test_char_diff_single_kanji_replacement() -> None:
    assert char_diff("本サービスを使用する", "本サービスを利用する") == [
        ("equal", "本サービスを"),
        ("delete", "使"),
        ("insert", "利"),
        ("equal", "用する"),
    ]


def test_segments_html_escapes_and_marks() -> None:
    segments = [("equal", "a<b"), ("delete", "&"), ("insert", '"<i>'), ("equal", "'")]
    assert segments_html(segments) == "a&lt;b<del>&amp;</del><ins>&quot;&lt;i&gt;</ins>&#x27;"


@pytest.mark.parametrize(
    ("label", "key"),
    [("4.", "4"), ("（1）", "(1)"), ("(3)", "(3)"), ("1.(1)", "1.(1)"), ("１．", "1"), ("", "")],
)
def test_paragraph_key_normalises_labels(label: str, key: str) -> None:
    assert paragraph_key(label) == key


def test_paragraph_sort_key_orders_body_items_and_paragraphs() -> None:
    keys = ["2", "1.(2)", "(1)", "10", "1", "", "1.(1)"]
    assert sorted(keys, key=paragraph_sort_key) == ["", "(1)", "1", "1.(1)", "1.(2)", "2", "10"]


# --- properties ------------------------------------------------------------------------

TEXT = st.text(alphabet="本サービスを使用利するうえで当社のお客様。、（）「」 ab<&", max_size=40)


@st.composite
def documents(draw: st.DrawFn) -> DocText:
    articles = []
    for number in range(1, draw(st.integers(0, 5)) + 1):
        paragraphs = [
            ParagraphText(str(n), f"{n}.", draw(TEXT))
            for n in range(1, draw(st.integers(0, 4)) + 1)
        ]
        title = draw(st.sampled_from(["", "定義", "変更", "禁止事項"]))
        articles.append(ArticleText(number, f"第{number}条（{title}）", title, paragraphs))
    return DocText(articles)


PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, database=None)


@PROPERTY_SETTINGS
@given(documents())
def test_diff_documents_against_itself_is_all_unchanged(doc: DocText) -> None:
    diff = diff_documents(doc, doc)
    assert [(a.kind, a.before_number, a.after_number) for a in diff.articles] == [
        ("unchanged", a.number, a.number) for a in doc.articles
    ]
    assert all(p.kind == "unchanged" for a in diff.articles for p in a.paragraphs)


@PROPERTY_SETTINGS
@given(TEXT, TEXT)
def test_char_diff_segments_rebuild_both_texts(before: str, after: str) -> None:
    before_segments, after_segments = split_segments(char_diff(before, after))
    assert apply_segments(before_segments) == before
    assert apply_segments(after_segments) == after
    assert {op for op, _ in before_segments} <= {"equal", "delete"}
    assert {op for op, _ in after_segments} <= {"equal", "insert"}


@PROPERTY_SETTINGS
@given(documents(), documents())
def test_diff_documents_accounts_for_every_paragraph_once(before: DocText, after: DocText) -> None:
    diff = diff_documents(before, after)

    def side(doc: DocText) -> list[tuple[int, str, str]]:
        return sorted((a.number, p.label, p.text) for a in doc.articles for p in a.paragraphs)

    seen_before = sorted(
        (a.before_number, p.before_label, p.before_text)
        for a in diff.articles
        for p in a.paragraphs
        if p.kind != "added"
    )
    seen_after = sorted(
        (a.after_number, p.after_label, p.after_text)
        for a in diff.articles
        for p in a.paragraphs
        if p.kind != "removed"
    )
    assert seen_before == side(before)
    assert seen_after == side(after)
    for article in diff.articles:
        for paragraph in article.paragraphs:
            assert apply_segments(paragraph.before_segments) == paragraph.before_text
            assert apply_segments(paragraph.after_segments) == paragraph.after_text
