"""The paragraph level: pair the paragraphs of two versions of an article, then diff each pair.

Paragraphs are matched by text, key and similarity; a changed pair is diffed by characters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from difflib import SequenceMatcher

from agreements.text.diff.chars import Segment, char_diff, split_segments
from agreements.text.diff.texts import (
    ArticleText,
    ParagraphDiff,
    ParagraphKind,
    ParagraphText,
    paragraph_key,
)
from agreements.text.parser import strip_ws

# Below this similarity two paragraphs are treated as different passages (one removed, one
# added) rather than one passage edited.
PARAGRAPH_MATCH_RATIO = 0.5


def similarity(a: str, b: str, floor: float) -> float:
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
            ratio = similarity(
                strip_ws(before[i].text), strip_ws(after[j].text), PARAGRAPH_MATCH_RATIO
            )
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


def paragraph_diff(before: ParagraphText | None, after: ParagraphText | None) -> ParagraphDiff:
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


def after_order(
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


def diff_paragraphs(before: ArticleText, after: ArticleText) -> list[ParagraphDiff]:
    b, a = before.paragraphs, after.paragraphs
    if [(p.label, p.text) for p in b] == [(p.label, p.text) for p in a]:
        return [paragraph_diff(x, y) for x, y in zip(b, a, strict=True)]
    return [
        paragraph_diff(b[i] if i is not None else None, a[j] if j is not None else None)
        for i, j in after_order(_match_paragraphs(b, a), len(b), len(a))
    ]
