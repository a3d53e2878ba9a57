"""Presentation of a terms document on the public pages (no decisions here)."""

from __future__ import annotations

import re

from agreements.models import TermsVersion

_PREFIX = re.compile(r"^\s*最終改定\s*[:：]\s*")


def last_revised_label(version: TermsVersion) -> str:
    """最終改定 as the document states it (seed 000), else from the effective date."""
    if version.last_revised_text:
        # Stored as the document writes it ("最終改定：2024年 11 月 22日"); shown as a date.
        return re.sub(r"\s+", "", _PREFIX.sub("", version.last_revised_text))
    if version.effective_on:
        day = version.effective_on
        return f"{day.year}年{day.month}月{day.day}日"
    return ""
