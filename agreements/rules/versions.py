"""Versions and lead times: scheduling a revision (R2) and when a version is in force (R5)."""

from __future__ import annotations

from datetime import date, timedelta

from agreements.enums import LegalBasis

# --- R2: scheduling a revision (Biz 2.1; CC 548-4) -------------------------------------

NOTICE_IN_PAST = "notice_in_past"
EFFECTIVE_BEFORE_NOTICE = "effective_before_notice"
LEAD_TIME_TOO_SHORT = "lead_time_too_short"


def earliest_effective_on(*, notice_on: date, lead_days: int) -> date:
    """Earliest effective date for a revision posted on `notice_on` (R2): notice + lead time.

    Seed 003 was posted 2022-04-19 and took effect 2022-04-27: a lead time of 8 days.
    """
    if lead_days < 0:
        raise ValueError(f"lead_days cannot be negative, got {lead_days}")
    return notice_on + timedelta(days=lead_days)


def validate_schedule(
    *, notice_on: date, effective_on: date, today: date, lead_days: int
) -> list[str]:
    """Problem codes for a proposed schedule (R2); an empty list means it may be scheduled.

    `notice_in_past`: the notice date is before today. `effective_before_notice`: the
    version would take effect on or before its notice date (CC 548-4(2) wants the posting
    before the effective date). `lead_time_too_short`: posted, but fewer than `lead_days`
    days ahead. The last two are exclusive: the first already says more.
    """
    problems: list[str] = []
    if notice_on < today:
        problems.append(NOTICE_IN_PAST)
    if effective_on <= notice_on:
        problems.append(EFFECTIVE_BEFORE_NOTICE)
    elif effective_on < earliest_effective_on(notice_on=notice_on, lead_days=lead_days):
        problems.append(LEAD_TIME_TOO_SHORT)
    return problems


def minimum_lead_days(*, legal_basis: str, general_days: int, reasonable_days: int) -> int:
    """The minimum days between posting and the effective date for a revision's basis (R2).

    A type-(ii) change (reasonable in light of the contract's purpose) gets the longer period:
    a customer who objects must be able to leave before it binds. A type-(i) change and a
    revision put to explicit consent get the general one.
    """
    if legal_basis and LegalBasis(legal_basis) == LegalBasis.REASONABLE:
        return reasonable_days
    return general_days


def revision_lapses(
    *, legal_basis: str, posted_on: date | None, effective_on: date, lead_days: int = 1
) -> bool:
    """Whether a revision never takes effect for want of a timely posting (R2, CC 548-4(3)).

    Only a type-(ii) change (reasonable in light of the contract's purpose) lapses: when its
    posting was not recorded before the effective date, or the real posting left fewer than
    `lead_days` days before it (a notice job that ran late). `posted_on` is the JST date of
    `posted_at`; with the default `lead_days` of 1, posting at any time before 00:00 JST on
    `effective_on` counts.
    """
    if LegalBasis(legal_basis) != LegalBasis.REASONABLE:
        return False
    if posted_on is None:
        return True
    return effective_on < posted_on + timedelta(days=max(lead_days, 1))


def is_version_effective(*, effective_on: date, today: date) -> bool:
    """Whether a version is in force on `today` (R5: from 00:00 JST on its effective date)."""
    return effective_on <= today
