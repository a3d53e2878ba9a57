"""Dates for people: the one style per language, shared by pages, PDFs and e-mails.

Japanese: 2026年12月16日, with the weekday 2026年12月16日（水）. English: 16 Dec 2026, with the
weekday Wed, 16 Dec 2026. Never ISO (2026-12-16 is for machines: attributes, CSV, JSON).
Month and weekday names are written out here, not taken from strftime (%b follows the
process locale; this never does). The caller says which language.
"""

from __future__ import annotations

from datetime import date, datetime

from django.utils import translation
from django.utils.translation import gettext

from core.clock import TOKYO

WEEKDAYS_JA = "月火水木金土日"
WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def is_japanese(language: str | None) -> bool:
    """Whether `language` (a Django language code; None: the default, Japanese) is Japanese."""
    return (language or "ja").split("-")[0] == "ja"


def date_text(value: date, *, language: str | None, weekday: bool = False) -> str:
    """`value` as people write it in `language`: 2026年12月16日（水） / Wed, 16 Dec 2026."""
    if is_japanese(language):
        text = f"{value.year}年{value.month}月{value.day}日"
        return f"{text}（{WEEKDAYS_JA[value.weekday()]}）" if weekday else text
    text = f"{value.day} {MONTHS_EN[value.month - 1]} {value.year}"
    return f"{WEEKDAYS_EN[value.weekday()]}, {text}" if weekday else text


def instant_text(value: datetime, *, language: str | None, weekday: bool = False) -> str:
    """`value` in JST to the minute: 2026年12月16日 14:05 / 16 Dec 2026 14:05 JST (the zone
    named in English, whose reader may be elsewhere)."""
    local = value.astimezone(TOKYO)
    day = date_text(local.date(), language=language, weekday=weekday)
    if is_japanese(language):
        return f"{day} {local:%H:%M}"
    return f"{day} {local:%H:%M} JST"


def revision_name(effective_on: date, *, language: str | None) -> str:
    """The name of a revision that staff did not name, from its effective date, in `language`:
    「2026年12月16日改定」 / "Revision of 16 Dec 2026" (pages, PDFs and e-mails alike)."""
    with translation.override(language or "ja"):
        return gettext("%(date)s改定") % {"date": date_text(effective_on, language=language)}
