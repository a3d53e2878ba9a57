"""Parse a plain-text terms document (as extracted from the vendor's PDF) into articles.

The input is what seed 000 looks like: a title line, headings ``第N条（見出し）`` with
full-width digits, paragraphs ``1.``, items ``(1)`` / ``（1）``, lines wrapped
mid-sentence, and page-break artefacts. The result keeps every character of the
document apart from whitespace and the artefacts (see ``render_plain``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "Artefact",
    "ParseError",
    "ParsedArticle",
    "ParsedItem",
    "ParsedParagraph",
    "ParsedTerms",
    "artefact_lines",
    "find_artefacts",
    "join_wrapped",
    "parse_terms",
    "render_plain",
    "strip_ws",
]


class ParseError(ValueError):
    """The text cannot be read as a terms document; ``line`` is 1-based."""

    def __init__(self, message: str, line: int, *, kind: str = "", **params: int) -> None:
        super().__init__(f"line {line}: {message}")
        self.message = message  # English, for logs and the command line
        self.line = line
        # What went wrong, for a message in the reader's language (services.parse_messages).
        self.kind = kind
        self.params = params


@dataclass(frozen=True)
class ParsedItem:
    label: str  # as written: "(1)" or "（1）"
    number: int
    text: str
    line: int


@dataclass(frozen=True)
class ParsedParagraph:
    number: int | None  # None for an article's unnumbered body
    label: str  # as written, e.g. "1."; "" when unnumbered
    text: str  # the paragraph's own text, without its items
    items: list[ParsedItem]
    line: int


@dataclass(frozen=True)
class ParsedArticle:
    number: int
    heading: str  # "第１条（本規約について）", exactly as in the text
    title: str  # "本規約について"
    paragraphs: list[ParsedParagraph]
    line: int


@dataclass(frozen=True)
class ParsedTerms:
    title: str
    preamble: str
    articles: list[ParsedArticle]
    last_revised: str | None  # ISO date ("2024-11-22") from 最終改定：…, if present
    trailer: str  # "以上", "最終改定：…" as written (one line each)


@dataclass(frozen=True)
class Artefact:
    line: int
    text: str
    reason: Literal["url", "page_number"]


# A heading is the whole line: 第<digits>条, optional space, （title）. Kanji numerals
# (第一審) and references inside sentences (第１項, 第５条に定める…) do not match.
_HEADING = re.compile(r"^第\s*([0-9０-９]+)\s*条\s*[（(]([^（）()]+)[）)]$")
_PARAGRAPH = re.compile(r"^([0-9０-９]+)[.．](?![0-9０-９])\s*(.*)$")
_ITEM = re.compile(r"^([（(]\s*([0-9０-９]+)\s*[）)])\s*(.*)$")
_URL_ONLY = re.compile(r"^https?://\S+$")
_URL = re.compile(r"https?://[^\s）)]+")
_PAGE_NUMBER = re.compile(r"^(?:[-‐–—]\s*)?[0-9０-９]{1,3}(?:\s*[-‐–—])?$")
_TRAILER_START = re.compile(r"^(?:以上|(?:最終)?改定[:：]|制定[:：]|附則)")
_LAST_REVISED = re.compile(
    r"最終改定\s*[:：]\s*([0-9０-９]{4})\s*年\s*([0-9０-９]{1,2})\s*月\s*([0-9０-９]{1,2})\s*日"
)
_WS = re.compile(r"\s+")


def strip_ws(text: str) -> str:
    """The text without any whitespace: the form in which "every character kept" is checked."""
    return _WS.sub("", text)


def _int(digits: str) -> int:
    return int(unicodedata.normalize("NFKC", digits))


def _needs_space(left: str, right: str) -> bool:
    # PDF extraction breaks "Optimal Biz" and "Microsoft Corporation" across lines;
    # Japanese text is joined without a space, Latin words need one back.
    if not left or not right:
        return False
    a, b = left[-1], right[0]
    return a.isascii() and b.isascii() and b.isalnum() and (a.isalnum() or a in ",;:")


def join_wrapped(lines: list[str]) -> str:
    """Join wrapped lines: strip each, no space between Japanese, one between Latin words."""
    out = ""
    for raw in lines:
        part = raw.strip()
        if not part:
            continue
        out = f"{out} {part}" if _needs_space(out, part) else out + part
    return out


def find_artefacts(text: str) -> list[Artefact]:
    """Non-blank lines that are page furniture, not document text.

    A line that is only a URL counts as an artefact when that URL was already cited
    in the text above (PDF link footers repeat them); a bare 1–3 digit line is a page
    number. Blank and space-only lines are ignored everywhere and are not listed.
    """
    artefacts: list[Artefact] = []
    cited: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if _URL_ONLY.match(line) and line.rstrip("/") in cited:
            artefacts.append(Artefact(number, line, "url"))
            continue
        if _PAGE_NUMBER.match(line):
            artefacts.append(Artefact(number, line, "page_number"))
            continue
        cited.update(url.rstrip("/") for url in _URL.findall(line))
    return artefacts


def artefact_lines(text: str) -> list[int]:
    """1-based numbers of the lines ``parse_terms`` drops as artefacts."""
    return [a.line for a in find_artefacts(text)]


@dataclass
class _ItemDraft:
    label: str
    number: int
    lines: list[str]
    line: int


@dataclass
class _ParagraphDraft:
    number: int | None
    label: str
    lines: list[str]
    items: list[_ItemDraft]
    line: int


class _ArticleBuilder:
    """Accumulates one article's lines into paragraphs and items."""

    def __init__(self, number: int, heading: str, title: str, line: int) -> None:
        self.number = number
        self.heading = heading
        self.title = title
        self.line = line
        self.paragraphs: list[_ParagraphDraft] = []

    def _current(self, line: int) -> _ParagraphDraft:
        if not self.paragraphs:
            self.paragraphs.append(_ParagraphDraft(None, "", [], [], line))
        return self.paragraphs[-1]

    def add(self, text: str, line: int) -> None:
        para_match = _PARAGRAPH.match(text)
        if para_match:
            number = _int(para_match.group(1))
            numbered = [p.number for p in self.paragraphs if p.number is not None]
            expected = (numbered[-1] + 1) if numbered else 1
            if number != expected:
                kind = "duplicate" if number in numbered else "gap"
                raise ParseError(
                    f"paragraph number {kind} in article {self.number}: "
                    f"found {number}, expected {expected}",
                    line,
                    kind=f"paragraph_{kind}",
                    article=self.number,
                    found=number,
                    expected=expected,
                )
            label = text[: para_match.start(2)].rstrip()
            self.paragraphs.append(_ParagraphDraft(number, label, [para_match.group(2)], [], line))
            return
        item_match = _ITEM.match(text)
        if item_match:
            items = self._current(line).items
            number = _int(item_match.group(2))
            # A "（" line out of sequence is the continuation of a sentence ("（以下…").
            if number == (items[-1].number + 1 if items else 1):
                items.append(_ItemDraft(item_match.group(1), number, [item_match.group(3)], line))
                return
        paragraph = self._current(line)
        if paragraph.items:
            paragraph.items[-1].lines.append(text)
        else:
            paragraph.lines.append(text)

    def build(self) -> ParsedArticle:
        paragraphs = [
            ParsedParagraph(
                number=p.number,
                label=p.label,
                text=join_wrapped(p.lines),
                items=[
                    ParsedItem(
                        label=i.label, number=i.number, text=join_wrapped(i.lines), line=i.line
                    )
                    for i in p.items
                ],
                line=p.line,
            )
            for p in self.paragraphs
        ]
        return ParsedArticle(
            number=self.number,
            heading=self.heading,
            title=self.title,
            paragraphs=paragraphs,
            line=self.line,
        )


def parse_terms(text: str, *, some: bool = False) -> ParsedTerms:
    """Parse a terms document; raises ``ParseError`` with the 1-based line number. With
    `some`, the text may be some of the articles: numbered upwards from any number, with gaps
    (is_whole_text tells a whole text from them)."""
    if not text.strip():
        raise ParseError("empty document", 1, kind="empty")
    lines = text.splitlines()
    dropped = set(artefact_lines(text))
    content = [
        (number, raw.strip())
        for number, raw in enumerate(lines, start=1)
        if raw.strip() and number not in dropped
    ]

    headings = [(i, _HEADING.match(t)) for i, (_, t) in enumerate(content)]
    heading_at = {i: m for i, m in headings if m}
    if not heading_at:
        raise ParseError(
            "no article headings (第N条（見出し）) found", content[0][0], kind="no_headings"
        )

    # The trailer ("以上", "最終改定：…") starts after the last heading.
    last_heading = max(heading_at)
    trailer_start = next(
        (i for i in range(last_heading + 1, len(content)) if _TRAILER_START.match(content[i][1])),
        len(content),
    )

    first = min(heading_at)
    title = content[0][1] if first > 0 else ""
    preamble = join_wrapped([t for _, t in content[1:first]])

    articles: list[ParsedArticle] = []
    builder: _ArticleBuilder | None = None
    for i in range(first, trailer_start):
        number, line = content[i]
        match = heading_at.get(i)
        if match:
            article_number = _int(match.group(1))
            expected = builder.number + 1 if builder is not None else 1
            if builder is not None:
                articles.append(builder.build())
            if article_number != expected and not (some and article_number > expected):
                kind = "duplicate" if article_number < expected else "gap"
                raise ParseError(
                    f"article number {kind}: found 第{article_number}条, expected 第{expected}条",
                    number,
                    kind=f"article_{kind}",
                    found=article_number,
                    expected=expected,
                )
            builder = _ArticleBuilder(article_number, line, match.group(2).strip(), number)
            continue
        assert builder is not None  # noqa: S101 -- the loop starts at the first heading
        builder.add(line, number)
    assert builder is not None  # noqa: S101 -- at least one heading exists
    articles.append(builder.build())

    trailer_lines = [t for _, t in content[trailer_start:]]
    trailer = "\n".join(trailer_lines)
    revised = _LAST_REVISED.search(trailer)
    last_revised = (
        f"{_int(revised.group(1)):04d}-{_int(revised.group(2)):02d}-{_int(revised.group(3)):02d}"
        if revised
        else None
    )
    return ParsedTerms(
        title=title,
        preamble=preamble,
        articles=articles,
        last_revised=last_revised,
        trailer=trailer,
    )


def render_plain(parsed: ParsedTerms) -> str:
    """Re-create the document text: title, headings, labelled paragraphs and items, trailer."""
    blocks: list[str] = []
    if parsed.title:
        blocks.append(parsed.title)
    if parsed.preamble:
        blocks.append(parsed.preamble)
    for article in parsed.articles:
        lines = [article.heading]
        for paragraph in article.paragraphs:
            head = " ".join(part for part in (paragraph.label, paragraph.text) if part)
            if head:
                lines.append(head)
            lines.extend(f"{item.label} {item.text}".rstrip() for item in paragraph.items)
        blocks.append("\n".join(lines))
    if parsed.trailer:
        blocks.append(parsed.trailer)
    return "\n\n".join(blocks) + "\n"


def is_whole_text(parsed: ParsedTerms) -> bool:
    """Whether a pasted text is the whole terms rather than some of its articles: a title,
    and articles numbered from 第1条 without a gap. Two articles pasted alone are not the
    terms, and must never replace all the others."""
    numbers = [article.number for article in parsed.articles]
    return bool(parsed.title.strip()) and numbers == list(range(1, len(numbers) + 1))
