"""Revision notices (お知らせ): read one like seed 003, and build the table of a new one.

A notice's before/after table holds only the changed passages, so the versions built
from it (``excerpt_pair``) are excerpts. The table in the text has no delimiter between
the before and after cells (usually a space, sometimes only a line break, sometimes
nothing but the repeated label), and a row may hold several paragraphs; ``parse_notice``
splits it into one ``NoticeRow`` per paragraph.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from difflib import SequenceMatcher
from typing import Literal

from agreements.text.diff import (
    ArticleDiff,
    ArticleText,
    DocText,
    DocumentDiff,
    ParagraphDiff,
    ParagraphText,
    Segment,
    char_diff,
    paragraph_key,
    paragraph_sort_key,
    segments_html,
    split_segments,
)
from agreements.text.parser import ParseError, strip_ws

__all__ = [
    "DELETED_MARK",
    "NEW_MARK",
    "NoticeCategory",
    "NoticeRow",
    "NoticeSourceRow",
    "NoticeTableRow",
    "ParsedNotice",
    "category_kind",
    "excerpt_pair",
    "notice_categories",
    "parse_notice",
    "render_notice_table",
]

NEW_MARK = "新設"
DELETED_MARK = "削除"

CategoryKind = Literal["substantive", "editorial"]
RowKind = Literal["changed", "added", "removed", "heading"]


@dataclass(frozen=True)
class NoticeCategory:
    index: int  # as numbered in the notice: 1, 2, …
    title: str  # "自動更新への対応"
    kind: CategoryKind
    line: int


@dataclass(frozen=True)
class NoticeSourceRow:
    """A table row as written (may cover several paragraphs)."""

    category_index: int
    article_number: int
    before: str  # with labels, lines joined by "\n"; "" when 新設
    after: str
    is_new: bool
    line: int


@dataclass(frozen=True)
class NoticeRow:
    """One paragraph's change; ``before`` / ``after`` are the text without the label."""

    category_index: int
    article_number: int
    paragraph_label: str | None  # "4.", "(3)", "1.(1)", or None for an unnumbered body
    before: str  # "" when is_new
    after: str  # "" when is_deleted
    is_new: bool
    line: int
    is_deleted: bool = False

    @property
    def key(self) -> str:
        return paragraph_key(self.paragraph_label or "")


@dataclass(frozen=True)
class ParsedNotice:
    title: str  # "OPTiM ID+利用規約改定のお知らせ"
    document_title: str | None  # "OPTiM ID+サービス利用規約", from 「…」の一部を改定
    notice_date: date
    effective_date: date  # 改定日
    categories: list[NoticeCategory]
    source_rows: list[NoticeSourceRow]
    rows: list[NoticeRow]


@dataclass(frozen=True)
class NoticeTableRow:
    """One row of a generated notice table (R8): article, before (or 新設), after (or 削除)."""

    kind: RowKind
    article_number: int  # after the revision (before, for a removal)
    article_label: str  # "第5条"
    before_article_label: str | None  # differs from article_label when renumbered
    paragraph_key: str | None  # None on heading rows
    paragraph_label: str | None  # as shown, e.g. "4.", "1.(1)"; None when unnumbered/heading
    before: str  # label + text, or 新設
    after: str  # label + text, or 削除
    before_segments: list[Segment]
    after_segments: list[Segment]
    category_index: int | None = None

    @property
    def is_new(self) -> bool:
        return self.kind == "added"

    @property
    def is_deleted(self) -> bool:
        return self.kind == "removed"

    @property
    def before_html(self) -> str:
        return (
            segments_html(self.before_segments)
            if self.before_segments
            else html.escape(self.before)
        )

    @property
    def after_html(self) -> str:
        return (
            segments_html(self.after_segments) if self.after_segments else html.escape(self.after)
        )


# --- reading a notice ------------------------------------------------------------------

_DIGITS = "[0-9０-９]"
_LABEL = re.compile(
    rf"^(?:{_DIGITS}+[.．][（(]{_DIGITS}+[）)]|[（(]{_DIGITS}+[）)]|{_DIGITS}+[.．](?!{_DIGITS}))"
)
_TABLE_HEADER = re.compile(r"^該当箇所\s*改定前\s*改定後$")
_CATEGORY = re.compile(rf"^({_DIGITS}+)[.．]\s*(.+)$")
_ROW = re.compile(rf"^第\s*({_DIGITS}+)\s*条[ \u3000]+(.*)$")
_NOTICE_DATE = re.compile(rf"({_DIGITS}{{4}})[.．/]({_DIGITS}{{1,2}})[.．/]({_DIGITS}{{1,2}})")
_JA_DATE = re.compile(rf"({_DIGITS}{{4}})\s*年\s*({_DIGITS}{{1,2}})\s*月\s*({_DIGITS}{{1,2}})\s*日")
_EFFECTIVE = re.compile(r"改定日|施行日|効力発生日")
_TITLE = re.compile(r".+のお知らせ$")
_DOCUMENT_TITLE = re.compile(r"「([^「」]+)」の(?:一部|全部)?を?改定")
_EDITORIAL = re.compile(r"誤字|脱字|表記|軽微|体裁|文言の統一")


def _int(digits: str) -> int:
    return int(unicodedata.normalize("NFKC", digits))


def _date(match: re.Match[str]) -> date:
    return date(_int(match.group(1)), _int(match.group(2)), _int(match.group(3)))


def category_kind(title: str) -> CategoryKind:
    """Typo and notation fixes are editorial; anything else is a change of substance."""
    return "editorial" if _EDITORIAL.search(title) else "substantive"


def _label(text: str) -> str | None:
    match = _LABEL.match(text)
    return match.group(0) if match else None


def _similarity(a: str, b: str) -> float:
    return SequenceMatcher(None, strip_ws(a), strip_ws(b), autojunk=False).ratio()


def _split_cells(body: str, line: int) -> tuple[str, str]:
    """Split a row's text into its before and after cells.

    Both cells start with the same label (or none); among the whitespace positions where
    the after cell could start, the one giving the most similar pair wins, since an
    after cell is a revision of its before cell.
    """
    label = _label(body)
    best: tuple[float, str, str] | None = None
    for k, char in enumerate(body):
        if not char.isspace():
            continue
        before, after = body[:k].strip(), body[k + 1 :].strip()
        if not before or not after or _label(after) != label:
            continue
        score = _similarity(before, after)
        if best is None or score > best[0]:
            best = (score, before, after)
    if best is None and label is not None:
        # No whitespace at the boundary at all: the after cell starts at the repeated label.
        for k in range(len(label), len(body)):
            if body.startswith(label, k):
                before, after = body[:k].strip(), body[k:].strip()
                score = _similarity(before, after)
                if best is None or score > best[0]:
                    best = (score, before, after)
    if best is None:
        raise ParseError("cannot find where the before cell ends and the after cell starts", line)
    return best[1], best[2]


def _key_shape(key: str) -> str:
    return re.sub(r"\d+", "N", key)


def _split_paragraphs(cell: str) -> list[tuple[str | None, str]]:
    """Split a cell into (label, text) paragraphs at lines that continue its numbering."""
    paragraphs: list[tuple[str | None, list[str]]] = []
    for raw in cell.split("\n"):
        text = raw.strip()
        label = _label(text)
        if paragraphs and label is not None:
            previous = paragraphs[-1][0]
            prev_key = paragraph_key(previous or "")
            key = paragraph_key(label)
            if (
                previous is not None
                and _key_shape(key) == _key_shape(prev_key)
                and paragraph_sort_key(key) > paragraph_sort_key(prev_key)
            ):
                paragraphs.append((label, [text[len(label) :]]))
                continue
        if not paragraphs:
            paragraphs.append((label, [text[len(label) :] if label else text]))
        else:
            paragraphs[-1][1].append(text)
    return [(label, "\n".join(lines).strip()) for label, lines in paragraphs]


def _paragraph_rows(source: NoticeSourceRow) -> list[NoticeRow]:
    before = _split_paragraphs(source.before) if source.before else []
    after = _split_paragraphs(source.after) if source.after else []
    if before and after and [label for label, _ in before] != [label for label, _ in after]:
        raise ParseError(
            f"before and after cells of 第{source.article_number}条 hold different paragraphs: "
            f"{[label for label, _ in before]} / {[label for label, _ in after]}",
            source.line,
        )
    deleted = not after
    return [
        NoticeRow(
            category_index=source.category_index,
            article_number=source.article_number,
            paragraph_label=label,
            before=before[index][1] if before else "",
            after="" if deleted else after[index][1],
            is_new=source.is_new,
            line=source.line,
            is_deleted=deleted,
        )
        for index, (label, _) in enumerate(before if deleted else after)
    ]


def _source_row(category: int, article: int, body: str, line: int) -> NoticeSourceRow:
    body = body.strip()
    if body.startswith(NEW_MARK):
        return NoticeSourceRow(category, article, "", body[len(NEW_MARK) :].strip(), True, line)
    if re.search(rf"\s{DELETED_MARK}$", body):
        return NoticeSourceRow(
            category, article, body[: -len(DELETED_MARK)].strip(), "", False, line
        )
    before, after = _split_cells(body, line)
    return NoticeSourceRow(category, article, before, after, False, line)


def parse_notice(text: str) -> ParsedNotice:
    """Read a revision notice; raises ``ParseError`` with the 1-based line number."""
    lines = [raw.strip() for raw in text.splitlines()]
    if not any(lines):
        raise ParseError("empty notice", 1)

    def after_line(index: int) -> str:
        return next((t for t in lines[index + 1 :] if t), "")

    title = next((t for t in lines if _TITLE.match(t)), "")
    document_title_match = next((m for m in (_DOCUMENT_TITLE.search(t) for t in lines) if m), None)
    notice_date_match = next((m for m in (_NOTICE_DATE.search(t) for t in lines) if m), None)
    if notice_date_match is None:
        raise ParseError("no notice date (YYYY.MM.DD) found", 1)
    effective: date | None = None
    for index, line in enumerate(lines):
        if _EFFECTIVE.search(line):
            match = _JA_DATE.search(line) or _JA_DATE.search(after_line(index))
            if match:
                effective = _date(match)
                break
    if effective is None:
        raise ParseError("no effective date (■改定日 YYYY年M月D日) found", 1)

    categories: list[NoticeCategory] = []
    sources: list[NoticeSourceRow] = []
    pending: tuple[int, int, list[str]] | None = None  # article, line, body lines
    in_table = False

    def flush() -> None:
        nonlocal pending
        if pending is not None:
            article, start, body = pending
            sources.append(_source_row(categories[-1].index, article, "\n".join(body), start))
            pending = None

    for index, line in enumerate(lines):
        number = index + 1
        category = _CATEGORY.match(line)
        if category and _TABLE_HEADER.match(after_line(index)):
            flush()
            categories.append(
                NoticeCategory(
                    _int(category.group(1)),
                    category.group(2).strip(),
                    category_kind(category.group(2)),
                    number,
                )
            )
            in_table = False
            continue
        if _TABLE_HEADER.match(line):
            if not categories:
                raise ParseError("table without a change category above it", number)
            in_table = True
            continue
        if not in_table:
            continue
        if not line:
            flush()
            in_table = False
            continue
        row = _ROW.match(line)
        if row:
            flush()
            pending = (_int(row.group(1)), number, [row.group(2)])
        elif pending is not None:
            pending[2].append(line)
        else:
            raise ParseError("table text before the first 第N条 row", number)
    flush()
    if not sources:
        raise ParseError("no before/after table (該当箇所 改定前 改定後) found", 1)

    rows = [row for source in sources for row in _paragraph_rows(source)]
    return ParsedNotice(
        title=title,
        document_title=document_title_match.group(1) if document_title_match else None,
        notice_date=_date(notice_date_match),
        effective_date=effective,
        categories=categories,
        source_rows=sources,
        rows=rows,
    )


def excerpt_pair(rows: Sequence[NoticeRow]) -> tuple[DocText, DocText]:
    """The before and after documents that contain only the changed passages."""
    seen: set[tuple[int, str]] = set()
    before: dict[int, list[ParagraphText]] = {}
    after: dict[int, list[ParagraphText]] = {}
    for row in rows:
        if (row.article_number, row.key) in seen:
            raise ValueError(f"第{row.article_number}条 {row.paragraph_label}: listed twice")
        seen.add((row.article_number, row.key))
        label = row.paragraph_label or ""
        before.setdefault(row.article_number, [])
        after.setdefault(row.article_number, [])
        if not row.is_new:
            before[row.article_number].append(ParagraphText(row.key, label, row.before))
        if not row.is_deleted:
            after[row.article_number].append(ParagraphText(row.key, label, row.after))

    def build(side: dict[int, list[ParagraphText]]) -> DocText:
        return DocText(
            [
                ArticleText(
                    number,
                    f"第{number}条",
                    "",
                    sorted(paragraphs, key=lambda p: paragraph_sort_key(p.key)),
                )
                for number, paragraphs in sorted(side.items())
                if paragraphs
            ],
            is_excerpt=True,
        )

    return build(before), build(after)


def notice_categories(rows: Iterable[NoticeRow]) -> dict[tuple[int, str], int]:
    """(article number, paragraph key) → change category, to group a generated table."""
    return {(row.article_number, row.key): row.category_index for row in rows}


# --- building a notice table -----------------------------------------------------------


def _article_label(number: int | None) -> str | None:
    return f"第{number}条" if number is not None else None


def _cell(label: str | None, segments: list[Segment], text: str) -> tuple[str, list[Segment]]:
    prefix: list[Segment] = [("equal", label)] if label else []
    return (label or "") + text, prefix + segments


def _paragraph_row(article: ArticleDiff, paragraph: ParagraphDiff) -> NoticeTableRow:
    before_label, after_label = paragraph.before_label, paragraph.after_label
    before, before_segments = _cell(before_label, paragraph.before_segments, paragraph.before_text)
    after, after_segments = _cell(after_label, paragraph.after_segments, paragraph.after_text)
    if before_label and after_label and before_label != after_label:
        # Renumbered paragraph: mark the label change too.
        before_segments[0] = ("delete", before_label)
        after_segments[0] = ("insert", after_label)
    kind: RowKind = "changed"
    if paragraph.kind == "added":
        kind, before, before_segments = "added", NEW_MARK, []
    if paragraph.kind == "removed":
        kind, after, after_segments = "removed", DELETED_MARK, []
    return NoticeTableRow(
        kind=kind,
        article_number=article.number,
        article_label=_article_label(article.number) or "",
        before_article_label=_article_label(article.before_number),
        paragraph_key=paragraph.key,
        paragraph_label=(after_label if after_label is not None else before_label) or None,
        before=before,
        after=after,
        before_segments=before_segments,
        after_segments=after_segments,
    )


def _heading_row(article: ArticleDiff) -> NoticeTableRow | None:
    """A row for the heading when the title or the number changed, or the article is new."""
    before_heading, after_heading = article.before_heading or "", article.after_heading or ""
    kind: RowKind = "heading"
    if article.kind == "added":
        if not article.after_title:  # excerpts carry no heading worth a row
            return None
        kind, before_heading = "added", NEW_MARK
        before_segments: list[Segment] = []
        after_segments: list[Segment] = [("insert", after_heading)]
    elif article.kind == "removed":
        if not article.before_title:
            return None
        kind, after_heading = "removed", DELETED_MARK
        before_segments, after_segments = [("delete", before_heading)], []
    elif article.title_changed or article.is_renumbered or article.kind == "moved":
        before_segments, after_segments = split_segments(char_diff(before_heading, after_heading))
    else:
        return None
    return NoticeTableRow(
        kind=kind,
        article_number=article.number,
        article_label=_article_label(article.number) or "",
        before_article_label=_article_label(article.before_number),
        paragraph_key=None,
        paragraph_label=None,
        before=before_heading,
        after=after_heading,
        before_segments=before_segments,
        after_segments=after_segments,
    )


def render_notice_table(
    diff: DocumentDiff, categories: Mapping[tuple[int, str], int] | None = None
) -> list[NoticeTableRow]:
    """Rows of the 改定前 / 改定後 table for every changed heading and paragraph.

    With ``categories`` ((article, paragraph key) → category index) rows are grouped
    by category, keeping document order inside each, as the published notices do.
    """
    rows: list[NoticeTableRow] = []
    for article in diff.articles:
        heading = _heading_row(article)
        if heading is not None:
            rows.append(heading)
        rows.extend(
            _paragraph_row(article, paragraph)
            for paragraph in article.paragraphs
            if paragraph.kind != "unchanged"
        )
    if categories is None:
        return rows
    placed = [
        replace(row, category_index=categories.get((row.article_number, row.paragraph_key or "")))
        for row in rows
    ]
    last = 10**9  # rows outside the mapping go last
    return sorted(
        placed,
        key=lambda row: row.category_index if row.category_index is not None else last,
    )
