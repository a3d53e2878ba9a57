"""What the diff compares (``DocText``: articles of labelled paragraphs) and what it returns.

Whitespace is not significant: the documents come from PDF extraction, where spaces and
line breaks are layout, not wording; ``normalized`` is the one comparison form.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from agreements.text.diff.chars import Segment
from agreements.text.parser import ParsedTerms, strip_ws

ArticleKind = Literal["unchanged", "changed", "added", "removed", "renumbered", "moved"]
ParagraphKind = Literal["unchanged", "changed", "added", "removed"]


@dataclass(frozen=True)
class ParagraphText:
    key: str  # identity within the article: "1", "1.(2)", "(3)", "" for an unnumbered body
    label: str  # as shown: "1.", "（1）", "1.(1)", ""
    text: str


@dataclass(frozen=True)
class ArticleText:
    number: int
    heading: str  # "第１条（本規約について）", or "第5条" in an excerpt
    title: str  # "本規約について"; "" when unknown (excerpts)
    paragraphs: list[ParagraphText]


@dataclass(frozen=True)
class DocText:
    articles: list[ArticleText]
    is_excerpt: bool = False  # only the changed passages (built from a notice)


@dataclass(frozen=True)
class ParagraphDiff:
    kind: ParagraphKind
    before_key: str | None
    after_key: str | None
    before_label: str | None  # None when added (新設)
    after_label: str | None  # None when removed (削除)
    before_text: str
    after_text: str
    before_segments: list[Segment]  # ops "equal" / "delete"; joined they give before_text
    after_segments: list[Segment]  # ops "equal" / "insert"; joined they give after_text

    @property
    def key(self) -> str:
        return self.after_key if self.after_key is not None else (self.before_key or "")


@dataclass(frozen=True)
class ArticleDiff:
    kind: ArticleKind
    before_number: int | None
    after_number: int | None
    before_heading: str | None
    after_heading: str | None
    before_title: str | None
    after_title: str | None
    paragraphs: list[ParagraphDiff]

    @property
    def number(self) -> int:
        number = self.after_number if self.after_number is not None else self.before_number
        assert number is not None  # noqa: S101 -- one side always exists
        return number

    @property
    def is_renumbered(self) -> bool:
        return (
            self.before_number is not None
            and self.after_number is not None
            and self.before_number != self.after_number
        )

    @property
    def heading_changed(self) -> bool:
        """The heading reads differently: compared in the comparison form, so 「第７条 （非保証・免責）」
        and 「第７条（非保証・免責）」 are the same heading (whitespace is layout, not wording)."""
        return normalized(self.before_heading or "") != normalized(self.after_heading or "")

    @property
    def title_changed(self) -> bool:
        return (
            self.before_title is not None
            and self.after_title is not None
            and normalized(self.before_title) != normalized(self.after_title)
        )


@dataclass(frozen=True)
class DocumentDiff:
    articles: list[ArticleDiff]
    # Article numbers of a whole text that an excerpt before it does not contain: their former
    # text is unknown, so they are neither "new" nor "unchanged" and are left out of the rows.
    outside_excerpt: tuple[int, ...] = ()
    # Paragraphs (article number, key) of articles the excerpt does quote, which it does not:
    # likewise neither new nor unchanged, left out of the rows.
    outside_paragraphs: tuple[tuple[int, str], ...] = ()

    @property
    def has_changes(self) -> bool:
        # An article outside the excerpt before may have changed: nobody can say it has not.
        return (
            bool(self.outside_excerpt)
            or bool(self.outside_paragraphs)
            or any(a.kind != "unchanged" for a in self.articles)
        )


_KEY_NUMBERS = re.compile(r"^(?:(\d+))?(?:\.?\((\d+)\))?$")


def normalized(text: str) -> str:
    """The comparison form of a title or label: full-width folded (NFKC), no whitespace."""
    return strip_ws(unicodedata.normalize("NFKC", text))


def paragraph_key(label: str) -> str:
    """Identity of a paragraph from its label: "4." → "4", "（1）" → "(1)", "1.(1)" → "1.(1)"."""
    key = normalized(label)
    return key[:-1] if key.endswith(".") else key


def paragraph_sort_key(key: str) -> tuple[int, int, str]:
    """Document order of keys: unnumbered body, (items), 1, 1.(1), 1.(2), 2, …"""
    match = _KEY_NUMBERS.match(key)
    if not match:
        return (10**9, 0, key)
    return (int(match.group(1) or 0), int(match.group(2) or 0), "")


def doctext_from_parsed(parsed: ParsedTerms) -> DocText:
    """One ParagraphText per paragraph body and one per item (key "1.(2)", or "(2)")."""
    articles: list[ArticleText] = []
    for article in parsed.articles:
        paragraphs: list[ParagraphText] = []
        for paragraph in article.paragraphs:
            key = str(paragraph.number) if paragraph.number is not None else ""
            if paragraph.number is not None or paragraph.text:
                paragraphs.append(ParagraphText(key, paragraph.label, paragraph.text))
            prefix = f"{key}." if key else ""
            paragraphs.extend(
                ParagraphText(f"{prefix}({item.number})", item.label, item.text)
                for item in paragraph.items
            )
        articles.append(ArticleText(article.number, article.heading, article.title, paragraphs))
    return DocText(articles)
