"""The revision notice (R8) as the pages show it: shared by the public notice page and the
console's preview of a notice before it is scheduled (presentation only, no decisions)."""

from __future__ import annotations

from typing import Any

from agreements.models import TermsVersion
from agreements.services.version_text import notice_table
from core import clock


def notice_context(version: TermsVersion) -> dict[str, Any]:
    """The generated notice (R8) with the date it shows: posted, else planned."""
    table = notice_table(version)
    return {
        "table": table,
        "title": table.title,
        "notice_date": clock.business_date(version.posted_at)
        if version.posted_at
        else version.notice_on,
        "effective_on": version.effective_on,
        "groups": [
            {"index": i, "category": category, "rows": rows}
            for i, (category, rows) in enumerate(table.row_groups, start=1)
        ],
    }
