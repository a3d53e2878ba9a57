from __future__ import annotations

from datetime import date

import pytest

from agreements.jobs.dates import Slot, consent_reminder_slot, renewal_notice_slot

pytestmark = pytest.mark.unit

E = date(2025, 4, 1)


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2025, 3, 24), None),  # E-8: too early
        (date(2025, 3, 25), Slot(date(2025, 3, 25), "before7")),  # E-7
        (date(2025, 3, 30), Slot(date(2025, 3, 25), "before7")),  # E-2: still the 7-day one
        (date(2025, 3, 31), Slot(date(2025, 3, 31), "before1")),  # E-1
        (date(2025, 4, 1), Slot(E, "outstanding")),  # E
        (date(2025, 4, 7), Slot(E, "outstanding")),  # E+6
        # Without a gating policy the last day to answer was E-1: no weekly reminders.
        (date(2025, 4, 8), None),  # E+7
        (date(2025, 6, 30), None),
    ],
)
def test_consent_reminder_slot_r4_7_and_1_days_before_then_the_outstanding_notice(today, expected):
    assert consent_reminder_slot(effective_on=E, today=today) == expected


GATE_DEADLINE = date(2025, 4, 21)  # a gating policy of 21 days: use may be limited from 04-22


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2025, 3, 25), Slot(date(2025, 3, 25), "before7")),
        (date(2025, 4, 1), Slot(E, "outstanding")),
        (date(2025, 4, 8), Slot(date(2025, 4, 8), "week1")),  # E+7
        (date(2025, 4, 14), Slot(date(2025, 4, 8), "week1")),
        (date(2025, 4, 15), Slot(date(2025, 4, 15), "week2")),
        (GATE_DEADLINE, Slot(date(2025, 4, 15), "week2")),  # the deadline itself still counts
        (date(2025, 4, 22), None),  # past the deadline: the reminders end
        (date(2025, 6, 30), None),
    ],
)
def test_consent_reminder_slot_r4_weekly_only_until_the_answer_deadline(today, expected):
    assert consent_reminder_slot(effective_on=E, today=today, deadline=GATE_DEADLINE) == expected


D = date(2025, 2, 28)  # deadline of a period ending 2025-03-31 with one month's notice


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2024, 12, 29), None),  # D-61
        (date(2024, 12, 30), Slot(date(2024, 12, 30), "d60")),  # D-60
        (date(2025, 2, 13), Slot(date(2024, 12, 30), "d60")),  # D-15
        (date(2025, 2, 14), Slot(date(2025, 2, 14), "d14")),  # D-14
        (D, Slot(date(2025, 2, 14), "d14")),  # the deadline itself still counts (R11)
        (date(2025, 3, 1), None),  # past the deadline: nothing to act on
    ],
)
def test_renewal_notice_slot_r11_60_and_14_days_before_deadline(today, expected):
    assert renewal_notice_slot(deadline=D, today=today) == expected
