"""Revision notices (お知らせ): read one like seed 003, and build the table of a new one.

``reading`` parses a notice; ``excerpts`` turns its rows into the excerpt versions (a
notice's before/after table holds only the changed passages); ``table`` builds the table
of a new notice from a diff. The public names are re-exported here.
"""

from __future__ import annotations

from agreements.text.notice.excerpts import excerpt_pair, notice_categories
from agreements.text.notice.marks import DELETED_MARK, NEW_MARK
from agreements.text.notice.reading import (
    NoticeCategory,
    NoticeRow,
    NoticeSourceRow,
    ParsedNotice,
    category_kind,
    parse_notice,
)
from agreements.text.notice.table import NoticeTableRow, render_notice_table

__all__ = [
    "DELETED_MARK",
    "NEW_MARK",
    "NoticeCategory",
    "NoticeRow",
    "NoticeSourceRow",
    "NoticeTableRow",
    "ParsedNotice",
    "category_kind",
    "excerpt_pair",
    "notice_categories",
    "parse_notice",
    "render_notice_table",
]
