from __future__ import annotations

import pytest

from agreements.text.diff.texts import doctext_from_parsed
from agreements.text.parser import (
    ParsedTerms,
    ParseError,
    artefact_lines,
    find_artefacts,
    join_wrapped,
    parse_terms,
    render_plain,
    strip_ws,
)

pytestmark = pytest.mark.unit

BIZ_TITLES = [
    "本規約について",
    "本規約の変更",
    "設備等の準備および維持",
    "利用許諾条件及び利用上の注意事項",
    "利用期間",
    "禁止事項",
    "非保証・免責",
    "お客様のデータ等による損害",
    "知的財産権の帰属",
    "保存情報・個人情報の保護",
    "秘密保持義務",
    "損害賠償額の制限",
    "当社からの契約の解約",
    "お客様の権利義務の譲渡禁止",
    "条項の分離独立",
    "準拠法",
    "協議",
    "専属的合意管轄裁判所",
    "各サービスの個別規定",
]
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@pytest.fixture(scope="module")
def biz(biz_terms_text: str) -> ParsedTerms:
    return parse_terms(biz_terms_text)


def _without_lines(text: str, dropped: list[int]) -> str:
    return "\n".join(
        line for number, line in enumerate(text.splitlines(), start=1) if number not in dropped
    )


# --- seed 000 --------------------------------------------------------------------------


def test_parse_terms_seed_000_finds_19_articles_with_their_headings(biz: ParsedTerms) -> None:
    assert [a.number for a in biz.articles] == list(range(1, 20))
    assert [a.title for a in biz.articles] == BIZ_TITLES
    expected = [f"第{str(n).translate(FULL_WIDTH)}条（{t}）" for n, t in enumerate(BIZ_TITLES, 1)]
    expected[6] = "第７条 （非保証・免責）"  # the PDF has a space before this title
    assert [a.heading for a in biz.articles] == expected


def test_parse_terms_seed_000_counts_paragraphs_and_items(biz: ParsedTerms) -> None:
    paragraphs = [len(a.paragraphs) for a in biz.articles]
    items = [sum(len(p.items) for p in a.paragraphs) for a in biz.articles]
    assert paragraphs == [2, 4, 2, 8, 5, 1, 8, 3, 2, 3, 4, 5, 3, 1, 1, 1, 1, 1, 2]
    assert items == [0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 4, 0, 5, 0, 0, 0, 0, 0, 0]
    assert (sum(paragraphs), sum(items)) == (57, 17)


def test_parse_terms_seed_000_title_trailer_and_last_revised(biz: ParsedTerms) -> None:
    assert biz.title == "Optimal Biz 利用規約"
    assert biz.preamble == ""
    assert biz.trailer.splitlines()[0] == "以上"
    assert strip_ws(biz.trailer) == "以上最終改定：2024年11月22日"
    assert biz.last_revised == "2024-11-22"


def test_parse_terms_seed_000_leading_space_heading_and_line_numbers(biz: ParsedTerms) -> None:
    article_16 = biz.articles[15]
    assert (article_16.heading, article_16.line) == ("第１６条（準拠法）", 481)
    assert [(a.number, a.line) for a in biz.articles[:2]] == [(1, 3), (2, 21)]
    assert [p.line for p in biz.articles[3].paragraphs[:2]] == [64, 72]


def test_parse_terms_seed_000_artefacts_are_the_page_break_in_article_11(
    biz_terms_text: str, biz: ParsedTerms
) -> None:
    artefacts = find_artefacts(biz_terms_text)
    assert [(a.line, a.reason) for a in artefacts] == [
        (337, "url"),
        (338, "url"),
        (341, "page_number"),
    ]
    assert [a.text for a in artefacts] == [
        "https://www.optim.co.jp/privacy",
        "https://www.optim.co.jp/privacy-policy/",
        "6",
    ]
    items = biz.articles[10].paragraphs[0].items
    assert items[1].line < 337  # the artefacts sit between （2） and （3）
    assert items[2].line > 341
    assert "https" not in items[1].text + items[2].text


def test_parse_terms_seed_000_keeps_every_character(biz_terms_text: str, biz: ParsedTerms) -> None:
    source = _without_lines(biz_terms_text, artefact_lines(biz_terms_text))
    assert strip_ws(render_plain(biz)) == strip_ws(source)


def test_parse_terms_seed_000_keeps_the_line_that_starts_with_a_url(biz: ParsedTerms) -> None:
    text = biz.articles[9].paragraphs[1].text
    assert text.endswith("https://www.optim.co.jp/privacy-policy/ ）をご確認ください。")
    assert "（ https://www.optim.co.jp/privacy およびhttps://" in text


def test_parse_terms_seed_000_joins_wrapped_lines(biz: ParsedTerms) -> None:
    first = biz.articles[0].paragraphs[0].text
    assert first.startswith(
        "本規約は、株式会社オプティム（以下「当社」といいます）の「Optimal Biz」"
    )
    assert "\n" not in first
    assert "Microsoft Corporation 等" in biz.articles[6].paragraphs[7].text
    assert "シリアルキー等については" in biz.articles[3].paragraphs[3].text


def test_parse_terms_seed_000_paren_continuation_is_not_an_item(biz: ParsedTerms) -> None:
    article_4 = biz.articles[3]
    assert article_4.paragraphs[0].text.endswith("（以下「利用契約」といいます）が成立します。")
    assert "（機器の種別、アプリケーション" in article_4.paragraphs[2].text
    assert all(not p.items for p in article_4.paragraphs)
    assert not biz.articles[10].paragraphs[2].items


def test_parse_terms_seed_000_items_keep_their_labels(biz: ParsedTerms) -> None:
    article_6 = biz.articles[5].paragraphs[0]
    assert (article_6.number, article_6.label) == (None, "")
    assert article_6.text.startswith("お客様は、本製品の利用にあたり")
    assert [i.label for i in article_6.items] == [f"({n})" for n in range(1, 9)]
    article_11 = biz.articles[10].paragraphs[0]
    assert [i.label for i in article_11.items] == [f"（{n}）" for n in range(1, 5)]
    assert article_11.text.endswith("ただし、以下の場合はこの限りではありません。")
    assert article_11.items[2].text.startswith("第三者から秘密保持義務")
    assert [i.number for i in biz.articles[12].paragraphs[0].items] == [1, 2, 3, 4, 5]


def test_parse_terms_seed_000_first_instance_court_line_is_not_a_heading(
    biz: ParsedTerms,
) -> None:
    assert "第一審の専属的合意管轄裁判所" in biz.articles[17].paragraphs[0].text


def test_parse_terms_seed_000_keeps_the_texts_own_spellings(biz: ParsedTerms) -> None:
    assert "個別規程" in biz.articles[0].paragraphs[1].text
    assert "個別規定" in biz.articles[18].paragraphs[0].text


def test_render_plain_seed_000_parses_back_to_the_same_text(biz: ParsedTerms) -> None:
    again = parse_terms(render_plain(biz))
    assert doctext_from_parsed(again) == doctext_from_parsed(biz)
    assert (again.title, again.trailer, again.last_revised) == (
        biz.title,
        biz.trailer,
        biz.last_revised,
    )


# --- synthetic documents ---------------------------------------------------------------


def test_parse_terms_ascii_digits_and_leading_space_heading() -> None:
    parsed = parse_terms(
        "規約\n 第1条 (目的)\n本規約は目的を定めます。\n第2条（定義）\n1. 定義。\n"
    )
    assert [(a.number, a.heading, a.title) for a in parsed.articles] == [
        (1, "第1条 (目的)", "目的"),
        (2, "第2条（定義）", "定義"),
    ]
    assert parsed.articles[0].paragraphs[0].text == "本規約は目的を定めます。"


def test_parse_terms_reference_to_an_article_is_not_a_heading() -> None:
    parsed = parse_terms("第１条（A）\n1. 次の\n第１条（A）に定める場合。\n")
    assert parsed.articles[0].paragraphs[0].text == "次の第１条（A）に定める場合。"


def test_parse_terms_out_of_sequence_paren_line_continues_the_item() -> None:
    parsed = parse_terms("第１条（A）\n1. 次の各号\n（1） 一\n（3） 続き\n（2） 二\n")
    items = parsed.articles[0].paragraphs[0].items
    assert [(i.label, i.text) for i in items] == [("（1）", "一（3） 続き"), ("（2）", "二")]


def test_parse_terms_paragraph_label_needs_a_non_digit_after_the_dot() -> None:
    parsed = parse_terms("第１条（A）\n1. 料金は\n1.5倍とする。\n")
    assert [p.text for p in parsed.articles[0].paragraphs] == ["料金は1.5倍とする。"]


def test_parse_terms_drops_only_urls_already_cited() -> None:
    text = "第１条（A）\n1. https://a.example/x を参照。\nhttps://a.example/x\n12\nhttps://b.example/\n"
    assert [(a.line, a.reason) for a in find_artefacts(text)] == [(3, "url"), (4, "page_number")]
    assert parse_terms(text).articles[0].paragraphs[0].text.endswith("参照。https://b.example/")


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        pytest.param("", 1, "empty", id="empty"),
        pytest.param(" \n\n  \n", 1, "empty", id="whitespace-only"),
        pytest.param("題名\n本文。\n", 1, "no article headings", id="no-headings"),
        pytest.param("T\n第１条（A）\n1. a\n第３条（C）\n", 4, "gap", id="article-gap"),
        pytest.param("T\n第１条（A）\n1. a\n第１条（B）\n", 4, "duplicate", id="article-dup"),
        pytest.param("T\n第２条（B）\n1. a\n", 2, "gap", id="article-not-from-1"),
        pytest.param("第１条（A）\n1. a\n3. c\n", 3, "gap", id="paragraph-gap"),
        pytest.param("第１条（A）\n1. a\n2. b\n2. c\n", 4, "duplicate", id="paragraph-dup"),
        pytest.param("第１条（A）\n\n2. b\n", 3, "gap", id="paragraph-not-from-1"),
    ],
)
def test_parse_terms_parse_error_has_line(text: str, line: int, fragment: str) -> None:
    with pytest.raises(ParseError) as excinfo:
        parse_terms(text)
    assert excinfo.value.line == line
    assert fragment in excinfo.value.message
    assert str(excinfo.value).startswith(f"line {line}: ")


@pytest.mark.parametrize(
    ("lines", "joined"),
    [
        (["利用規約に ", " 同意します。"], "利用規約に同意します。"),
        (["「Optimal ", "Biz」"], "「Optimal Biz」"),
        (["Apple, Inc,", "Google"], "Apple, Inc, Google"),
        (["ID・パスワード・シリア", "ルキー"], "ID・パスワード・シリアルキー"),
        (["", "  ", "本文"], "本文"),
    ],
)
def test_join_wrapped_adds_a_space_only_between_latin_words(lines: list[str], joined: str) -> None:
    assert join_wrapped(lines) == joined
