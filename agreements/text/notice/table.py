"""Building the 改定前 / 改定後 table of a new notice (R8) from the diff of two versions."""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal

from agreements.text.diff.chars import Segment, char_diff, segments_html, split_segments
from agreements.text.diff.texts import ArticleDiff, DocumentDiff, ParagraphDiff
from agreements.text.notice.marks import DELETED_MARK, NEW_MARK

RowKind = Literal["changed", "added", "removed", "heading"]


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


def _prepend(op: str, text: str, segments: list[Segment]) -> list[Segment]:
    if segments and segments[0][0] == op:
        return [(segments[0][0], text + segments[0][1]), *segments[1:]]
    return [(op, text), *segments]  # type: ignore[list-item]


def _with_heading(heading: NoticeTableRow, row: NoticeTableRow) -> NoticeTableRow:
    """`row` (the first paragraph of a new or removed article) with the heading above it."""
    if heading.kind == "added" and row.kind == "added":
        title = heading.after + "\n"
        return replace(
            row,
            after=title + row.after,
            after_segments=_prepend("insert", title, row.after_segments),
        )
    if heading.kind == "removed" and row.kind == "removed":
        title = heading.before + "\n"
        return replace(
            row,
            before=title + row.before,
            before_segments=_prepend("delete", title, row.before_segments),
        )
    return row


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
        paragraphs = [
            _paragraph_row(article, paragraph)
            for paragraph in article.paragraphs
            if paragraph.kind != "unchanged"
        ]
        if heading is not None and heading.kind in ("added", "removed") and paragraphs:
            # A new (or removed) article reads as the published notices show it: its heading
            # opens the row of its first paragraph, not a row of its own.
            paragraphs[0] = _with_heading(heading, paragraphs[0])
        elif heading is not None:
            rows.append(heading)
        rows.extend(paragraphs)
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


def editorial_but_not_wording(
    rows: list[NoticeTableRow], category_kinds: Mapping[int, str]
) -> list[NoticeTableRow]:
    """Rows filed under an editorial category (誤字・表記の修正) although they add or remove a
    passage: a new paragraph is a change of substance, whatever its category says (R8).
    `category_kinds` maps a row's category index to its kind."""
    return [
        row
        for row in rows
        if row.kind in ("added", "removed")
        and row.category_index is not None
        and category_kinds.get(row.category_index) == "editorial"
    ]
