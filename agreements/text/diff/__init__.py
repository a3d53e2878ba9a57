"""The one diff of two terms texts, used by every interface (console, portal, notices, API).

One module per level: ``chars`` (inside a changed paragraph, by characters), ``paragraphs``
(pairing and diffing an article's paragraphs), ``articles`` (pairing articles, the whole
document); ``texts`` holds what is compared and what comes out. The public names are
re-exported here.
"""

from __future__ import annotations

from agreements.text.diff.articles import changed_only, diff_documents
from agreements.text.diff.chars import (
    Op,
    Segment,
    apply_segments,
    char_diff,
    segments_html,
    split_segments,
)
from agreements.text.diff.texts import (
    ArticleDiff,
    ArticleKind,
    ArticleText,
    DocText,
    DocumentDiff,
    ParagraphDiff,
    ParagraphKind,
    ParagraphText,
    doctext_from_parsed,
    paragraph_key,
    paragraph_sort_key,
)

__all__ = [
    "ArticleDiff",
    "ArticleKind",
    "ArticleText",
    "DocText",
    "DocumentDiff",
    "Op",
    "ParagraphDiff",
    "ParagraphKind",
    "ParagraphText",
    "Segment",
    "apply_segments",
    "changed_only",
    "char_diff",
    "diff_documents",
    "doctext_from_parsed",
    "paragraph_key",
    "paragraph_sort_key",
    "segments_html",
    "split_segments",
]
