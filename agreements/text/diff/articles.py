"""The article level and the whole document: articles are matched by content, title and
number, then their paragraphs are diffed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from agreements.text.diff.paragraphs import (
    after_order,
    diff_paragraphs,
    paragraph_diff,
    similarity,
)
from agreements.text.diff.texts import (
    ArticleDiff,
    ArticleKind,
    ArticleText,
    DocText,
    DocumentDiff,
    normalized,
)
from agreements.text.parser import strip_ws

# Below this similarity two articles are treated as different articles (one removed, one
# added) rather than one article edited.
ARTICLE_MATCH_RATIO = 0.6


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
    titles_b = [normalized(x.title) for x in before]
    titles_a = [normalized(x.title) for x in after]
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
            or similarity(bodies_b[i], bodies_a[j], ARTICLE_MATCH_RATIO) >= ARTICLE_MATCH_RATIO
        ):
            take(j, i)
    # 4. renamed and renumbered: most similar text
    scored = sorted(
        (
            (-similarity(bodies_b[i], bodies_a[j], ARTICLE_MATCH_RATIO), j, i)
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
    # An excerpt before a whole text (a draft of the ID+ terms whose version in force is the
    # notice's excerpt): an article it lacks may be old or new, so it is not called 新設.
    unknown_before = before.is_excerpt and not after.is_excerpt
    outside: list[int] = []
    unquoted: list[tuple[int, str]] = []
    ordered = after_order(
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
            if unknown_before:
                outside.append(a.number)
                continue
            paragraphs = [paragraph_diff(None, p) for p in a.paragraphs]
            articles.append(
                ArticleDiff("added", None, a.number, None, a.heading, None, a.title, paragraphs)
            )
            continue
        if a is None:
            paragraphs = [paragraph_diff(p, None) for p in b.paragraphs]
            articles.append(
                ArticleDiff("removed", b.number, None, b.heading, None, b.title, None, paragraphs)
            )
            continue
        paragraphs = diff_paragraphs(b, a)
        before_title = b.title
        if unknown_before:
            # The excerpt quotes some paragraphs and no title: a paragraph it does not quote
            # may be old or new, and the title it does not give is not a change.
            unquoted.extend((a.number, p.after_key or "") for p in paragraphs if p.kind == "added")
            paragraphs = [p for p in paragraphs if p.kind != "added"]
            if not b.title.strip():
                before_title = a.title
        same = normalized(before_title) == normalized(a.title) and all(
            p.kind == "unchanged" for p in paragraphs
        )
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
                kind, b.number, a.number, b.heading, a.heading, before_title, a.title, paragraphs
            )
        )
    return DocumentDiff(
        articles, outside_excerpt=tuple(outside), outside_paragraphs=tuple(unquoted)
    )


def changed_only(diff: DocumentDiff) -> DocumentDiff:
    """The diff without unchanged articles and, inside the rest, without unchanged paragraphs."""
    return DocumentDiff(
        [
            replace(article, paragraphs=[p for p in article.paragraphs if p.kind != "unchanged"])
            for article in diff.articles
            if article.kind != "unchanged"
        ],
        outside_excerpt=diff.outside_excerpt,
        outside_paragraphs=diff.outside_paragraphs,
    )
