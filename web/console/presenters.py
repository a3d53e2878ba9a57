"""Arrange diffs and drafts for the console's templates (presentation only, no decisions)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.safestring import SafeString, mark_safe

from agreements.models import Article, TermsVersion
from agreements.selectors.articles import articles_of
from agreements.text import DocumentDiff, segments_html
from agreements.text.diff import ArticleDiff, ParagraphDiff


@dataclass
class ParagraphRow:
    kind: str
    before_label: str
    after_label: str
    before_html: SafeString
    after_html: SafeString


@dataclass
class ArticleBlock:
    kind: str
    number: int
    before_heading: str
    after_heading: str
    heading_changed: bool
    rows: list[ParagraphRow] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.kind != "unchanged"


def _paragraph_row(paragraph: ParagraphDiff) -> ParagraphRow:
    # segments_html escapes every character, so marking the result safe is sound.
    return ParagraphRow(
        kind=paragraph.kind,
        before_label=paragraph.before_label or "",
        after_label=paragraph.after_label or "",
        before_html=mark_safe(segments_html(paragraph.before_segments)),  # noqa: S308
        after_html=mark_safe(segments_html(paragraph.after_segments)),  # noqa: S308
    )


def _block(article: ArticleDiff, *, full: bool) -> ArticleBlock:
    return ArticleBlock(
        kind=article.kind,
        number=article.number,
        before_heading=article.before_heading or "",
        after_heading=article.after_heading or "",
        heading_changed=article.heading_changed,
        rows=[_paragraph_row(p) for p in article.paragraphs if full or p.kind != "unchanged"],
    )


def compare_blocks(diff: DocumentDiff, *, full: bool) -> list[ArticleBlock]:
    """Changed articles first (in document order), then — with `full` — the unchanged ones."""
    changed = [_block(a, full=full) for a in diff.articles if a.kind != "unchanged"]
    if not full:
        return changed
    return changed + [_block(a, full=True) for a in diff.articles if a.kind == "unchanged"]


def diff_counts(diff: DocumentDiff) -> dict[str, int]:
    counts = {"changed": 0, "added": 0, "removed": 0, "paragraphs": 0}
    for article in diff.articles:
        if article.kind in ("changed", "renumbered", "moved"):
            counts["changed"] += 1
        elif article.kind in ("added", "removed"):
            counts[article.kind] += 1
        counts["paragraphs"] += sum(1 for p in article.paragraphs if p.kind != "unchanged")
    return counts


def article_body(article: Article) -> str:
    """An article's text as the editor shows it: one line per paragraph and per item,
    written as the documents write them ("1. …", "(1) …"), which article_upsert parses back."""
    lines: list[str] = []
    for paragraph in article.paragraphs.all():
        head = " ".join(part for part in (paragraph.label, paragraph.text) if part)
        if head:
            lines.append(head)
        lines.extend(
            f"{item.get('label', '')} {item.get('text', '')}".strip()
            for item in paragraph.items or []
        )
    return "\n".join(lines)


def version_plain_text(version: TermsVersion) -> str:
    """The whole version as plain text (title, articles, trailer), for the paste box."""
    blocks = [version.title] if version.title else []
    if version.preamble:
        blocks.append(version.preamble)
    for article in articles_of(version):
        blocks.append(f"{article.heading}\n{article_body(article)}".rstrip())
    if version.trailer:
        blocks.append(version.trailer)
    return "\n\n".join(blocks) + "\n"
