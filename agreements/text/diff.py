"""The one diff of two terms texts, used by every interface (console, portal, notices, API).

Articles are matched by content, title and number; paragraphs by text, key and
similarity; inside a changed paragraph the diff is by characters, since Japanese
has no spaces to split words on. Whitespace is not significant: the documents come
from PDF extraction, where spaces and line breaks are layout, not wording.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from difflib import SequenceMatcher
from typing import Literal

from agreements.text.parser import ParsedTerms, strip_ws

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

Op = Literal["equal", "delete", "insert"]
Segment = tuple[Op, str]
ArticleKind = Literal["unchanged", "changed", "added", "removed", "renumbered", "moved"]
ParagraphKind = Literal["unchanged", "changed", "added", "removed"]

# Below these similarities two passages are treated as different passages
# (one removed, one added) rather than one passage edited.
PARAGRAPH_MATCH_RATIO = 0.5
ARTICLE_MATCH_RATIO = 0.6


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
    def title_changed(self) -> bool:
        return (
            self.before_title is not None
            and self.after_title is not None
            and _norm(self.before_title) != _norm(self.after_title)
        )


@dataclass(frozen=True)
class DocumentDiff:
    articles: list[ArticleDiff]

    @property
    def has_changes(self) -> bool:
        return any(a.kind != "unchanged" for a in self.articles)


# --- character level -------------------------------------------------------------------


def _merge(ops: Iterable[Segment]) -> list[Segment]:
    """Collapse each run between equalities into one delete then one insert."""
    out: list[Segment] = []
    deleted: list[str] = []
    inserted: list[str] = []

    def flush() -> None:
        if deleted:
            out.append(("delete", "".join(deleted)))
        if inserted:
            out.append(("insert", "".join(inserted)))
        deleted.clear()
        inserted.clear()

    for op, text in ops:
        if not text:
            continue
        if op == "delete":
            deleted.append(text)
        elif op == "insert":
            inserted.append(text)
        else:
            flush()
            if out and out[-1][0] == "equal":
                out[-1] = ("equal", out[-1][1] + text)
            else:
                out.append(("equal", text))
    flush()
    return out


def _cleanup_semantic(ops: list[Segment]) -> list[Segment]:
    """Fold short equalities between edits into the edits (diff-match-patch's rule).

    A character diff of a rewritten sentence otherwise keeps every shared particle
    (の, を, 、) as an "equal" island, which makes the marks unreadable.
    """
    for _ in range(32):  # each pass only grows edit runs; a handful of passes converge
        ops = _merge(ops)
        changed = False
        result: list[Segment] = []
        for i, (op, text) in enumerate(ops):
            if op != "equal" or i == 0 or i == len(ops) - 1:
                result.append((op, text))
                continue
            before = _run_size(ops, i, -1)
            after = _run_size(ops, i, 1)
            if before and after and len(text) <= before and len(text) <= after:
                result.extend((("delete", text), ("insert", text)))
                changed = True
            else:
                result.append((op, text))
        ops = result
        if not changed:
            break
    return _merge(ops)


def _run_size(ops: list[Segment], index: int, step: int) -> int:
    deleted = inserted = 0
    k = index + step
    while 0 <= k < len(ops) and ops[k][0] != "equal":
        if ops[k][0] == "delete":
            deleted += len(ops[k][1])
        else:
            inserted += len(ops[k][1])
        k += step
    return max(deleted, inserted)


def char_diff(before: str, after: str) -> list[Segment]:
    """Character-level diff as one sequence of equal / delete / insert segments."""
    if before == after:
        return [("equal", before)] if before else []
    matcher = SequenceMatcher(None, before, after, autojunk=False)
    ops: list[Segment] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            ops.append(("equal", before[i1:i2]))
            continue
        if i2 > i1:
            ops.append(("delete", before[i1:i2]))
        if j2 > j1:
            ops.append(("insert", after[j1:j2]))
    return _cleanup_semantic(ops)


def split_segments(ops: Sequence[Segment]) -> tuple[list[Segment], list[Segment]]:
    """Split a combined diff into the before side (equal/delete) and after side (equal/insert)."""
    return (
        [(op, text) for op, text in ops if op != "insert"],
        [(op, text) for op, text in ops if op != "delete"],
    )


def apply_segments(segments: Iterable[Segment]) -> str:
    """Join one side's segments back into its text."""
    return "".join(text for _, text in segments)


def segments_html(segments: Iterable[Segment]) -> str:
    """HTML fragment with <del>/<ins> marks; all text is escaped, callers mark it safe."""
    parts: list[str] = []
    for op, text in segments:
        escaped = html.escape(text, quote=True)
        if op == "delete":
            parts.append(f"<del>{escaped}</del>")
        elif op == "insert":
            parts.append(f"<ins>{escaped}</ins>")
        else:
            parts.append(escaped)
    return "".join(parts)


# --- paragraph level -------------------------------------------------------------------

_KEY_NUMBERS = re.compile(r"^(?:(\d+))?(?:\.?\((\d+)\))?$")


def _norm(text: str) -> str:
    return strip_ws(unicodedata.normalize("NFKC", text))


def paragraph_key(label: str) -> str:
    """Identity of a paragraph from its label: "4." → "4", "（1）" → "(1)", "1.(1)" → "1.(1)"."""
    key = _norm(label)
    return key[:-1] if key.endswith(".") else key


def paragraph_sort_key(key: str) -> tuple[int, int, str]:
    """Document order of keys: unnumbered body, (items), 1, 1.(1), 1.(2), 2, …"""
    match = _KEY_NUMBERS.match(key)
    if not match:
        return (10**9, 0, key)
    return (int(match.group(1) or 0), int(match.group(2) or 0), "")


def _ratio(a: str, b: str, floor: float) -> float:
    """Similarity in [0, 1]; cheap upper bounds first, since most pairs are far apart."""
    if not a and not b:
        return 1.0
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    if matcher.real_quick_ratio() < floor or matcher.quick_ratio() < floor:
        return 0.0
    return matcher.ratio()


def _crosses(pairs: list[tuple[int, int]], i: int, j: int) -> bool:
    return any((i - pi) * (j - pj) <= 0 for pi, pj in pairs)


def _match_gap(
    before: Sequence[ParagraphText],
    after: Sequence[ParagraphText],
    bs: range,
    as_: range,
) -> list[tuple[int, int]]:
    """Pair edited paragraphs inside a gap between identical ones, without crossings."""
    if not bs or not as_:
        return []
    scored: list[tuple[float, int, int]] = []
    for i in bs:
        for j in as_:
            ratio = _ratio(strip_ws(before[i].text), strip_ws(after[j].text), PARAGRAPH_MATCH_RATIO)
            if ratio >= PARAGRAPH_MATCH_RATIO:
                scored.append((ratio, i, j))
    pairs: list[tuple[int, int]] = []
    # Highest similarity first; the same key breaks ties (a renumbered neighbour loses).
    for _, i, j in sorted(
        scored, key=lambda s: (-s[0], before[s[1]].key != after[s[2]].key, s[1], s[2])
    ):
        if all(i != pi and j != pj for pi, pj in pairs) and not _crosses(pairs, i, j):
            pairs.append((i, j))
    # A rewritten paragraph keeps its number: pair what is left by key (5.4 in seed 003).
    matched_b = {i for i, _ in pairs}
    matched_a = {j for _, j in pairs}
    for i in bs:
        if i in matched_b:
            continue
        for j in as_:
            if j in matched_a or before[i].key != after[j].key or _crosses(pairs, i, j):
                continue
            pairs.append((i, j))
            matched_a.add(j)
            break
    return pairs


def _match_paragraphs(
    before: Sequence[ParagraphText], after: Sequence[ParagraphText]
) -> list[tuple[int, int]]:
    matcher = SequenceMatcher(
        None, [strip_ws(p.text) for p in before], [strip_ws(p.text) for p in after], autojunk=False
    )
    pairs: list[tuple[int, int]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            pairs.extend(zip(range(i1, i2), range(j1, j2), strict=True))
        else:
            pairs.extend(_match_gap(before, after, range(i1, i2), range(j1, j2)))
    return sorted(pairs)


def _paragraph_diff(before: ParagraphText | None, after: ParagraphText | None) -> ParagraphDiff:
    if before is None:
        assert after is not None  # noqa: S101 -- one side always exists
        return ParagraphDiff(
            kind="added",
            before_key=None,
            after_key=after.key,
            before_label=None,
            after_label=after.label,
            before_text="",
            after_text=after.text,
            before_segments=[],
            after_segments=[("insert", after.text)] if after.text else [],
        )
    if after is None:
        return ParagraphDiff(
            kind="removed",
            before_key=before.key,
            after_key=None,
            before_label=before.label,
            after_label=None,
            before_text=before.text,
            after_text="",
            before_segments=[("delete", before.text)] if before.text else [],
            after_segments=[],
        )
    same_text = strip_ws(before.text) == strip_ws(after.text)
    if same_text and paragraph_key(before.label) == paragraph_key(after.label):
        kind: ParagraphKind = "unchanged"
        before_segments: list[Segment] = [("equal", before.text)] if before.text else []
        after_segments: list[Segment] = [("equal", after.text)] if after.text else []
    else:
        # A renumbered paragraph with the same text is "changed" (its label changed).
        kind = "changed"
        before_segments, after_segments = split_segments(char_diff(before.text, after.text))
    return ParagraphDiff(
        kind=kind,
        before_key=before.key,
        after_key=after.key,
        before_label=before.label,
        after_label=after.label,
        before_text=before.text,
        after_text=after.text,
        before_segments=before_segments,
        after_segments=after_segments,
    )


def _ordered(
    pairs: Iterable[tuple[int, int]], n_before: int, n_after: int, moved: set[int] | None = None
) -> list[tuple[int | None, int | None]]:
    """Merge pairs, removals and additions into after-document order.

    A removal is listed just before the first in-order match that follows it in the
    before document; moved items do not pull removals forward.
    """
    by_after = {j: i for i, j in pairs}
    matched_before = set(by_after.values())
    removed = [i for i in range(n_before) if i not in matched_before]
    moved = moved or set()
    out: list[tuple[int | None, int | None]] = []
    for j in range(n_after):
        i = by_after.get(j)
        if i is not None and i not in moved:
            while removed and removed[0] < i:
                out.append((removed.pop(0), None))
        out.append((i, j))
    out.extend((i, None) for i in removed)
    return out


def _diff_paragraphs(before: ArticleText, after: ArticleText) -> list[ParagraphDiff]:
    b, a = before.paragraphs, after.paragraphs
    if [(p.label, p.text) for p in b] == [(p.label, p.text) for p in a]:
        return [_paragraph_diff(x, y) for x, y in zip(b, a, strict=True)]
    return [
        _paragraph_diff(b[i] if i is not None else None, a[j] if j is not None else None)
        for i, j in _ordered(_match_paragraphs(b, a), len(b), len(a))
    ]


# --- article level ---------------------------------------------------------------------


def _body(article: ArticleText) -> str:
    return "".join(strip_ws(p.label + p.text) for p in article.paragraphs)


def _match_articles(before: Sequence[ArticleText], after: Sequence[ArticleText]) -> dict[int, int]:
    """Pairs after-index → before-index."""
    pairs: dict[int, int] = {}
    free_b = list(range(len(before)))

    def take(j: int, i: int) -> None:
        pairs[j] = i
        free_b.remove(i)

    bodies_b = [_body(x) for x in before]
    bodies_a = [_body(x) for x in after]
    titles_b = [_norm(x.title) for x in before]
    titles_a = [_norm(x.title) for x in after]
    # 1. identical title and text: unchanged, renumbered or moved
    for j in range(len(after)):
        i = next(
            (i for i in free_b if (titles_b[i], bodies_b[i]) == (titles_a[j], bodies_a[j])), None
        )
        if i is not None:
            take(j, i)
    # 2. same title
    for j in range(len(after)):
        if j not in pairs and titles_a[j]:
            i = next((i for i in free_b if titles_b[i] == titles_a[j]), None)
            if i is not None:
                take(j, i)
    # 3. same number, and either no titles to tell (excerpts) or similar text
    for j in range(len(after)):
        if j in pairs:
            continue
        i = next((i for i in free_b if before[i].number == after[j].number), None)
        if i is not None and (
            not (titles_a[j] and titles_b[i])
            or _ratio(bodies_b[i], bodies_a[j], ARTICLE_MATCH_RATIO) >= ARTICLE_MATCH_RATIO
        ):
            take(j, i)
    # 4. renamed and renumbered: most similar text
    scored = sorted(
        (
            (-_ratio(bodies_b[i], bodies_a[j], ARTICLE_MATCH_RATIO), j, i)
            for j in range(len(after))
            if j not in pairs
            for i in free_b
        ),
    )
    for neg_ratio, j, i in scored:
        if -neg_ratio >= ARTICLE_MATCH_RATIO and j not in pairs and i in free_b:
            take(j, i)
    return pairs


def _in_order(pairs: dict[int, int]) -> set[int]:
    """After-indices of the longest run of matches that keeps the before order (LIS)."""
    items = sorted(pairs.items())  # by after index
    tails: list[int] = []  # index into items of the smallest tail of each length
    parent: list[int] = [-1] * len(items)
    for k, (_, i) in enumerate(items):
        lo, hi = 0, len(tails)
        while lo < hi:
            mid = (lo + hi) // 2
            if items[tails[mid]][1] < i:
                lo = mid + 1
            else:
                hi = mid
        parent[k] = tails[lo - 1] if lo else -1
        if lo == len(tails):
            tails.append(k)
        else:
            tails[lo] = k
    keep: set[int] = set()
    k = tails[-1] if tails else -1
    while k != -1:
        keep.add(items[k][0])
        k = parent[k]
    return keep


def diff_documents(before: DocText, after: DocText) -> DocumentDiff:
    """Diff two documents: every article and paragraph, in after-document order."""
    pairs = _match_articles(before.articles, after.articles)
    in_order = _in_order(pairs)
    moved_before = {i for j, i in pairs.items() if j not in in_order}
    articles: list[ArticleDiff] = []
    ordered = _ordered(
        ((i, j) for j, i in pairs.items()),
        len(before.articles),
        len(after.articles),
        moved_before,
    )
    for i, j in ordered:
        b = before.articles[i] if i is not None else None
        a = after.articles[j] if j is not None else None
        if b is None:
            assert a is not None  # noqa: S101 -- one side always exists
            paragraphs = [_paragraph_diff(None, p) for p in a.paragraphs]
            articles.append(
                ArticleDiff("added", None, a.number, None, a.heading, None, a.title, paragraphs)
            )
            continue
        if a is None:
            paragraphs = [_paragraph_diff(p, None) for p in b.paragraphs]
            articles.append(
                ArticleDiff("removed", b.number, None, b.heading, None, b.title, None, paragraphs)
            )
            continue
        paragraphs = _diff_paragraphs(b, a)
        same = _norm(b.title) == _norm(a.title) and all(p.kind == "unchanged" for p in paragraphs)
        kind: ArticleKind
        if j not in in_order:
            kind = "moved"
        elif not same:
            kind = "changed"
        elif b.number != a.number:
            kind = "renumbered"
        else:
            kind = "unchanged"
        articles.append(
            ArticleDiff(
                kind, b.number, a.number, b.heading, a.heading, b.title, a.title, paragraphs
            )
        )
    return DocumentDiff(articles)


def changed_only(diff: DocumentDiff) -> DocumentDiff:
    """The diff without unchanged articles and, inside the rest, without unchanged paragraphs."""
    return DocumentDiff(
        [
            replace(article, paragraphs=[p for p in article.paragraphs if p.kind != "unchanged"])
            for article in diff.articles
            if article.kind != "unchanged"
        ]
    )


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
