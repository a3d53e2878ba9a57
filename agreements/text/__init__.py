"""Pure text handling of terms documents: parsing, diffing, revision-notice tables.

No database and no Django: the model layer builds ``DocText`` from its rows and
stores what ``parse_terms`` / ``parse_notice`` return.
"""

from __future__ import annotations

from agreements.text.diff.articles import changed_only, diff_documents
from agreements.text.diff.chars import Segment, char_diff, segments_html
from agreements.text.diff.texts import (
    ArticleDiff,
    ArticleText,
    DocText,
    DocumentDiff,
    ParagraphDiff,
    ParagraphText,
    doctext_from_parsed,
)
from agreements.text.notice.excerpts import excerpt_pair, notice_categories
from agreements.text.notice.reading import NoticeRow, ParsedNotice, parse_notice
from agreements.text.notice.table import NoticeTableRow, render_notice_table
from agreements.text.parser import (
    ParsedArticle,
    ParsedItem,
    ParsedParagraph,
    ParsedTerms,
    ParseError,
    artefact_lines,
    find_artefacts,
    is_whole_text,
    parse_terms,
    render_plain,
    strip_ws,
)

__all__ = [
    "ArticleDiff",
    "ArticleText",
    "DocText",
    "DocumentDiff",
    "NoticeRow",
    "NoticeTableRow",
    "ParagraphDiff",
    "ParagraphText",
    "ParseError",
    "ParsedArticle",
    "ParsedItem",
    "ParsedNotice",
    "ParsedParagraph",
    "ParsedTerms",
    "Segment",
    "artefact_lines",
    "changed_only",
    "char_diff",
    "diff_documents",
    "doctext_from_parsed",
    "excerpt_pair",
    "find_artefacts",
    "is_whole_text",
    "notice_categories",
    "parse_notice",
    "parse_terms",
    "render_notice_table",
    "render_plain",
    "segments_html",
    "strip_ws",
]
