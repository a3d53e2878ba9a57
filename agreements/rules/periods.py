"""Periods and renewals: chained usage periods (R10) and the non-renewal deadline (R11).

Business dates are JST and inclusive, as the contracts write them.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

ONE_DAY = timedelta(days=1)


# --- R10: periods (Biz 5.2; CC 138-143) -------------------------------------------------


def _shift_month(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


def _days_in_month(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def period_end(*, start: date, months: int, start_day_counts: bool = True) -> date:
    """Last day (inclusive) of a term of `months` months beginning on `start` (R10, CC 143(2)).

    The term ends on the day before the day of the Nth following month that corresponds to
    the first counted day, or, where that month has no such day, on that month's last day:
    2024-04-01 + 12 → 2025-03-31, 2024-01-31 + 1 → 2024-02-29, 2024-01-29 + 1 → 2024-02-28.
    With `start_day_counts=False` (CC 140: a first day that does not begin at 00:00 is not
    counted) counting starts on the next day.
    """
    if months < 1:
        raise ValueError(f"a term needs at least one month, got {months}")
    first = start if start_day_counts else start + ONE_DAY
    year, month = _shift_month(first.year, first.month, months)
    if first.day > _days_in_month(year, month):
        # CC 143(2) proviso: no corresponding day, so the month's last day ends the term.
        return date(year, month, _days_in_month(year, month))
    return date(year, month, first.day) - ONE_DAY


def next_period_start(*, previous_end: date) -> date:
    """First day of a renewed period: the day after the previous end (R10)."""
    return previous_end + ONE_DAY


def chained_periods(
    *, start: date, months: int, count: int, start_day_counts: bool = True
) -> list[tuple[date, date]]:
    """`count` consecutive periods of `months`, each starting the day after the last (R10).

    `start_day_counts` applies to the first period only: a renewal starts at 00:00 on the
    day after the previous end, so its first day always counts (CC 140 proviso).
    Returns inclusive (start, end) pairs; a 2024-01-31 monthly chain runs
    (01-31, 02-29), (03-01, 03-31), (04-01, 04-30).
    """
    if count < 0:
        raise ValueError(f"count must not be negative, got {count}")
    periods: list[tuple[date, date]] = []
    period_start = start
    counts = start_day_counts
    for _ in range(count):
        end = period_end(start=period_start, months=months, start_day_counts=counts)
        periods.append((period_start, end))
        period_start = next_period_start(previous_end=end)
        counts = True
    return periods


def period_containing(
    *, start: date, months: int, on: date, start_day_counts: bool = True
) -> tuple[date, date]:
    """The chained period (R10) that contains `on`, as an inclusive (start, end) pair."""
    if on < start:
        raise ValueError(f"{on} is before the first period starts on {start}")
    period_start, counts = start, start_day_counts
    while True:
        end = period_end(start=period_start, months=months, start_day_counts=counts)
        if on <= end:
            return period_start, end
        period_start, counts = next_period_start(previous_end=end), True


# --- R11: non-renewal (ID+ 5.4-5.5) ----------------------------------------------------


def _check_notice(notice_months: int, notice_days: int) -> None:
    if notice_months < 0 or notice_days < 0:
        raise ValueError("a notice period cannot be negative")
    if notice_months and notice_days:
        # A mixed "N months and M days" period has no settled counting rule; no document
        # uses one, so refuse it rather than guess.
        raise ValueError("give the notice period in months or in days, not both")


def non_renewal_deadline(*, end: date, notice_months: int, notice_days: int = 0) -> date:
    """Last day on which a non-renewal for the period ending on `end` is timely (R11, ID+ 5.5).

    「終了日の1か月以上前」 reads two ways, and a day missed costs a whole renewal, so the
    deadline is the later of:
    (a) the largest D whose notice period counted from D+1 (R10) ends on or before `end`,
        i.e. (end + 1 day − notice) − 1 day;
    (b) the day of `end` one notice period earlier, or that month's last day where it has no
        such day.
    end 2025-03-31 → 2025-02-28; 2025-04-30 → 2025-03-31 (a); 2025-05-30 → 2025-04-30 (b; (a)
    gives 04-29); 2025-03-30 → 2025-02-28 (b); 2026-02-28 → 2026-01-31 (a). A notice in
    days: D + days <= end. A zero notice makes the end date itself the deadline.
    """
    _check_notice(notice_months, notice_days)
    if notice_days:
        return end - timedelta(days=notice_days)
    if notice_months == 0:
        return end
    return max(
        _deadline_counting_from_next_day(end=end, notice_months=notice_months),
        _deadline_corresponding_day(end=end, notice_months=notice_months),
    )


def _deadline_counting_from_next_day(*, end: date, notice_months: int) -> date:
    """Reading (a) of R11: the notice counted from D+1 ends on or before `end`."""
    after = end + ONE_DAY
    year, month = _shift_month(after.year, after.month, -notice_months)
    day = min(after.day, _days_in_month(year, month))
    return date(year, month, day) - ONE_DAY


def _deadline_corresponding_day(*, end: date, notice_months: int) -> date:
    """Reading (b) of R11: the end's corresponding day, or the month's last day."""
    year, month = _shift_month(end.year, end.month, -notice_months)
    return date(year, month, min(end.day, _days_in_month(year, month)))


def is_non_renewal_timely(
    *, applied_on: date, end: date, notice_months: int, notice_days: int = 0
) -> bool:
    """Whether an application made on `applied_on` (JST) stops the renewal at `end` (R11).

    An application on the deadline itself counts.
    """
    deadline = non_renewal_deadline(end=end, notice_months=notice_months, notice_days=notice_days)
    return applied_on <= deadline


def next_possible_end(*, end: date, months: int) -> date:
    """End of the period after the one ending on `end` — offered when a non-renewal is late (R11)."""
    return period_end(start=next_period_start(previous_end=end), months=months)


def earliest_non_renewal_end(
    *, applied_on: date, end: date, months: int, notice_months: int, notice_days: int = 0
) -> date:
    """First period end, from `end` onwards, for which an application on `applied_on` is timely (R11).

    Equals `end` when timely and usually `next_possible_end` otherwise; it walks further
    only when the notice period is longer than a period (e.g. three months' notice on a
    monthly contract).
    """
    candidate = end
    while not is_non_renewal_timely(
        applied_on=applied_on, end=candidate, notice_months=notice_months, notice_days=notice_days
    ):
        candidate = next_possible_end(end=candidate, months=months)
    return candidate
