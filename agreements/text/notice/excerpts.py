"""What a read notice gives the rest: the excerpt versions built from its table, whose
before/after cells hold only the changed passages, and each passage's change category.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from agreements.text.diff.texts import ArticleText, DocText, ParagraphText, paragraph_sort_key
from agreements.text.notice.reading import NoticeRow


def excerpt_pair(rows: Sequence[NoticeRow]) -> tuple[DocText, DocText]:
    """The before and after documents that contain only the changed passages."""
    seen: set[tuple[int, str]] = set()
    before: dict[int, list[ParagraphText]] = {}
    after: dict[int, list[ParagraphText]] = {}
    for row in rows:
        if (row.article_number, row.key) in seen:
            raise ValueError(f"第{row.article_number}条 {row.paragraph_label}: listed twice")
        seen.add((row.article_number, row.key))
        label = row.paragraph_label or ""
        before.setdefault(row.article_number, [])
        after.setdefault(row.article_number, [])
        if not row.is_new:
            before[row.article_number].append(ParagraphText(row.key, label, row.before))
        if not row.is_deleted:
            after[row.article_number].append(ParagraphText(row.key, label, row.after))

    def build(side: dict[int, list[ParagraphText]]) -> DocText:
        return DocText(
            [
                ArticleText(
                    number,
                    f"第{number}条",
                    "",
                    sorted(paragraphs, key=lambda p: paragraph_sort_key(p.key)),
                )
                for number, paragraphs in sorted(side.items())
                if paragraphs
            ],
            is_excerpt=True,
        )

    return build(before), build(after)


def notice_categories(rows: Iterable[NoticeRow]) -> dict[tuple[int, str], int]:
    """(article number, paragraph key) → change category, to group a generated table."""
    return {(row.article_number, row.key): row.category_index for row in rows}
