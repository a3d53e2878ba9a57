"""Reading a revision notice (お知らせ) like seed 003 into its dates, categories and rows.

The table in the text has no delimiter between the before and after cells (usually a
space, sometimes only a line break, sometimes nothing but the repeated label), and a row
may hold several paragraphs; ``parse_notice`` splits it into one ``NoticeRow`` per
paragraph.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from difflib import SequenceMatcher
from typing import Literal

from agreements.text.diff.texts import paragraph_key, paragraph_sort_key
from agreements.text.notice.marks import DELETED_MARK, NEW_MARK
from agreements.text.parser import ParseError, strip_ws

CategoryKind = Literal["substantive", "editorial"]


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
