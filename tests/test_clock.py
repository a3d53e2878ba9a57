from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine

from core import clock

pytestmark = pytest.mark.unit


def test_today_is_the_tokyo_date_not_utc() -> None:
    # 2025-03-31 15:30 UTC is already 2025-04-01 00:30 in Tokyo.
    with time_machine.travel(datetime(2025, 3, 31, 15, 30, tzinfo=UTC), tick=False):
        assert clock.today() == date(2025, 4, 1)


def test_frozen_at_moves_now_and_today_then_restores() -> None:
    before = clock.now()
    with clock.frozen_at(date(2030, 1, 2)):
        assert clock.today() == date(2030, 1, 2)
        assert clock.now().tzinfo is not None
    assert abs((clock.now() - before).total_seconds()) < 60


def test_start_of_day_is_midnight_jst() -> None:
    assert clock.start_of_day(date(2025, 4, 1)) == datetime(2025, 3, 31, 15, 0, tzinfo=UTC)
