"""When the jobs' own notices fall due: pure date rules, no ORM, no clock.

Each function answers "which notice is current on `today`?" rather than "is one due exactly
today?": a job that missed a day (worker down, a replay that skips) still sends the notice once,
late, instead of never. Older slots are not caught up: the newest one supersedes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

# Consent reminders in explicit mode (R4): 7 and 1 days before the effective date, the
# `outstanding` notice on it, then weekly while the answer is outstanding and its deadline
# (a gating policy's last day to answer) has not passed.
REMINDER_DAYS_BEFORE = (7, 1)
REMINDER_EVERY_DAYS_AFTER = 7
# Renewal notices (R11): 60 and 14 days before the non-renewal deadline.
RENEWAL_NOTICE_DAYS = (60, 14)
# The slot of the effective date itself: the notice that the answer is now outstanding.
OUTSTANDING = "outstanding"


@dataclass(frozen=True)
class Slot:
    """One notice occurrence: its date (part of its key) and a label for the message."""

    on: date
    label: str


def consent_reminder_slot(
    *, effective_on: date, today: date, deadline: date | None = None
) -> Slot | None:
    """The consent reminder current on `today`, if any.

    E−7 … E−2 → the 7-day reminder; E−1 → the 1-day reminder; E … E+6 → the `outstanding`
    notice of the effective date; E+7k … E+7k+6 → the k-th weekly reminder, only up to
    `deadline`, the last day to answer before a gating policy may limit use (R4). Without one
    (`deadline` None) the last day to answer was the day before the effective date: the
    `outstanding` notice is the last, and nothing reminds a tenant week after week of an
    answer whose day has passed. Past the deadline nothing is current (a reminder then could
    not be acted on in time), as with renewal notices.
    """
    delta = (today - effective_on).days
    if delta < 0:
        for days in sorted(REMINDER_DAYS_BEFORE):  # nearest first: 1, then 7
            if -delta <= days:
                return Slot(on=effective_on - timedelta(days=days), label=f"before{days}")
        return None
    weeks = delta // REMINDER_EVERY_DAYS_AFTER
    if weeks == 0:
        return Slot(on=effective_on, label=OUTSTANDING)
    if deadline is None or today > deadline:
        return None
    return Slot(
        on=effective_on + timedelta(days=weeks * REMINDER_EVERY_DAYS_AFTER), label=f"week{weeks}"
    )


def renewal_notice_slot(*, deadline: date, today: date) -> Slot | None:
    """The renewal notice current on `today`: the 60-day one until 15 days before, then the 14-day one.

    None before the 60-day mark and after the deadline (a notice then could not be acted on).
    """
    if today > deadline:
        return None
    left = (deadline - today).days
    for days in sorted(RENEWAL_NOTICE_DAYS):  # nearest first: 14, then 60
        if left <= days:
            return Slot(on=deadline - timedelta(days=days), label=f"d{days}")
    return None


def deletion_reminder_on(*, due_on: date, days: int) -> date:
    """The day staff are reminded of a deletion falling due on `due_on`."""
    return due_on - timedelta(days=days)
