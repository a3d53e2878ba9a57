from __future__ import annotations

import calendar
import itertools
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given, settings
from hypothesis import strategies as st

from agreements.enums import (
    Answer,
    BillingCycle,
    ConsentMode,
    ConsentStatus,
    ContractStatus,
    DocumentKind,
    LegalBasis,
    TerminationReason,
)
from agreements.rules.binding import (
    ActiveContract,
    binding_documents,
    is_document_binding,
    on_548_4_ground,
)
from agreements.rules.consents import (
    REJECT_AFTER_EFFECTIVE,
    DocumentAnswer,
    TransitionNotAllowed,
    allowed_answers,
    answer_owed,
    consent_transition,
    gate_from,
    gate_in_force,
    is_tenant_allowed,
    status_after_effective,
)
from agreements.rules.endings import (
    backup_purge_due,
    claims_window_closes,
    end_status_for_reason,
    liability_cap,
    primary_deletion_from,
    rejection_end_date,
    requested_deletion_due,
)
from agreements.rules.periods import (
    chained_periods,
    earliest_non_renewal_end,
    is_non_renewal_timely,
    next_period_start,
    next_possible_end,
    non_renewal_deadline,
    period_containing,
    period_end,
)
from agreements.rules.versions import (
    earliest_effective_on,
    is_version_effective,
    revision_lapses,
    validate_schedule,
)

pytestmark = pytest.mark.unit

D = date.fromisoformat
ONE_DAY = timedelta(days=1)

# Years 1900-2200 cover 1900/2100 (not leap), 2000 (leap) and ordinary leap years.
dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31))
month_counts = st.integers(min_value=1, max_value=120)
quick = settings(deadline=None, max_examples=100)


# --- R10 period_end -------------------------------------------------------------------

PERIOD_END_CASES = [
    # R10 examples (docs/rules.md)
    ("2024-04-01", 12, "2025-03-31"),
    ("2024-01-31", 1, "2024-02-29"),
    # the corresponding day exists: the day before it
    ("2024-01-01", 1, "2024-01-31"),
    ("2024-01-01", 12, "2024-12-31"),
    ("2024-03-01", 1, "2024-03-31"),
    ("2024-12-01", 1, "2024-12-31"),
    ("2024-12-15", 1, "2025-01-14"),
    ("2024-12-31", 1, "2025-01-30"),  # January has a 31st
    ("2024-07-31", 1, "2024-08-30"),  # August has a 31st
    ("2024-03-30", 1, "2024-04-29"),
    ("2024-04-30", 1, "2024-05-29"),
    ("2024-04-15", 24, "2026-04-14"),
    ("2024-04-01", 36, "2027-03-31"),
    ("2024-05-31", 120, "2034-05-30"),
    # no corresponding day in a 30-day month: its last day
    ("2024-03-31", 1, "2024-04-30"),
    ("2024-05-31", 1, "2024-06-30"),
    ("2024-08-31", 1, "2024-09-30"),
    ("2024-10-31", 1, "2024-11-30"),
    # February, leap and not
    ("2024-01-29", 1, "2024-02-28"),  # 2024-02-29 exists
    ("2024-01-30", 1, "2024-02-29"),
    ("2023-01-28", 1, "2023-02-27"),
    ("2023-01-29", 1, "2023-02-28"),  # no 2023-02-29
    ("2023-01-30", 1, "2023-02-28"),
    ("2023-01-31", 1, "2023-02-28"),
    ("2024-11-30", 3, "2025-02-28"),
    ("2023-11-30", 3, "2024-02-29"),
    ("2024-08-31", 6, "2025-02-28"),
    ("2027-08-31", 6, "2028-02-29"),
    ("2000-01-29", 1, "2000-02-28"),  # 2000 is a leap year
    ("2000-01-31", 1, "2000-02-29"),
    ("2100-01-29", 1, "2100-02-28"),  # 2100 is not
    ("2100-01-31", 1, "2100-02-28"),
    ("2099-03-31", 11, "2100-02-28"),
    # starting on 29 February
    ("2024-02-29", 1, "2024-03-28"),
    ("2024-02-29", 12, "2025-02-28"),
    ("2024-02-29", 48, "2028-02-28"),
    ("2096-02-29", 48, "2100-02-28"),
    ("2024-02-28", 12, "2025-02-27"),
    ("2023-02-28", 12, "2024-02-27"),
]


@pytest.mark.parametrize(("start", "months", "end"), PERIOD_END_CASES)
def test_period_end_r10_start_day_counts(start: str, months: int, end: str) -> None:
    assert period_end(start=D(start), months=months) == D(end)


def test_period_end_r10_start_on_31st_ends_on_month_end() -> None:
    assert period_end(start=D("2024-01-31"), months=1) == D("2024-02-29")
    assert period_end(start=D("2025-01-31"), months=1) == D("2025-02-28")
    assert period_end(start=D("2024-03-31"), months=1) == D("2024-04-30")


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        ("2024-03-31", 1, "2024-04-30"),  # counting starts 04-01
        ("2024-01-30", 1, "2024-02-29"),  # counting starts 01-31
        ("2024-01-31", 1, "2024-02-29"),  # counting starts 02-01
        ("2024-04-01", 12, "2025-04-01"),  # counting starts 04-02
        ("2024-12-31", 1, "2025-01-31"),
        ("2024-02-28", 1, "2024-03-28"),  # counting starts 02-29
        ("2023-02-28", 1, "2023-03-31"),  # counting starts 03-01
    ],
)
def test_period_end_r10_cc140_first_day_not_counted(start: str, months: int, end: str) -> None:
    assert period_end(start=D(start), months=months, start_day_counts=False) == D(end)


@pytest.mark.parametrize("months", [0, -1, -12])
def test_period_end_r10_rejects_non_positive_months(months: int) -> None:
    with pytest.raises(ValueError, match="at least one month"):
        period_end(start=D("2024-04-01"), months=months)


@quick
@given(start=dates, months=month_counts)
def test_period_end_r10_matches_relativedelta_reading(start: date, months: int) -> None:
    """Cross-check with dateutil: relativedelta clamps a missing day to the month's end."""
    shifted = start + relativedelta(months=months)
    if shifted.day == start.day:  # the corresponding day exists
        assert period_end(start=start, months=months) == shifted - ONE_DAY
    else:  # CC 143(2) proviso: the last day of that month
        assert period_end(start=start, months=months) == shifted
        assert shifted.day == calendar.monthrange(shifted.year, shifted.month)[1]


@quick
@given(start=dates, months=month_counts)
def test_period_end_r10_is_at_least_start_and_at_most_n_months(start: date, months: int) -> None:
    end = period_end(start=start, months=months)
    assert start <= end < start + relativedelta(months=months + 1)


@quick
@given(start=dates, months=month_counts)
def test_period_end_r10_is_monotone_in_start(start: date, months: int) -> None:
    assert period_end(start=start, months=months) <= period_end(
        start=start + ONE_DAY, months=months
    )


@quick
@given(start=dates, months=month_counts)
def test_period_end_r10_cc140_equals_counting_from_next_day(start: date, months: int) -> None:
    assert period_end(start=start, months=months, start_day_counts=False) == period_end(
        start=start + ONE_DAY, months=months
    )


@quick
@given(start=dates, a=st.integers(1, 60), b=st.integers(1, 60))
def test_period_end_r10_chaining_composes_for_first_day_starts(start: date, a: int, b: int) -> None:
    """From the 1st of a month, a months then b months equals a + b months."""
    first = start.replace(day=1)
    middle = period_end(start=first, months=a)
    assert period_end(start=middle + ONE_DAY, months=b) == period_end(start=first, months=a + b)


# --- R10 chained periods ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        # R10: 2024-01-31 monthly: 2024-02-29, then 2024-03-31
        (
            "2024-01-31",
            1,
            [
                ("2024-01-31", "2024-02-29"),
                ("2024-03-01", "2024-03-31"),
                ("2024-04-01", "2024-04-30"),
                ("2024-05-01", "2024-05-31"),
            ],
        ),
        (
            "2023-12-31",
            1,
            [
                ("2023-12-31", "2024-01-30"),
                ("2024-01-31", "2024-02-29"),
                ("2024-03-01", "2024-03-31"),
            ],
        ),
        (
            "2024-04-01",
            12,
            [
                ("2024-04-01", "2025-03-31"),
                ("2025-04-01", "2026-03-31"),
                ("2026-04-01", "2027-03-31"),
            ],
        ),
        (
            "2024-02-29",
            12,
            [
                ("2024-02-29", "2025-02-28"),
                ("2025-03-01", "2026-02-28"),
                ("2026-03-01", "2027-02-28"),
                ("2027-03-01", "2028-02-29"),
            ],
        ),
        ("2024-04-01", 36, [("2024-04-01", "2027-03-31"), ("2027-04-01", "2030-03-31")]),
        ("2023-03-01", 24, [("2023-03-01", "2025-02-28"), ("2025-03-01", "2027-02-28")]),
        (
            "2024-11-30",
            3,
            [
                ("2024-11-30", "2025-02-28"),
                ("2025-03-01", "2025-05-31"),
                ("2025-06-01", "2025-08-31"),
            ],
        ),
        ("2024-04-01", 12, []),
    ],
    ids=["monthly-31st", "monthly-dec31", "annual", "annual-feb29", "3y", "2y", "quarterly", "0"],
)
def test_chained_periods_r10_monthly_annual_multi_year(
    start: str, months: int, expected: list[tuple[str, str]]
) -> None:
    periods = chained_periods(start=D(start), months=months, count=len(expected))
    assert periods == [(D(a), D(b)) for a, b in expected]


def test_chained_periods_r10_cc140_applies_to_first_period_only() -> None:
    periods = chained_periods(start=D("2024-03-31"), months=1, count=3, start_day_counts=False)
    assert periods == [
        (D("2024-03-31"), D("2024-04-30")),
        (D("2024-05-01"), D("2024-05-31")),
        (D("2024-06-01"), D("2024-06-30")),
    ]


def test_chained_periods_r10_rejects_negative_count() -> None:
    with pytest.raises(ValueError, match="negative"):
        chained_periods(start=D("2024-04-01"), months=1, count=-1)


@pytest.mark.parametrize(
    ("previous_end", "start"),
    [("2024-02-29", "2024-03-01"), ("2024-12-31", "2025-01-01"), ("2100-02-28", "2100-03-01")],
)
def test_next_period_start_r10_is_day_after_end(previous_end: str, start: str) -> None:
    assert next_period_start(previous_end=D(previous_end)) == D(start)


@quick
@given(start=dates, months=month_counts, count=st.integers(1, 12))
def test_chained_periods_r10_are_contiguous(start: date, months: int, count: int) -> None:
    periods = chained_periods(start=start, months=months, count=count)
    assert len(periods) == count
    assert periods[0][0] == start
    for (_, end), (next_start, _) in itertools.pairwise(periods):
        assert next_start == end + ONE_DAY == next_period_start(previous_end=end)
    for period_start, end in periods:
        assert end == period_end(start=period_start, months=months)


@pytest.mark.parametrize(
    ("start", "months", "on", "expected"),
    [
        ("2024-01-31", 1, "2024-01-31", ("2024-01-31", "2024-02-29")),
        ("2024-01-31", 1, "2024-02-29", ("2024-01-31", "2024-02-29")),
        ("2024-01-31", 1, "2024-03-01", ("2024-03-01", "2024-03-31")),
        ("2024-01-31", 1, "2024-04-15", ("2024-04-01", "2024-04-30")),
        ("2024-04-01", 12, "2026-03-31", ("2025-04-01", "2026-03-31")),
        ("2024-04-01", 12, "2026-04-01", ("2026-04-01", "2027-03-31")),
    ],
)
def test_period_containing_r10(start: str, months: int, on: str, expected: tuple[str, str]) -> None:
    assert period_containing(start=D(start), months=months, on=D(on)) == (
        D(expected[0]),
        D(expected[1]),
    )


def test_period_containing_r10_rejects_day_before_start() -> None:
    with pytest.raises(ValueError, match="before the first period"):
        period_containing(start=D("2024-04-01"), months=1, on=D("2024-03-31"))


@quick
@given(start=dates, months=st.integers(1, 36), offset=st.integers(0, 2000))
def test_period_containing_r10_is_a_chained_period(start: date, months: int, offset: int) -> None:
    on = start + timedelta(days=offset)
    period_start, end = period_containing(start=start, months=months, on=on)
    assert period_start <= on <= end
    assert (period_start, end) in chained_periods(
        start=start, months=months, count=offset // 28 + 2
    )


# --- R11 non-renewal ------------------------------------------------------------------

DEADLINE_CASES = [
    # R11 examples (docs/rules.md)
    ("2025-03-31", 1, "2025-02-28"),
    ("2025-04-30", 1, "2025-03-31"),
    ("2026-02-28", 1, "2026-01-31"),
    # leap February
    ("2024-02-29", 1, "2024-01-31"),
    ("2024-02-28", 1, "2024-01-28"),
    # ends whose next day has no counterpart a month earlier: reading (b) is later (R11)
    ("2025-03-30", 1, "2025-02-28"),  # (b); (a) gives 02-27
    ("2025-03-29", 1, "2025-02-28"),  # (b)
    ("2025-03-28", 1, "2025-02-28"),  # (b)
    ("2025-03-27", 1, "2025-02-27"),
    ("2024-03-30", 1, "2024-02-29"),  # (b), leap year
    ("2024-03-29", 1, "2024-02-29"),  # (b), leap year
    ("2025-05-30", 1, "2025-04-30"),  # (b); (a) gives 04-29
    ("2100-03-31", 1, "2100-02-28"),
    ("2100-03-30", 1, "2100-02-28"),  # (b)
    # year boundaries
    ("2025-12-31", 1, "2025-11-30"),
    ("2025-01-31", 1, "2024-12-31"),
    ("2025-01-30", 1, "2024-12-30"),
    ("2025-01-15", 1, "2024-12-15"),
    # longer notice periods
    ("2025-03-31", 3, "2024-12-31"),
    ("2025-05-31", 3, "2025-02-28"),
    ("2025-04-30", 2, "2025-02-28"),
    ("2025-04-29", 2, "2025-02-28"),  # (b)
    ("2025-02-28", 12, "2024-02-29"),
    ("2024-02-28", 12, "2023-02-28"),  # (b)
    ("2027-03-31", 6, "2026-09-30"),
    # no notice: the end date itself
    ("2025-03-31", 0, "2025-03-31"),
]


@pytest.mark.parametrize(("end", "notice_months", "deadline"), DEADLINE_CASES)
def test_non_renewal_deadline_r11(end: str, notice_months: int, deadline: str) -> None:
    assert non_renewal_deadline(end=D(end), notice_months=notice_months) == D(deadline)


def _timely_by_either_reading(applied_on: date, end: date, notice_months: int) -> bool:
    """R11: (a) the notice counted from D+1 ends by `end`, or (b) D is on or before the end's
    corresponding day one notice period earlier (the month's last day where it has none)."""
    reading_a = period_end(start=applied_on + ONE_DAY, months=notice_months) <= end
    year, month = divmod(end.year * 12 + end.month - 1 - notice_months, 12)
    last = calendar.monthrange(year, month + 1)[1]
    reading_b = applied_on <= date(year, month + 1, min(end.day, last))
    return reading_a or reading_b


@pytest.mark.parametrize(("end", "notice_months", "deadline"), DEADLINE_CASES)
def test_non_renewal_deadline_r11_is_largest_timely_day(
    end: str, notice_months: int, deadline: str
) -> None:
    """The table agrees with the rule itself: the deadline is timely, the next day is not."""
    if notice_months == 0:
        return
    assert _timely_by_either_reading(D(deadline), D(end), notice_months)
    assert not _timely_by_either_reading(D(deadline) + ONE_DAY, D(end), notice_months)


@pytest.mark.parametrize(
    ("end", "reading_a", "reading_b"),
    [
        ("2025-03-31", "2025-02-28", "2025-02-28"),
        ("2025-04-30", "2025-03-31", "2025-03-30"),
        ("2025-05-30", "2025-04-29", "2025-04-30"),
        ("2025-03-30", "2025-02-27", "2025-02-28"),
        ("2026-02-28", "2026-01-31", "2026-01-28"),
        ("2024-03-30", "2024-02-28", "2024-02-29"),
        ("2024-02-29", "2024-01-31", "2024-01-29"),
    ],
)
def test_non_renewal_deadline_r11_is_the_later_of_the_two_readings(
    end: str, reading_a: str, reading_b: str
) -> None:
    """DESIGN's examples: a day missed costs a renewal, so the later reading wins."""
    assert non_renewal_deadline(end=D(end), notice_months=1) == max(D(reading_a), D(reading_b))
    assert _timely_by_either_reading(D(reading_a), D(end), 1)
    assert _timely_by_either_reading(D(reading_b), D(end), 1)


@pytest.mark.parametrize(
    ("end", "notice_days", "deadline"),
    [
        ("2025-03-31", 30, "2025-03-01"),
        ("2025-03-31", 90, "2024-12-31"),
        ("2024-03-01", 1, "2024-02-29"),
        ("2025-03-31", 0, "2025-03-31"),
    ],
)
def test_non_renewal_deadline_r11_notice_in_days(end: str, notice_days: int, deadline: str) -> None:
    assert non_renewal_deadline(end=D(end), notice_months=0, notice_days=notice_days) == D(deadline)


@pytest.mark.parametrize(
    ("notice_months", "notice_days", "message"),
    [(1, 30, "not both"), (-1, 0, "negative"), (0, -1, "negative")],
)
def test_non_renewal_deadline_r11_rejects_bad_notice(
    notice_months: int, notice_days: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        non_renewal_deadline(
            end=D("2025-03-31"), notice_months=notice_months, notice_days=notice_days
        )


@pytest.mark.parametrize(
    ("applied_on", "timely"),
    [
        ("2025-01-15", True),
        ("2025-02-27", True),
        ("2025-02-28", True),  # on the deadline (JST) counts
        ("2025-03-01", False),
        ("2025-03-31", False),
    ],
)
def test_is_non_renewal_timely_r11_deadline_day_counts(applied_on: str, timely: bool) -> None:
    assert (
        is_non_renewal_timely(applied_on=D(applied_on), end=D("2025-03-31"), notice_months=1)
        is timely
    )


@quick
@given(end=dates, notice_months=st.integers(1, 36), offset=st.integers(-800, 800))
def test_non_renewal_deadline_r11_equivalence(end: date, notice_months: int, offset: int) -> None:
    """For every D: D <= deadline ⇔ D is timely under reading (a) or reading (b)."""
    deadline = non_renewal_deadline(end=end, notice_months=notice_months)
    for applied_on in (deadline, deadline + ONE_DAY, deadline + timedelta(days=offset)):
        timely = _timely_by_either_reading(applied_on, end, notice_months)
        assert (applied_on <= deadline) == timely
        assert (
            is_non_renewal_timely(applied_on=applied_on, end=end, notice_months=notice_months)
            == timely
        )


@pytest.mark.parametrize(
    ("first", "last"),
    [("2023-01-01", "2025-12-31"), ("2099-01-01", "2101-12-31")],
    ids=["2023-2025", "2099-2101"],
)
def test_non_renewal_deadline_r11_equivalence_every_end(first: str, last: str) -> None:
    """Every end date in three years (a leap year inside), notice of 1-13 months.

    Both readings are monotone in D, so the equivalence holds for every D once the deadline
    is timely and the day after it is not; the deadline is never before reading (a).
    """
    end = D(first)
    while end <= D(last):
        for notice_months in range(1, 14):
            deadline = non_renewal_deadline(end=end, notice_months=notice_months)
            assert _timely_by_either_reading(deadline, end, notice_months)
            assert not _timely_by_either_reading(deadline + ONE_DAY, end, notice_months)
            assert period_end(start=deadline + ONE_DAY, months=notice_months) <= end + 3 * ONE_DAY
        end += ONE_DAY


@quick
@given(end=dates, notice_days=st.integers(1, 400), offset=st.integers(-800, 800))
def test_non_renewal_deadline_r11_equivalence_in_days(
    end: date, notice_days: int, offset: int
) -> None:
    deadline = non_renewal_deadline(end=end, notice_months=0, notice_days=notice_days)
    for applied_on in (deadline, deadline + ONE_DAY, deadline + timedelta(days=offset)):
        # a term of N days counting its first day D+1 ends on D+N
        notice_ends = applied_on + timedelta(days=notice_days)
        assert (applied_on <= deadline) == (notice_ends <= end)


@pytest.mark.parametrize(
    ("end", "months", "next_end"),
    [
        ("2025-03-31", 1, "2025-04-30"),
        ("2025-03-31", 12, "2026-03-31"),
        ("2024-02-29", 1, "2024-03-31"),
        ("2024-02-29", 12, "2025-02-28"),
        ("2025-01-30", 1, "2025-02-28"),
        ("2027-03-31", 36, "2030-03-31"),
    ],
)
def test_next_possible_end_r11_is_end_of_next_period(end: str, months: int, next_end: str) -> None:
    assert next_possible_end(end=D(end), months=months) == D(next_end)


@pytest.mark.parametrize(
    ("applied_on", "end", "months", "notice_months", "expected"),
    [
        ("2025-02-28", "2025-03-31", 1, 1, "2025-03-31"),  # timely
        ("2025-03-05", "2025-03-31", 1, 1, "2025-04-30"),  # late: the next end
        ("2025-03-05", "2025-03-31", 12, 1, "2026-03-31"),
        ("2025-03-05", "2025-03-31", 1, 3, "2025-06-30"),  # notice longer than the period
    ],
)
def test_earliest_non_renewal_end_r11(
    applied_on: str, end: str, months: int, notice_months: int, expected: str
) -> None:
    result = earliest_non_renewal_end(
        applied_on=D(applied_on), end=D(end), months=months, notice_months=notice_months
    )
    assert result == D(expected)


@quick
@given(
    end=dates,
    months=st.integers(1, 36),
    notice_months=st.integers(1, 12),
    late_by=st.integers(1, 400),
)
def test_earliest_non_renewal_end_r11_is_first_timely_chain_end(
    end: date, months: int, notice_months: int, late_by: int
) -> None:
    applied_on = non_renewal_deadline(end=end, notice_months=notice_months) + timedelta(
        days=late_by
    )
    result = earliest_non_renewal_end(
        applied_on=applied_on, end=end, months=months, notice_months=notice_months
    )
    assert is_non_renewal_timely(applied_on=applied_on, end=result, notice_months=notice_months)
    ends = [e for _, e in chained_periods(start=end + ONE_DAY, months=months, count=40)]
    assert result in ends
    for earlier in [end, *ends[: ends.index(result)]]:
        assert not is_non_renewal_timely(
            applied_on=applied_on, end=earlier, notice_months=notice_months
        )


# --- R15 deletion, R16 claims window ---------------------------------------------------


@pytest.mark.parametrize(
    ("end", "due"),
    [
        ("2025-03-31", "2025-05-01"),  # R15
        ("2025-01-31", "2025-03-01"),
        ("2024-01-31", "2024-03-01"),
        ("2025-01-30", "2025-03-01"),  # 01-31 + 1 month: no 02-31, so 02-28 ends it
        ("2025-01-15", "2025-02-16"),
        ("2025-12-31", "2026-02-01"),
        ("2024-02-29", "2024-04-01"),
        ("2025-04-30", "2025-06-01"),
        ("2100-01-31", "2100-03-01"),
    ],
)
def test_primary_deletion_from_r15_day_after_one_month(end: str, due: str) -> None:
    assert primary_deletion_from(end=D(end)) == D(due)


@pytest.mark.parametrize(
    ("end", "requested_on", "grace_days", "due"),
    [
        ("2025-03-31", "2025-03-01", 14, "2025-04-01"),  # at cancellation: the day after the end
        ("2025-03-31", "2025-03-18", 14, "2025-04-01"),  # both the same day
        ("2025-03-31", "2025-03-20", 14, "2025-04-03"),
        ("2025-03-31", "2025-05-10", 14, "2025-05-24"),  # after the end
        ("2025-03-31", "2025-05-10", 0, "2025-05-10"),
        ("2025-03-31", "2025-03-01", 0, "2025-04-01"),
        ("2024-12-31", "2024-12-25", 14, "2025-01-08"),
    ],
)
def test_requested_deletion_due_r15_later_of_end_and_grace(
    end: str, requested_on: str, grace_days: int, due: str
) -> None:
    assert requested_deletion_due(
        end=D(end), requested_on=D(requested_on), grace_days=grace_days
    ) == D(due)


def test_requested_deletion_due_r15_default_grace_is_14_days() -> None:
    assert requested_deletion_due(end=D("2025-03-31"), requested_on=D("2025-05-10")) == D(
        "2025-05-24"
    )


def test_requested_deletion_due_r15_rejects_negative_grace() -> None:
    with pytest.raises(ValueError, match="negative"):
        requested_deletion_due(end=D("2025-03-31"), requested_on=D("2025-04-01"), grace_days=-1)


@pytest.mark.parametrize(
    ("end", "due"),
    [
        ("2025-03-31", "2026-04-01"),  # R15
        ("2024-02-29", "2025-03-01"),
        ("2024-02-28", "2025-03-01"),  # 02-29 + 1 year: no 2025-02-29, so 02-28 ends it
        ("2023-02-28", "2024-03-01"),
        ("2025-12-31", "2027-01-01"),
        ("2099-02-28", "2100-03-01"),
        ("2025-06-15", "2026-06-16"),
    ],
)
def test_backup_purge_due_r15_day_after_one_year(end: str, due: str) -> None:
    assert backup_purge_due(end=D(end)) == D(due)


@pytest.mark.parametrize(
    ("end", "closes"),
    [
        ("2025-03-31", "2025-06-30"),  # R16
        ("2025-11-30", "2026-02-28"),
        ("2023-11-30", "2024-02-29"),
        ("2025-11-29", "2026-02-28"),  # 11-30 + 3 months: no 02-30
        ("2025-05-31", "2025-08-31"),
        ("2025-01-31", "2025-04-30"),
        ("2024-12-31", "2025-03-31"),
        ("2025-06-15", "2025-09-15"),
        ("2099-11-30", "2100-02-28"),
    ],
)
def test_claims_window_closes_r16_three_months_inclusive(end: str, closes: str) -> None:
    assert claims_window_closes(end=D(end)) == D(closes)


@quick
@given(end=dates, requested_offset=st.integers(-365, 365), grace_days=st.integers(0, 60))
def test_end_dates_r15_r16_are_ordered(end: date, requested_offset: int, grace_days: int) -> None:
    primary = primary_deletion_from(end=end)
    closes = claims_window_closes(end=end)
    backup = backup_purge_due(end=end)
    assert end < primary <= closes < backup
    assert primary - timedelta(days=32) <= end <= primary - timedelta(days=29)
    assert backup - timedelta(days=367) <= end <= backup - timedelta(days=365)
    requested = requested_deletion_due(
        end=end, requested_on=end + timedelta(days=requested_offset), grace_days=grace_days
    )
    assert requested > end
    assert requested >= end + timedelta(days=requested_offset + grace_days)


# --- R17 liability cap ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("billing_cycle", "amount_jpy", "lump_sum_jpy", "cycle_months", "cap"),
    [
        ("monthly", 10_000, None, None, 30_000),
        ("monthly", 10_000, 20_000, None, 20_000),  # the lump sum is lower
        ("monthly", 10_000, 50_000, None, 30_000),
        ("monthly", 10_000, 30_000, None, 30_000),
        ("monthly", 10_000, 0, None, 30_000),  # zero lump sum: none was paid
        ("monthly", 0, None, None, 0),
        ("monthly", None, None, None, None),
        ("monthly", None, 5_000, None, 5_000),
        ("monthly", 10_000, None, 24, 30_000),  # cycle_months is only for multi-year
        ("annual", 120_000, None, None, 30_000),
        ("annual", 100_001, None, None, 25_000),  # rounded down
        ("annual", 3, None, None, 0),
        ("annual", 120_000, 10_000, None, 10_000),
        ("annual", 120_000, None, 12, 30_000),
        ("multi_year", 360_000, None, 36, 30_000),  # a quarter of 120,000 a year
        ("multi_year", 240_000, None, 24, 30_000),
        ("multi_year", 100_000, None, 36, 8_333),  # 8,333.33… rounded down once
        ("multi_year", 360_000, 20_000, 36, 20_000),
        ("multi_year", None, None, None, None),
        ("multi_year", None, 70_000, None, 70_000),
        ("lump_sum", None, 500_000, None, 500_000),
        ("lump_sum", 500_000, None, None, 500_000),
        ("lump_sum", 500_000, 400_000, None, 400_000),
        ("lump_sum", None, None, None, None),
    ],
)
def test_liability_cap_r17(
    billing_cycle: str,
    amount_jpy: int | None,
    lump_sum_jpy: int | None,
    cycle_months: int | None,
    cap: int | None,
) -> None:
    assert (
        liability_cap(
            billing_cycle=billing_cycle,
            amount_jpy=amount_jpy,
            lump_sum_jpy=lump_sum_jpy,
            cycle_months=cycle_months,
        )
        == cap
    )


def test_liability_cap_r17_accepts_enum_members() -> None:
    assert (
        liability_cap(billing_cycle=BillingCycle.ANNUAL, amount_jpy=120_000, lump_sum_jpy=None)
        == 30_000
    )


@pytest.mark.parametrize(
    ("billing_cycle", "amount_jpy", "lump_sum_jpy", "cycle_months"),
    [
        ("multi_year", 360_000, None, None),
        ("multi_year", 360_000, None, 0),
        ("weekly", 1_000, None, None),
        ("monthly", -1, None, None),
        ("monthly", 1_000, -1, None),
    ],
)
def test_liability_cap_r17_rejects_bad_input(
    billing_cycle: str, amount_jpy: int | None, lump_sum_jpy: int | None, cycle_months: int | None
) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 -- several distinct messages
        liability_cap(
            billing_cycle=billing_cycle,
            amount_jpy=amount_jpy,
            lump_sum_jpy=lump_sum_jpy,
            cycle_months=cycle_months,
        )


@quick
@given(
    billing_cycle=st.sampled_from(["monthly", "annual", "multi_year"]),
    amount=st.integers(0, 10**9),
    lump=st.one_of(st.none(), st.integers(1, 10**9)),
    cycle_months=st.integers(13, 120),
)
def test_liability_cap_r17_never_exceeds_a_known_limb(
    billing_cycle: str, amount: int, lump: int | None, cycle_months: int
) -> None:
    cap = liability_cap(
        billing_cycle=billing_cycle, amount_jpy=amount, lump_sum_jpy=lump, cycle_months=cycle_months
    )
    assert cap is not None
    assert cap <= 3 * amount
    if lump is not None:
        assert cap <= lump
    if billing_cycle == "multi_year":
        # exact arithmetic: cap ≤ (amount × 12 / cycle_months) / 4 < cap + 1
        assert cap * 4 * cycle_months <= amount * 12 or lump is not None


@pytest.mark.parametrize(
    ("amount_jpy", "lump_sum_jpy", "right_of_use_months", "cap"),
    [
        (None, 360_000, 36, 30_000),  # 120,000 a year → a quarter
        (None, 120_000, 12, 30_000),
        (None, 240_000, 24, 30_000),
        (None, 100_000, 36, 8_333),  # rounded down once
        (360_000, None, 36, 30_000),  # only the amount was recorded
        (None, 9_000, 1, 9_000),  # a one-month right: the payment itself is lower
        (None, 360_000, None, 360_000),  # no length known: the payment is all that is known
    ],
)
def test_liability_cap_r17_lump_sum_alone_is_converted_to_annual(
    amount_jpy: int | None, lump_sum_jpy: int | None, right_of_use_months: int | None, cap: int
) -> None:
    assert (
        liability_cap(
            billing_cycle="lump_sum",
            amount_jpy=amount_jpy,
            lump_sum_jpy=lump_sum_jpy,
            right_of_use_months=right_of_use_months,
        )
        == cap
    )


def test_liability_cap_r17_right_of_use_needs_a_month() -> None:
    with pytest.raises(ValueError, match="at least one month"):
        liability_cap(
            billing_cycle="lump_sum", amount_jpy=None, lump_sum_jpy=1, right_of_use_months=0
        )


@pytest.mark.parametrize(
    ("end", "months", "closes"),
    [
        ("2025-03-31", 3, "2025-06-30"),
        ("2024-11-30", 3, "2025-02-28"),
        ("2023-11-30", 3, "2024-02-29"),  # leap February
        ("2025-01-31", 1, "2025-02-28"),
    ],
)
def test_claims_window_closes_r16_months_come_from_the_rulebook(
    end: str, months: int, closes: str
) -> None:
    assert claims_window_closes(end=D(end), months=months) == D(closes)


@pytest.mark.parametrize(
    ("end", "primary_months", "backup_months", "primary", "backup"),
    [
        ("2025-03-31", 1, 12, "2025-05-01", "2026-04-01"),
        ("2024-02-29", 1, 12, "2024-04-01", "2025-03-01"),  # leap day end
        ("2025-01-30", 1, 12, "2025-03-01", "2026-01-31"),
        ("2025-03-31", 2, 24, "2025-06-01", "2027-04-01"),
    ],
)
def test_deletion_dates_r15_timetable_comes_from_the_rulebook(
    end: str, primary_months: int, backup_months: int, primary: str, backup: str
) -> None:
    assert primary_deletion_from(end=D(end), months=primary_months) == D(primary)
    assert backup_purge_due(end=D(end), months=backup_months) == D(backup)


# --- R14 end status -------------------------------------------------------------------


@pytest.mark.parametrize("reason", list(TerminationReason))
def test_end_status_for_reason_r14(reason: TerminationReason) -> None:
    expected = (
        ContractStatus.ENDED
        if reason in {TerminationReason.NON_RENEWAL, TerminationReason.EXPIRED}
        else ContractStatus.TERMINATED
    )
    assert end_status_for_reason(reason) == expected
    assert end_status_for_reason(reason.value) == expected


def test_end_status_for_reason_r14_rejects_unknown_reason() -> None:
    with pytest.raises(ValueError, match="not a valid"):
        end_status_for_reason("bored")


# --- R6 rejection end date ------------------------------------------------------------


@pytest.mark.parametrize(
    ("effective_on", "confirmed_on", "notice_days", "end"),
    [
        ("2025-05-01", "2025-04-10", 30, "2025-05-10"),  # notice outlasts the effective date
        ("2025-06-01", "2025-04-10", 30, "2025-06-01"),  # the effective date is later
        ("2025-05-10", "2025-04-10", 30, "2025-05-10"),  # the same day
        ("2025-05-01", "2025-07-01", 30, "2025-07-31"),  # confirmed after the effective date
        ("2025-05-01", "2025-07-01", 0, "2025-07-01"),  # never before confirmation
        ("2025-06-01", "2025-04-10", 0, "2025-06-01"),
        ("2024-02-01", "2024-01-30", 30, "2024-02-29"),
    ],
)
def test_rejection_end_date_r6(
    effective_on: str, confirmed_on: str, notice_days: int, end: str
) -> None:
    assert rejection_end_date(
        effective_on=D(effective_on), confirmed_on=D(confirmed_on), notice_days=notice_days
    ) == D(end)


def test_rejection_end_date_r6_default_notice_is_30_days() -> None:
    assert rejection_end_date(effective_on=D("2025-05-01"), confirmed_on=D("2025-04-10")) == D(
        "2025-05-10"
    )


def test_rejection_end_date_r6_rejects_negative_notice() -> None:
    with pytest.raises(ValueError, match="negative"):
        rejection_end_date(
            effective_on=D("2025-05-01"), confirmed_on=D("2025-04-10"), notice_days=-1
        )


@quick
@given(effective_on=dates, confirmed_on=dates, notice_days=st.integers(0, 120))
def test_rejection_end_date_r6_is_never_retroactive(
    effective_on: date, confirmed_on: date, notice_days: int
) -> None:
    end = rejection_end_date(
        effective_on=effective_on, confirmed_on=confirmed_on, notice_days=notice_days
    )
    assert end >= confirmed_on + timedelta(days=notice_days)
    assert end >= effective_on
    assert end in {effective_on, confirmed_on + timedelta(days=notice_days)}


# --- R2 scheduling --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("notice_on", "lead_days", "earliest"),
    [
        ("2022-04-19", 8, "2022-04-27"),  # seed 003
        ("2022-04-19", 7, "2022-04-26"),  # the default lead time
        ("2024-02-25", 7, "2024-03-03"),
        ("2023-02-25", 7, "2023-03-04"),
        ("2025-12-28", 7, "2026-01-04"),
        ("2025-12-28", 0, "2025-12-28"),
    ],
)
def test_earliest_effective_on_r2(notice_on: str, lead_days: int, earliest: str) -> None:
    assert earliest_effective_on(notice_on=D(notice_on), lead_days=lead_days) == D(earliest)


def test_earliest_effective_on_r2_rejects_negative_lead() -> None:
    with pytest.raises(ValueError, match="negative"):
        earliest_effective_on(notice_on=D("2025-01-01"), lead_days=-1)


@pytest.mark.parametrize(
    ("notice_on", "effective_on", "today", "lead_days", "problems"),
    [
        ("2022-04-19", "2022-04-27", "2022-04-19", 8, []),  # seed 003
        ("2022-04-19", "2022-04-27", "2022-04-01", 7, []),
        ("2022-04-19", "2022-04-26", "2022-04-19", 7, []),  # exactly the lead time
        ("2022-04-19", "2022-04-25", "2022-04-19", 7, ["lead_time_too_short"]),
        ("2022-04-19", "2022-04-20", "2022-04-19", 0, []),
        ("2022-04-19", "2022-04-19", "2022-04-19", 0, ["effective_before_notice"]),
        ("2022-04-19", "2022-04-19", "2022-04-19", 7, ["effective_before_notice"]),
        ("2022-04-19", "2022-04-10", "2022-04-01", 7, ["effective_before_notice"]),
        ("2022-04-18", "2022-04-27", "2022-04-19", 7, ["notice_in_past"]),
        (
            "2022-04-18",
            "2022-04-18",
            "2022-04-19",
            7,
            ["notice_in_past", "effective_before_notice"],
        ),
        ("2022-04-18", "2022-04-20", "2022-04-19", 7, ["notice_in_past", "lead_time_too_short"]),
    ],
)
def test_validate_schedule_r2(
    notice_on: str, effective_on: str, today: str, lead_days: int, problems: list[str]
) -> None:
    assert (
        validate_schedule(
            notice_on=D(notice_on),
            effective_on=D(effective_on),
            today=D(today),
            lead_days=lead_days,
        )
        == problems
    )


@pytest.mark.parametrize(
    ("legal_basis", "posted_on", "effective_on", "lapses"),
    [
        (LegalBasis.REASONABLE, None, "2022-04-27", True),
        (LegalBasis.REASONABLE, "2022-04-27", "2022-04-27", True),  # posted on the day: too late
        (LegalBasis.REASONABLE, "2022-04-28", "2022-04-27", True),
        (LegalBasis.REASONABLE, "2022-04-26", "2022-04-27", False),
        (LegalBasis.REASONABLE, "2022-04-19", "2022-04-27", False),
        (LegalBasis.GENERAL_INTEREST, None, "2022-04-27", False),  # 548-4(3) covers (ii) only
        (LegalBasis.GENERAL_INTEREST, "2022-04-28", "2022-04-27", False),
        (LegalBasis.EXPLICIT_CONSENT, None, "2022-04-27", False),
    ],
)
def test_revision_lapses_r2_cc548_4_3(
    legal_basis: str, posted_on: str | None, effective_on: str, lapses: bool
) -> None:
    posted = D(posted_on) if posted_on else None
    assert (
        revision_lapses(legal_basis=legal_basis, posted_on=posted, effective_on=D(effective_on))
        is lapses
    )


@pytest.mark.parametrize(
    ("effective_on", "today", "effective"),
    [
        ("2022-04-27", "2022-04-26", False),
        ("2022-04-27", "2022-04-27", True),
        ("2022-04-27", "2023-01-01", True),
    ],
)
def test_is_version_effective_r5(effective_on: str, today: str, effective: bool) -> None:
    assert is_version_effective(effective_on=D(effective_on), today=D(today)) is effective


# --- Consent truth table (docs/rules.md; R3, R4, R6) --------------------------------

S, A = ConsentStatus, Answer
NOOP = "noop"  # consent_transition returns None
REFUSE_EFFECTIVE = "reject_after_effective_deemed"
NOT_ALLOWED = "answer_not_allowed"
CASE_IN_EFFECT = "case_in_effect"

# (version_effective, current, answer) → new status | NOOP | refusal code, case not in effect.
TRUTH_TABLE: dict[tuple[bool, ConsentStatus, Answer], ConsentStatus | str] = {
    # V scheduled, no answer: accept, reject
    (False, S.NO_ANSWER, A.ACCEPTED): S.ACCEPTED,
    (False, S.NO_ANSWER, A.REJECTED): S.REJECTED,
    # V scheduled, answered: switch to the other; repeating is a no-op
    (False, S.ACCEPTED, A.REJECTED): S.REJECTED,
    (False, S.ACCEPTED, A.ACCEPTED): NOOP,
    (False, S.REJECTED, A.ACCEPTED): S.ACCEPTED,
    (False, S.REJECTED, A.REJECTED): NOOP,
    # V scheduled: deemed / outstanding only arise at the effective date
    (False, S.DEEMED, A.ACCEPTED): NOT_ALLOWED,
    (False, S.DEEMED, A.REJECTED): NOT_ALLOWED,
    (False, S.OUTSTANDING, A.ACCEPTED): NOT_ALLOWED,
    (False, S.OUTSTANDING, A.REJECTED): NOT_ALLOWED,
    (False, S.UNNOTIFIED, A.ACCEPTED): NOT_ALLOWED,
    (False, S.UNNOTIFIED, A.REJECTED): NOT_ALLOWED,
    # V effective, deemed mode, the notice never reached the tenant (R3): as before the date
    (True, S.UNNOTIFIED, A.ACCEPTED): S.ACCEPTED,
    (True, S.UNNOTIFIED, A.REJECTED): S.REJECTED,
    # V effective, deemed: accept; reject points to ending the contract (R13)
    (True, S.DEEMED, A.ACCEPTED): S.ACCEPTED,
    (True, S.DEEMED, A.REJECTED): REFUSE_EFFECTIVE,
    # V effective, explicit mode, no answer: accept, reject
    (True, S.OUTSTANDING, A.ACCEPTED): S.ACCEPTED,
    (True, S.OUTSTANDING, A.REJECTED): S.REJECTED,
    # V effective, rejected, case not in effect: accept drops the case
    (True, S.REJECTED, A.ACCEPTED): S.ACCEPTED,
    (True, S.REJECTED, A.REJECTED): NOOP,
    # V effective, accepted: an objection is no longer an answer (R3)
    (True, S.ACCEPTED, A.ACCEPTED): NOOP,
    (True, S.ACCEPTED, A.REJECTED): REFUSE_EFFECTIVE,
    # V effective, not yet projected (or deemed mode without contract/notice)
    (True, S.NO_ANSWER, A.ACCEPTED): S.ACCEPTED,
    (True, S.NO_ANSWER, A.REJECTED): REFUSE_EFFECTIVE,
}


def _expected(
    version_effective: bool, current: ConsentStatus, answer: Answer, case_in_effect: bool
) -> ConsentStatus | str:
    if answer == Answer.DEEMED:
        return "deemed_not_allowed_for_callers"
    if case_in_effect and current == S.REJECTED and answer == A.ACCEPTED:
        return CASE_IN_EFFECT
    return TRUTH_TABLE[(version_effective, current, answer)]


ALL_CELLS = list(itertools.product([False, True], list(S), list(A), [False, True]))


def test_truth_table_covers_every_caller_cell() -> None:
    assert set(TRUTH_TABLE) == {
        (effective, status, answer)
        for effective, status, answer, _ in ALL_CELLS
        if answer != Answer.DEEMED
    }


def _apply(
    version_effective: bool, current: ConsentStatus, answer: Answer, case_in_effect: bool
) -> ConsentStatus | str:
    try:
        result = consent_transition(
            current=current,
            answer=answer,
            version_effective=version_effective,
            case_in_effect=case_in_effect,
        )
    except TransitionNotAllowed as exc:
        return exc.code
    return NOOP if result is None else result


@pytest.mark.parametrize(
    ("version_effective", "current", "answer", "case_in_effect"),
    ALL_CELLS,
    ids=[
        f"{'effective' if e else 'scheduled'}-{s.value}-{a.value}{'-case' if c else ''}"
        for e, s, a, c in ALL_CELLS
    ],
)
def test_consent_transition_truth_table_every_cell(
    version_effective: bool, current: ConsentStatus, answer: Answer, case_in_effect: bool
) -> None:
    assert _apply(version_effective, current, answer, case_in_effect) == _expected(
        version_effective, current, answer, case_in_effect
    )


def test_consent_transition_r3_reject_after_effective_points_to_ending_contract() -> None:
    with pytest.raises(TransitionNotAllowed) as excinfo:
        consent_transition(current=S.DEEMED, answer=A.REJECTED, version_effective=True)
    assert excinfo.value.code == REJECT_AFTER_EFFECTIVE == "reject_after_effective_deemed"


@pytest.mark.parametrize("current", list(S))
@pytest.mark.parametrize("version_effective", [False, True])
def test_consent_transition_r3_deemed_never_a_caller_answer(
    current: ConsentStatus, version_effective: bool
) -> None:
    with pytest.raises(TransitionNotAllowed) as excinfo:
        consent_transition(current=current, answer=A.DEEMED, version_effective=version_effective)
    assert excinfo.value.code == "deemed_not_allowed_for_callers"


def test_consent_transition_r6_case_in_effect_refuses_accept() -> None:
    with pytest.raises(TransitionNotAllowed) as excinfo:
        consent_transition(
            current=S.REJECTED, answer=A.ACCEPTED, version_effective=True, case_in_effect=True
        )
    assert excinfo.value.code == "case_in_effect"


def test_consent_transition_accepts_raw_string_values() -> None:
    """Model fields hold plain strings, not enum members."""
    assert (
        consent_transition(current="no_answer", answer="accepted", version_effective=False)  # type: ignore[arg-type]
        == S.ACCEPTED
    )


def test_consent_transition_rejects_unknown_values() -> None:
    with pytest.raises(ValueError, match="not a valid"):
        consent_transition(current="maybe", answer=A.ACCEPTED, version_effective=False)  # type: ignore[arg-type]


def test_transition_not_allowed_carries_code_and_message() -> None:
    exc = TransitionNotAllowed("answer_not_allowed", "nope")
    assert exc.code == "answer_not_allowed"
    assert str(exc) == "nope"
    assert str(TransitionNotAllowed("case_in_effect")) == "case_in_effect"


@pytest.mark.parametrize(
    ("status", "version_effective", "case_in_effect", "allowed"),
    [
        (S.NO_ANSWER, False, False, {A.ACCEPTED, A.REJECTED}),
        (S.ACCEPTED, False, False, {A.REJECTED}),
        (S.REJECTED, False, False, {A.ACCEPTED}),
        (S.DEEMED, False, False, set()),
        (S.OUTSTANDING, False, False, set()),
        (S.DEEMED, True, False, {A.ACCEPTED}),
        (S.OUTSTANDING, True, False, {A.ACCEPTED, A.REJECTED}),
        (S.REJECTED, True, False, {A.ACCEPTED}),
        (S.REJECTED, True, True, set()),
        (S.ACCEPTED, True, False, set()),
        (S.NO_ANSWER, True, False, {A.ACCEPTED}),
    ],
)
def test_allowed_answers_truth_table(
    status: ConsentStatus, version_effective: bool, case_in_effect: bool, allowed: set[Answer]
) -> None:
    assert (
        allowed_answers(
            status=status, version_effective=version_effective, case_in_effect=case_in_effect
        )
        == allowed
    )


@pytest.mark.parametrize(
    ("version_effective", "status", "answer", "case_in_effect"),
    ALL_CELLS,
)
def test_allowed_answers_consistent_with_consent_transition(
    version_effective: bool, status: ConsentStatus, answer: Answer, case_in_effect: bool
) -> None:
    """An answer is offered exactly when consent_transition moves to a new status."""
    offered = answer in allowed_answers(
        status=status, version_effective=version_effective, case_in_effect=case_in_effect
    )
    outcome = _apply(version_effective, status, answer, case_in_effect)
    assert offered == isinstance(outcome, ConsentStatus)
    if offered:
        assert outcome == ConsentStatus(answer.value)
        assert outcome != status
    if outcome == NOOP:
        assert answer.value == status.value


@pytest.mark.parametrize(
    ("mode", "has_active_contract", "notice_posted", "expected"),
    [
        (ConsentMode.DEEMED, True, True, S.DEEMED),
        (ConsentMode.DEEMED, True, False, S.NO_ANSWER),  # no notice, no deemed consent
        (ConsentMode.DEEMED, False, True, S.NO_ANSWER),  # no active contract on that date
        (ConsentMode.DEEMED, False, False, S.NO_ANSWER),
        (ConsentMode.EXPLICIT, True, True, S.OUTSTANDING),
        (ConsentMode.EXPLICIT, True, False, S.OUTSTANDING),
        (ConsentMode.EXPLICIT, False, True, S.OUTSTANDING),
        (ConsentMode.EXPLICIT, False, False, S.OUTSTANDING),
    ],
)
def test_status_after_effective_r3_r4_silence(
    mode: ConsentMode, has_active_contract: bool, notice_posted: bool, expected: ConsentStatus
) -> None:
    assert (
        status_after_effective(
            status=S.NO_ANSWER,
            mode=mode,
            has_active_contract=has_active_contract,
            notice_posted=notice_posted,
        )
        == expected
    )


@pytest.mark.parametrize(
    ("status", "mode", "has_active_contract", "notice_posted"),
    list(
        itertools.product(
            [S.ACCEPTED, S.REJECTED, S.DEEMED, S.OUTSTANDING],
            list(ConsentMode),
            [False, True],
            [False, True],
        )
    ),
)
def test_status_after_effective_r3_r4_answers_stand(
    status: ConsentStatus, mode: ConsentMode, has_active_contract: bool, notice_posted: bool
) -> None:
    assert (
        status_after_effective(
            status=status,
            mode=mode,
            has_active_contract=has_active_contract,
            notice_posted=notice_posted,
        )
        == status
    )


def test_status_after_effective_r4_outstanding_may_then_reject() -> None:
    """Projecting first lets an explicit-mode tenant reject after the effective date."""
    projected = status_after_effective(
        status=S.NO_ANSWER, mode=ConsentMode.EXPLICIT, has_active_contract=True, notice_posted=True
    )
    assert consent_transition(current=projected, answer=A.REJECTED, version_effective=True) == (
        S.REJECTED
    )


@pytest.mark.parametrize(
    ("contract_active", "statuses", "allowed"),
    [
        (True, [], True),
        (True, [S.ACCEPTED, S.DEEMED], True),
        (True, [S.NO_ANSWER], True),
        (True, [S.REJECTED], True),  # allowed, flagged, until the case takes effect
        (True, [S.ACCEPTED, S.OUTSTANDING], False),
        (True, [S.OUTSTANDING], False),
        (True, ["outstanding"], False),
        (False, [], False),
        (False, [S.ACCEPTED], False),
    ],
)
def test_is_tenant_allowed_r4(
    contract_active: bool, statuses: list[ConsentStatus], allowed: bool
) -> None:
    """Under a gating policy in force (set by a publisher, grace period run)."""
    documents = [DocumentAnswer(status=s, gate_in_force=True) for s in statuses]
    assert is_tenant_allowed(contract_active=contract_active, documents=documents) is allowed


@pytest.mark.parametrize(
    ("statuses", "allowed"),
    [
        ([S.OUTSTANDING], True),  # silence alone withholds nothing
        ([S.ACCEPTED, S.OUTSTANDING], True),
        ([S.REJECTED, S.OUTSTANDING], True),
    ],
)
def test_is_tenant_allowed_r4_outstanding_without_gating_policy_is_allowed(
    statuses: list[ConsentStatus], allowed: bool
) -> None:
    documents = [DocumentAnswer(status=s) for s in statuses]
    assert is_tenant_allowed(contract_active=True, documents=documents) is allowed


def test_is_tenant_allowed_r4_accepts_a_generator() -> None:
    documents = (DocumentAnswer(status=s, gate_in_force=True) for s in [S.OUTSTANDING])
    assert is_tenant_allowed(contract_active=True, documents=documents) is False


@pytest.mark.parametrize(
    ("enabled", "effective_on", "grace", "today", "in_force"),
    [
        (False, date(2025, 4, 1), 14, date(2026, 1, 1), False),  # default: off
        (True, date(2025, 4, 1), 14, date(2025, 4, 1), False),  # grace starts on the date
        (True, date(2025, 4, 1), 14, date(2025, 4, 14), False),  # its 14th day
        (True, date(2025, 4, 1), 14, date(2025, 4, 15), True),
        (True, date(2025, 1, 31), 30, date(2025, 3, 2), True),  # across February
        (True, date(2025, 1, 31), 30, date(2025, 3, 1), False),
        (True, date(2024, 2, 29), 1, date(2024, 3, 1), True),  # leap day
        (True, date(2025, 4, 1), None, date(2026, 1, 1), False),  # no grace: no policy
        (True, None, 14, date(2026, 1, 1), False),  # not dated
    ],
)
def test_gate_in_force_r4_policy_and_grace_period(
    enabled: bool, effective_on: date | None, grace: int | None, today: date, in_force: bool
) -> None:
    assert (
        gate_in_force(
            gating_enabled=enabled, effective_on=effective_on, grace_days=grace, today=today
        )
        is in_force
    )


def test_gate_from_r4_counts_the_effective_date_as_the_first_day_of_grace() -> None:
    assert gate_from(effective_on=date(2025, 4, 1), grace_days=14) == date(2025, 4, 15)
    assert gate_from(effective_on=date(2024, 12, 25), grace_days=7) == date(2025, 1, 1)


@pytest.mark.parametrize(
    ("effective_on", "spans", "owed"),
    [
        # a 2022 revision, a contract from 2026: contracted under it, nothing owed
        (date(2022, 4, 19), [(date(2026, 1, 5), None)], False),
        # in force on the date (start day and last day both count)
        (date(2025, 4, 1), [(date(2025, 4, 1), None)], True),
        (date(2025, 4, 1), [(date(2024, 4, 1), date(2025, 4, 1))], True),
        # the contract ends the day before the revision takes effect
        (date(2025, 4, 1), [(date(2024, 4, 1), date(2025, 3, 31))], False),
        # a leap-day end and a revision on 1 March
        (date(2024, 3, 1), [(date(2023, 3, 1), date(2024, 2, 29))], False),
        # one of two contracts binds it
        (
            date(2025, 4, 1),
            [(date(2024, 4, 1), date(2025, 3, 31)), (date(2025, 3, 1), None)],
            True,
        ),
        (date(2025, 4, 1), [], False),
    ],
)
def test_answer_owed_r4_only_for_contracts_bound_on_the_effective_date(
    effective_on: date, spans: list[tuple[date, date | None]], owed: bool
) -> None:
    assert answer_owed(effective_on=effective_on, spans=spans) is owed


# --- R1 binding documents -------------------------------------------------------------


@dataclass(frozen=True)
class Doc:
    name: str
    product_id: int
    option_id: int | None
    kind: str


BIZ, IDP = 1, 2
DEVICE_AUTH = 20
BIZ_BASE = Doc("biz", BIZ, None, DocumentKind.BASE)
IDP_BASE = Doc("idp", IDP, None, DocumentKind.BASE)
IDP_DEVICE = Doc("idp-device", IDP, DEVICE_AUTH, DocumentKind.INDIVIDUAL)
ALL_DOCS = [BIZ_BASE, IDP_BASE, IDP_DEVICE]


@pytest.mark.parametrize(
    ("contracts", "bound"),
    [
        ([], []),
        ([ActiveContract(BIZ)], [BIZ_BASE]),
        ([ActiveContract(IDP)], [IDP_BASE]),
        ([ActiveContract(IDP, frozenset({DEVICE_AUTH}))], [IDP_DEVICE, IDP_BASE]),
        ([ActiveContract(BIZ, frozenset({DEVICE_AUTH}))], [BIZ_BASE]),  # option of another product
        (
            [ActiveContract(BIZ), ActiveContract(IDP, frozenset({DEVICE_AUTH}))],
            [IDP_DEVICE, BIZ_BASE, IDP_BASE],
        ),
    ],
    ids=["none", "biz", "idp", "idp+option", "option-elsewhere", "both"],
)
def test_binding_documents_r1_individual_rules_first(
    contracts: list[ActiveContract], bound: list[Doc]
) -> None:
    assert binding_documents(documents=ALL_DOCS, active_contracts=contracts) == bound


def test_is_document_binding_r1_accepts_a_generator_of_contracts() -> None:
    assert is_document_binding(
        product_id=BIZ, option_id=None, active_contracts=(c for c in [ActiveContract(BIZ)])
    )


@pytest.mark.parametrize(
    ("basis", "binds"),
    [("general_interest", True), ("reasonable", True), ("explicit_consent", False), ("", False)],
)
def test_r2_r6_only_a_548_4_ground_binds_an_objector(basis: str, binds: bool) -> None:
    assert on_548_4_ground(basis) is binds
