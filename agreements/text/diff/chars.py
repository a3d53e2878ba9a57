"""The character level of the diff: Japanese has no spaces to split words on.

A diff is one sequence of equal / delete / insert segments; each side is rebuilt from it.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from difflib import SequenceMatcher
from typing import Literal

Op = Literal["equal", "delete", "insert"]
Segment = tuple[Op, str]


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
