from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from agreements.templatetags.jdates import days_until, format_date, format_instant
from core import clock

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("language", "weekday", "expected"),
    [
        ("ja", False, "2025年3月31日"),
        ("ja", True, "2025年3月31日（月）"),
        ("en", False, "31 Mar 2025"),
        ("en", True, "Mon, 31 Mar 2025"),
    ],
)
def test_format_date_per_language(language: str, weekday: bool, expected: str) -> None:
    with translation.override(language):
        assert format_date(date(2025, 3, 31), weekday=weekday) == expected


def test_format_instant_is_tokyo_time() -> None:
    instant = datetime(2025, 3, 31, 15, 30, tzinfo=ZoneInfo("UTC"))  # 00:30 JST on 04-01
    with translation.override("ja"):
        assert format_instant(instant) == "2025年4月1日 00:30"
        assert format_date(instant) == "2025年4月1日"
    with translation.override("en"):
        assert format_instant(instant) == "1 Apr 2025 00:30 JST"
        assert format_instant(instant, weekday=True) == "Tue, 1 Apr 2025 00:30 JST"


def test_days_until_counts_from_the_business_date() -> None:
    with clock.frozen_at(date(2025, 3, 10)):
        assert days_until(date(2025, 4, 1)) == 22
        assert days_until(date(2025, 3, 9)) == -1


def test_japanese_text_on_english_pages_keeps_a_japanese_weekday() -> None:
    """One date style per language: a date inside Japanese document text (the notice, R8) is
    2026年12月16日（水） on any page, never with an English weekday inside it."""
    from agreements.templatetags.jdates import day_before, jdate_wd_ja

    for language in ("ja", "en"):
        with translation.override(language):
            assert jdate_wd_ja(date(2026, 12, 16)) == "2026年12月16日（水）"
            assert format_date(date(2026, 12, 16), weekday=True) == (
                "2026年12月16日（水）" if language == "ja" else "Wed, 16 Dec 2026"
            )
    assert day_before(date(2025, 3, 1)) == date(2025, 2, 28)
    assert day_before(date(2024, 3, 1)) == date(2024, 2, 29)  # leap year
