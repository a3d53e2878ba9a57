"""Rebase a draft: replay the changes a draft made to its base onto a newer version.

A three-way merge by article number: for each article, the draft's change wins where the
draft changed it, the newer version's text is taken where only the newer version changed it
(a new article, a deleted one, an edited one), and an article both changed differently keeps
the draft's text and is reported as a conflict for the editor to look at. Articles are
compared in the diff's comparison form (``normalized``: whitespace and full-width folded), so
a heading written with a space is not a change.

Pure: no database, no Django, no clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from agreements.text.diff.texts import ArticleText, DocText, normalized

_HEADING_NUMBER = re.compile(r"^第\s*[0-9０-９]+\s*条")
_FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@dataclass(frozen=True)
class MergeResult:
    doc: DocText
    # Article numbers (in the result) that both sides changed differently: the draft's kept.
    conflicts: list[int] = field(default_factory=list)
    # Article numbers whose text now comes from the newer version (added, edited or removed).
    taken: list[int] = field(default_factory=list)
    # Article numbers the draft added where the newer version added another: moved to the end.
    moved: list[tuple[int, int]] = field(default_factory=list)


def _shape(article: ArticleText | None) -> tuple[str, tuple[tuple[str, str, str], ...]] | None:
    if article is None:
        return None
    return (
        normalized(article.title or article.heading),
        tuple((p.key, normalized(p.label), normalized(p.text)) for p in article.paragraphs),
    )


def _renumbered(article: ArticleText, number: int) -> ArticleText:
    heading = _HEADING_NUMBER.sub(f"第{str(number).translate(_FULL_WIDTH)}条", article.heading)
    return replace(article, number=number, heading=heading)


def merge_docs(*, base: DocText, mine: DocText, theirs: DocText) -> MergeResult:
    """The draft `mine` (made from `base`) replayed onto `theirs`."""
    b = {a.number: a for a in base.articles}
    m = {a.number: a for a in mine.articles}
    t = {a.number: a for a in theirs.articles}
    out: dict[int, ArticleText] = {}
    conflicts: list[int] = []
    taken: list[int] = []
    extra: list[ArticleText] = []
    for number in sorted(set(b) | set(m) | set(t)):
        before, ours, other = b.get(number), m.get(number), t.get(number)
        s_base, s_ours, s_other = _shape(before), _shape(ours), _shape(other)
        if s_ours == s_base:  # the draft left it alone: the newer version's text (or none)
            if s_other != s_base:
                taken.append(number)
            if other is not None:
                out[number] = other
        elif s_other in (s_base, s_ours):  # only the draft changed it (or both alike)
            if ours is not None:
                out[number] = ours
        elif before is None and ours is not None and other is not None:
            # Both added an article under this number: keep the newer version's here and
            # move the draft's to the end.
            out[number] = other
            extra.append(ours)
        else:  # both changed it differently (or one deleted what the other edited)
            conflicts.append(number)
            kept = ours if ours is not None else other
            if kept is not None:
                out[number] = kept
    moved: list[tuple[int, int]] = []
    next_number = max(out, default=0) + 1
    for article in extra:
        out[next_number] = _renumbered(article, next_number)
        moved.append((article.number, next_number))
        conflicts.append(next_number)
        next_number += 1
    doc = DocText([out[n] for n in sorted(out)], is_excerpt=mine.is_excerpt)
    return MergeResult(doc=doc, conflicts=sorted(conflicts), taken=taken, moved=moved)
