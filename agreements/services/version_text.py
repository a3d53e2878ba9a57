"""A version's text as rows (Article / Paragraph) and back, its hash, its diff and its notice.

Rows are the storage; ``DocText`` (agreements/text/diff/texts.py) is what every interface diffs.
``store_doc`` writes a parsed document or a ``DocText`` as rows, and ``version_doctext``
reads them back so that ``version_doctext(v) == doctext_from_parsed(parsed)`` for an
imported text (and equals the ``DocText`` stored, for excerpts).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db.models import Prefetch
from django.utils.translation import gettext

from agreements.enums import VersionStatus
from agreements.models import Article, Paragraph, TermsVersion
from agreements.text.diff import (
    ArticleText,
    DocText,
    DocumentDiff,
    ParagraphText,
    diff_documents,
    paragraph_key,
)
from agreements.text.notice import NoticeTableRow, render_notice_table
from agreements.text.parser import ParsedTerms
from core import clock
from core.errors import ValidationFailed

IN_FORCE_STATUSES = (VersionStatus.EFFECTIVE, VersionStatus.SUPERSEDED)

# A DocText item key: "1.(2)" (item 2 of paragraph 1) or "(2)" (of the unnumbered body).
_ITEM_KEY = re.compile(r"^(?:(\d+)\.)?\((\d+)\)$")
_FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def full_width(number: int) -> str:
    """Digits as the vendor's documents write them in headings (第１９条)."""
    return str(number).translate(_FULL_WIDTH)


# --- rows ⇄ DocText ----------------------------------------------------------------------


def _row_key(paragraph: Paragraph) -> str:
    return str(paragraph.number) if paragraph.number is not None else paragraph_key(paragraph.label)


def rows_from_parsed(parsed: ParsedTerms) -> list[tuple[Article, list[Paragraph]]]:
    out: list[tuple[Article, list[Paragraph]]] = []
    for position, article in enumerate(parsed.articles, start=1):
        row = Article(
            position=position, number=article.number, heading=article.heading, title=article.title
        )
        paragraphs = [
            Paragraph(
                position=index,
                number=paragraph.number,
                label=paragraph.label,
                text=paragraph.text,
                items=[
                    {"label": item.label, "number": item.number, "text": item.text}
                    for item in paragraph.items
                ],
            )
            for index, paragraph in enumerate(article.paragraphs, start=1)
        ]
        out.append((row, paragraphs))
    return out


def rows_from_doctext(doc: DocText) -> list[tuple[Article, list[Paragraph]]]:
    """Items whose paragraph is present become that paragraph's items; the rest, such as
    the lone "1.(1)" of an excerpt, are stored as paragraphs of their own."""
    out: list[tuple[Article, list[Paragraph]]] = []
    for position, article in enumerate(doc.articles, start=1):
        rows: list[Paragraph] = []
        for text in article.paragraphs:
            item = _ITEM_KEY.match(text.key)
            parent = (item.group(1) or "") if item else None
            if item and rows and _row_key(rows[-1]) == parent:
                rows[-1].items.append(
                    {"label": text.label, "number": int(item.group(2)), "text": text.text}
                )
                continue
            number = int(text.key) if text.key.isdigit() else None
            row = Paragraph(
                position=len(rows) + 1, number=number, label=text.label, text=text.text, items=[]
            )
            if _row_key(row) != text.key:
                raise ValidationFailed(
                    gettext("第%(article)s条の項「%(label)s」の番号を保存できません。")
                    % {"article": article.number, "label": text.label},
                    code="paragraph_key_mismatch",
                    article=article.number,
                    key=text.key,
                )
            rows.append(row)
        out.append(
            (
                Article(
                    position=position,
                    number=article.number,
                    heading=article.heading,
                    title=article.title,
                ),
                rows,
            )
        )
    return out


def store_doc(version: TermsVersion, doc: ParsedTerms | DocText) -> list[Article]:
    """Write the articles of `doc` as rows of `version` (which must have none)."""
    pairs = rows_from_parsed(doc) if isinstance(doc, ParsedTerms) else rows_from_doctext(doc)
    articles = [article for article, _ in pairs]
    for article in articles:
        article.version = version
    Article.objects.bulk_create(articles)
    paragraphs: list[Paragraph] = []
    for article, rows in pairs:
        for row in rows:
            row.article = article
            paragraphs.append(row)
    Paragraph.objects.bulk_create(paragraphs)
    return articles


def copy_articles(source: TermsVersion, target: TermsVersion) -> int:
    """Copy every article and paragraph of `source` into `target`; returns the article count."""
    pairs = article_copies(source)
    _store_pairs(target, pairs)
    return len(pairs)


def article_copies(source: TermsVersion) -> list[tuple[Article, list[Paragraph]]]:
    """Unsaved copies of `source`'s articles and paragraphs, in order (two queries)."""
    return [
        (
            Article(
                position=article.position,
                number=article.number,
                heading=article.heading,
                title=article.title,
                change_category=article.change_category,
            ),
            [
                Paragraph(
                    position=p.position,
                    number=p.number,
                    label=p.label,
                    text=p.text,
                    items=list(p.items),
                )
                for p in article.paragraphs.all()
            ],
        )
        for article in _articles_with_paragraphs(source)
    ]


def store_merged(
    version: TermsVersion, pairs: list[tuple[Article, list[Paragraph]]]
) -> list[Article]:
    """Replace `version`'s articles with `pairs`, ordered by article number and positioned
    1..n (a pasted article slots in where its number puts it)."""
    ordered = sorted(pairs, key=lambda pair: pair[0].number)
    for position, (article, _rows) in enumerate(ordered, start=1):
        article.position = position
    Article.objects.filter(version=version).delete()
    return _store_pairs(version, ordered)


def _store_pairs(
    version: TermsVersion, pairs: list[tuple[Article, list[Paragraph]]]
) -> list[Article]:
    for article, _rows in pairs:
        article.version = version
    Article.objects.bulk_create([article for article, _ in pairs])
    Paragraph.objects.bulk_create(
        [_attach(row, article) for article, rows in pairs for row in rows]
    )
    return [article for article, _ in pairs]


def _attach(row: Paragraph, article: Article) -> Paragraph:
    row.article = article
    return row


def _articles_with_paragraphs(version: TermsVersion) -> list[Article]:
    return list(
        Article.objects.filter(version=version)
        .order_by("position")
        .prefetch_related(Prefetch("paragraphs", queryset=Paragraph.objects.order_by("position")))
    )


def version_doctext(version: TermsVersion | None) -> DocText:
    """The version's text for diffing (an empty document for None): one ParagraphText per
    paragraph body and one per item, as ``doctext_from_parsed`` builds them. Two queries."""
    if version is None:
        return DocText([])
    articles: list[ArticleText] = []
    for article in _articles_with_paragraphs(version):
        paragraphs: list[ParagraphText] = []
        for row in article.paragraphs.all():
            key = _row_key(row)
            if row.number is not None or row.text:
                paragraphs.append(ParagraphText(key, row.label, row.text))
            prefix = f"{key}." if key else ""
            paragraphs.extend(
                ParagraphText(f"{prefix}({item['number']})", item["label"], item["text"])
                for item in row.items
            )
        articles.append(ArticleText(article.number, article.heading, article.title, paragraphs))
    return DocText(articles, is_excerpt=version.is_excerpt)


def version_stats(version: TermsVersion) -> dict[str, int]:
    """Counts of articles, paragraphs and items (the import summary)."""
    paragraphs = list(Paragraph.objects.filter(article__version=version).values_list("items"))
    return {
        "articles": Article.objects.filter(version=version).count(),
        "paragraphs": len(paragraphs),
        "items": sum(len(items or []) for (items,) in paragraphs),
    }


# --- hash ----------------------------------------------------------------------------------


def version_body_hash(version: TermsVersion) -> str:
    """SHA-256 (hex) of the canonical rendering of the version's text.

    Canonical rendering: UTF-8 JSON with sorted keys and no spaces of
    ``{"title", "preamble", "articles": [{"number", "heading", "title",
    "paragraphs": [[key, label, text], ...]}], "trailer"}``, articles and paragraphs in
    document order. The ledger copies it into every answer, so an answer names the exact text.
    """
    doc = version_doctext(version)
    body = {
        "title": version.title,
        "preamble": version.preamble,
        "articles": [
            {
                "number": article.number,
                "heading": article.heading,
                "title": article.title,
                "paragraphs": [[p.key, p.label, p.text] for p in article.paragraphs],
            }
            for article in doc.articles
        ],
        "trailer": version.trailer,
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# --- diff and notice -----------------------------------------------------------------------


def version_predecessor(version: TermsVersion) -> TermsVersion | None:
    """What a revision replaces for customers: never a draft, withdrawn or lapsed version,
    whatever the version was based on (four eyes and R8: the notice and the review list
    every change customers will see).

    A draft follows the document's scheduled revision, if any, else the version in force
    today; any other version replaces the version in force before its effective date (for
    an undated one, today). Only a historical import keeps its own `based_on` (a revision
    notice's 改定前 excerpt)."""
    if version.is_historical and version.based_on_id is not None:
        return version.based_on
    others = TermsVersion.objects.filter(document_id=version.document_id).exclude(pk=version.pk)
    if version.status == VersionStatus.DRAFT:
        scheduled = others.filter(status=VersionStatus.SCHEDULED).order_by("-pk").first()
        if scheduled is not None:
            return scheduled
    qs = others.filter(status__in=IN_FORCE_STATUSES)
    if version.status != VersionStatus.DRAFT and version.effective_on is not None:
        qs = qs.filter(effective_on__lt=version.effective_on)
    else:
        qs = qs.filter(effective_on__lte=clock.today())
    return qs.order_by("-effective_on", "-pk").first()


def version_diff(*, before: TermsVersion | None, after: TermsVersion) -> DocumentDiff:
    """The one diff of two versions (console, portal, API and notices all use it)."""
    return diff_documents(version_doctext(before), version_doctext(after))


@dataclass(frozen=True)
class NoticeTable:
    """The revision notice generated from a version (R8)."""

    version: TermsVersion
    predecessor: TermsVersion | None
    title: str
    document_title: str
    notice_on: date | None
    effective_on: date | None
    posted_at: datetime | None
    categories: list[dict[str, Any]]
    rows: list[NoticeTableRow]
    is_excerpt: bool
    row_groups: list[tuple[dict[str, Any] | None, list[NoticeTableRow]]] = field(
        default_factory=list
    )


def notice_title_for(version: TermsVersion) -> str:
    # The notice is part of the Japanese document (R8: the Japanese text governs), so its
    # default title is data, as the vendor writes it, not an interface string.
    return version.notice_title or f"{version.title}改定のお知らせ"


def _category_map(categories: list[dict[str, Any]]) -> Mapping[tuple[int, str], int] | None:
    mapping: dict[tuple[int, str], int] = {}
    for position, category in enumerate(categories, start=1):
        index = int(category.get("index") or position)
        for article, key in category.get("paragraphs") or []:
            mapping[(int(article), str(key))] = index
    return mapping or None


def notice_table(version: TermsVersion) -> NoticeTable:
    """Title, dates, change categories and the 改定前 / 改定後 rows of `version` against its
    predecessor (R8); rows grouped by category when the categories name their paragraphs."""
    predecessor = version_predecessor(version)
    categories = list(version.categories or [])
    rows = render_notice_table(
        version_diff(before=predecessor, after=version), _category_map(categories)
    )
    by_index = {
        int(c.get("index") or position): c for position, c in enumerate(categories, start=1)
    }
    groups: list[tuple[dict[str, Any] | None, list[NoticeTableRow]]] = []
    for row in rows:
        category = by_index.get(row.category_index) if row.category_index is not None else None
        if groups and groups[-1][0] is category:
            groups[-1][1].append(row)
        else:
            groups.append((category, [row]))
    return NoticeTable(
        version=version,
        predecessor=predecessor,
        title=notice_title_for(version),
        document_title=version.title,
        notice_on=version.notice_on,
        effective_on=version.effective_on,
        posted_at=version.posted_at,
        categories=categories,
        rows=rows,
        is_excerpt=version.is_excerpt or bool(predecessor and predecessor.is_excerpt),
        row_groups=groups,
    )


# 最終改定: the body often ends with its own line 「最終改定：2024年 11 月 22日」, which a revision
# made by copying the previous version carries over unchanged; pages say so beside it.
_LINE = re.compile(r"最終改定\s*[:：]?\s*(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")


@dataclass(frozen=True)
class RevisionDates:
    """The version's date and the body's own 最終改定 line (as written, "" when none)."""

    effective_on: date | None
    body_line: str
    body_date: date | None

    @property
    def differs(self) -> bool:
        return bool(self.effective_on and self.body_date and self.effective_on != self.body_date)

    @property
    def needs_update(self) -> bool:
        """For staff before scheduling: the body's line names a date other than the version's,
        or the version has no date yet (a draft copied from a version carries that version's
        line)."""
        return bool(self.body_date and self.effective_on != self.body_date)


def _body_line(version: TermsVersion) -> str:
    if version.last_revised_text:
        return version.last_revised_text.strip()
    return next((line.strip() for line in version.trailer.splitlines() if "最終改定" in line), "")


def revision_dates(version: TermsVersion) -> RevisionDates:
    line = _body_line(version)
    found = _LINE.search(line)
    body_date = None
    if found:
        try:
            body_date = date(*(int(part) for part in found.groups()))
        except ValueError:
            body_date = None
    return RevisionDates(effective_on=version.effective_on, body_line=line, body_date=body_date)
