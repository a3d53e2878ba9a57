"""Pure domain rules: periods, deadlines, caps and the consent truth table.

No ORM, no clock, no settings: callers pass dates (JST business dates, inclusive) and
configured values in. Rule numbers (R1…R19) refer to DESIGN.md; article numbers to the
Optimal Biz terms (Biz), the OPTiM ID+ terms (ID+) and the Civil Code (CC).
"""

from __future__ import annotations

import calendar
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol, TypeVar

from agreements.enums import (
    ENDED_REASONS,
    Answer,
    BillingCycle,
    ConsentMode,
    ConsentStatus,
    ContractStatus,
    DocumentKind,
    LegalBasis,
    TerminationReason,
)

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

    An application on day D is timely when the notice period counted from D+1 (R10) ends on
    or before `end`; the deadline is the largest such D, i.e. (end + 1 day − notice) − 1
    day: end 2025-03-31 → 2025-02-28, 2025-04-30 → 2025-03-31, 2026-02-28 → 2026-01-31.
    Where end + 1 day has no counterpart N months earlier (end 2025-05-30, one month: no
    04-31) the counterpart is that month's last day, so the deadline is the day before it
    (2025-04-29); that is still the largest D satisfying the rule. A notice in days:
    D + days <= end. A zero notice makes the end date itself the deadline.
    """
    _check_notice(notice_months, notice_days)
    if notice_days:
        return end - timedelta(days=notice_days)
    if notice_months == 0:
        return end
    after = end + ONE_DAY
    year, month = _shift_month(after.year, after.month, -notice_months)
    day = min(after.day, _days_in_month(year, month))
    return date(year, month, day) - ONE_DAY


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


# --- R15: data deletion (Biz 10.3) -----------------------------------------------------


def primary_deletion_from(*, end: date) -> date:
    """First day primary data may be deleted: the day after the month following `end` (R15).

    end 2025-03-31 → 2025-05-01.
    """
    return period_end(start=end + ONE_DAY, months=1) + ONE_DAY


def requested_deletion_due(*, end: date, requested_on: date, grace_days: int = 14) -> date:
    """Due date of a customer's deletion request (R15, Biz 10.3).

    The later of the day after the end and `requested_on` + `grace_days` (a setting): a
    request made at cancellation never deletes data the contract still uses.
    """
    if grace_days < 0:
        raise ValueError(f"grace_days cannot be negative, got {grace_days}")
    return max(end + ONE_DAY, requested_on + timedelta(days=grace_days))


def backup_purge_due(*, end: date) -> date:
    """Day backups and derived data are due for purging: after one year from the end (R15).

    end 2025-03-31 → 2026-04-01 (the day after the one-year period 2025-04-01…2026-03-31).
    """
    return period_end(start=end + ONE_DAY, months=12) + ONE_DAY


# --- R16: claims window (Biz 12.3) -----------------------------------------------------


def claims_window_closes(*, end: date) -> date:
    """Last day (inclusive) a written claim may be made: 3 months after the end (R16, Biz 12.3).

    end 2025-03-31 → 2025-06-30. Only the "3 months after the contract ends" limb; the
    "3 months from the damage" limb depends on facts the service does not know.
    """
    return period_end(start=end + ONE_DAY, months=3)


# --- R17: liability cap (Biz 12.4) -----------------------------------------------------


def liability_cap(
    *,
    billing_cycle: str,
    amount_jpy: int | None,
    lump_sum_jpy: int | None,
    cycle_months: int | None = None,
) -> int | None:
    """Cap on cumulative damages in yen (R17, Biz 12.4), rounded down; None if nothing is known.

    Biz 12.4 caps liability at the lower of (a) three months of fees — a quarter of the
    annual-equivalent fee where fees are set per year or for several years — and (b) the
    consideration paid in one sum for the right of use, where one was paid. Read as:

    - monthly: 3 × `amount_jpy`;
    - annual: `amount_jpy` / 4;
    - multi-year: the annual equivalent of `amount_jpy` (the fee per cycle of
      `cycle_months` months) / 4, i.e. `amount_jpy` × 3 / `cycle_months`;
    - lump sum billing: limb (b) alone — `lump_sum_jpy`, or `amount_jpy` when only that
      was recorded (for a lump sum the one "cycle" is the single payment);
    - a lump sum of None or 0 means none was paid, so limb (b) does not apply.

    The result is the lower of the limbs that are known. Rounding happens once, at the end.
    """
    cycle = BillingCycle(billing_cycle)
    for value in (amount_jpy, lump_sum_jpy):
        if value is not None and value < 0:
            raise ValueError("fees cannot be negative")
    lump = lump_sum_jpy or None
    if cycle == BillingCycle.LUMP_SUM:
        return lump if lump is not None else amount_jpy
    fee_limb: int | None = None
    if amount_jpy is not None:
        if cycle == BillingCycle.MONTHLY:
            fee_limb = 3 * amount_jpy
        elif cycle == BillingCycle.ANNUAL:
            fee_limb = amount_jpy // 4
        else:
            if not cycle_months or cycle_months < 1:
                raise ValueError("a multi-year cycle needs cycle_months")
            # amount / (cycle_months / 12) / 4, floored once
            fee_limb = amount_jpy * 3 // cycle_months
    limbs = [limb for limb in (fee_limb, lump) if limb is not None]
    return min(limbs) if limbs else None


# --- R14: end status (Biz 13.1; ID+ 14.2) ----------------------------------------------


def end_status_for_reason(reason: str) -> ContractStatus:
    """Contract status after an end for `reason` (R14): `ended` for period ends, else `terminated`."""
    reason = TerminationReason(reason)
    return ContractStatus.ENDED if reason in ENDED_REASONS else ContractStatus.TERMINATED


# --- R6: end date of a confirmed rejection case (Biz 2.4) ------------------------------


def rejection_end_date(*, effective_on: date, confirmed_on: date, notice_days: int = 30) -> date:
    """End date of a contract whose terms_rejected case was confirmed (R6, Biz 2.4).

    The later of the version's effective date and confirmation + the termination notice
    period (a setting): prospective only, never before the confirmation.
    """
    if notice_days < 0:
        raise ValueError(f"notice_days cannot be negative, got {notice_days}")
    return max(effective_on, confirmed_on + timedelta(days=notice_days))


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


def revision_lapses(*, legal_basis: str, posted_on: date | None, effective_on: date) -> bool:
    """Whether a revision never takes effect for want of a timely posting (R2, CC 548-4(3)).

    Only a type-(ii) change (reasonable in light of the contract's purpose) lapses, and
    only when its posting was not recorded before the effective date. `posted_on` is the
    JST date of `posted_at`: posting at any time before 00:00 JST on `effective_on` counts.
    """
    if LegalBasis(legal_basis) != LegalBasis.REASONABLE:
        return False
    return posted_on is None or posted_on >= effective_on


def is_version_effective(*, effective_on: date, today: date) -> bool:
    """Whether a version is in force on `today` (R5: from 00:00 JST on its effective date)."""
    return effective_on <= today


# --- Consent truth table (DESIGN: Decisions; R3, R4, R6, R13) ---------------------------

# Refusal codes carried by TransitionNotAllowed.code.
REJECT_AFTER_EFFECTIVE = "reject_after_effective_deemed"  # remedy: end the contract (R13)
CASE_IN_EFFECT = "case_in_effect"  # the rejection already ended the contract (R6)
ANSWER_NOT_ALLOWED = "answer_not_allowed"  # no row of the table allows it
DEEMED_NOT_ALLOWED = "deemed_not_allowed_for_callers"  # only the R3 job writes `deemed`

# Answers a caller (portal, API, console) may give.
CALLER_ANSWERS = frozenset({Answer.ACCEPTED, Answer.REJECTED})


class TransitionNotAllowed(Exception):
    """An answer the consent truth table refuses; `code` says why (see the constants above)."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.code = code


@dataclass(frozen=True)
class _Refuse:
    code: str


_NOOP = None  # repeating the current answer: the caller returns the existing record

_S, _A = ConsentStatus, Answer
# (status, answer) → new status | _NOOP | refusal, while V is scheduled (posted, not effective).
# `deemed` and `outstanding` only arise at the effective date, so they have no row here.
_BEFORE_EFFECTIVE: dict[tuple[ConsentStatus, Answer], ConsentStatus | _Refuse | None] = {
    (_S.NO_ANSWER, _A.ACCEPTED): _S.ACCEPTED,
    (_S.NO_ANSWER, _A.REJECTED): _S.REJECTED,  # opens an R6 case
    (_S.ACCEPTED, _A.ACCEPTED): _NOOP,
    (_S.ACCEPTED, _A.REJECTED): _S.REJECTED,  # switch; opens an R6 case
    (_S.REJECTED, _A.ACCEPTED): _S.ACCEPTED,  # switch; drops the case
    (_S.REJECTED, _A.REJECTED): _NOOP,
}
# The same once V is effective. After the effective date an objection is no longer an
# answer to the change (R3): the remedy for a tenant that accepted, was deemed to, or sat
# silent in deemed mode is ending the contract (R13).
_AFTER_EFFECTIVE: dict[tuple[ConsentStatus, Answer], ConsentStatus | _Refuse | None] = {
    (_S.DEEMED, _A.ACCEPTED): _S.ACCEPTED,
    (_S.DEEMED, _A.REJECTED): _Refuse(REJECT_AFTER_EFFECTIVE),
    (_S.OUTSTANDING, _A.ACCEPTED): _S.ACCEPTED,
    (_S.OUTSTANDING, _A.REJECTED): _S.REJECTED,  # explicit mode (R4): opens an R6 case
    (_S.REJECTED, _A.ACCEPTED): _S.ACCEPTED,  # drops the case, unless it is in effect
    (_S.REJECTED, _A.REJECTED): _NOOP,
    (_S.ACCEPTED, _A.ACCEPTED): _NOOP,
    (_S.ACCEPTED, _A.REJECTED): _Refuse(REJECT_AFTER_EFFECTIVE),
    # Not yet projected by status_after_effective (the job has not run, or deemed mode
    # found no active contract or notice). Accepting is always an answer; a rejection is
    # refused because it cannot be told from a silent deemed-mode tenant here — services
    # project the status first, which turns explicit-mode silence into `outstanding`.
    (_S.NO_ANSWER, _A.ACCEPTED): _S.ACCEPTED,
    (_S.NO_ANSWER, _A.REJECTED): _Refuse(REJECT_AFTER_EFFECTIVE),
}


def _outcome(
    current: ConsentStatus, answer: Answer, version_effective: bool, case_in_effect: bool
) -> ConsentStatus | _Refuse | None:
    if answer not in CALLER_ANSWERS:
        return _Refuse(DEEMED_NOT_ALLOWED)
    if current == ConsentStatus.REJECTED and case_in_effect and answer == Answer.ACCEPTED:
        # The case has ended the contract (R6); an accept cannot revive it.
        return _Refuse(CASE_IN_EFFECT)
    table = _AFTER_EFFECTIVE if version_effective else _BEFORE_EFFECTIVE
    return table.get((current, answer), _Refuse(ANSWER_NOT_ALLOWED))


def consent_transition(
    *,
    current: ConsentStatus,
    answer: Answer,
    version_effective: bool,
    case_in_effect: bool = False,
) -> ConsentStatus | None:
    """New consent status after a caller's `answer` (DESIGN consent truth table; R3, R4, R6).

    Returns None when the answer repeats the current one (a no-op: return the existing
    record). Raises TransitionNotAllowed with `code`:
    `reject_after_effective_deemed` (a rejection after the effective date; point the tenant
    to ending the contract, R13), `case_in_effect` (accepting after the rejection case
    ended the contract), `deemed_not_allowed_for_callers` (`deemed` is the job's entry,
    R3), `answer_not_allowed` (any other cell).
    """
    current, answer = ConsentStatus(current), Answer(answer)
    result = _outcome(current, answer, version_effective, case_in_effect)
    if isinstance(result, _Refuse):
        raise TransitionNotAllowed(
            result.code,
            f"{answer.value} is not allowed from {current.value} "
            f"({'effective' if version_effective else 'scheduled'} version)",
        )
    return result


def allowed_answers(
    *, status: ConsentStatus, version_effective: bool, case_in_effect: bool = False
) -> frozenset[Answer]:
    """Answers that would change `status` — the choices to offer (truth table column 3).

    A repeat of the current answer is accepted as a no-op but not offered.
    """
    status = ConsentStatus(status)
    return frozenset(
        answer
        for answer in CALLER_ANSWERS
        if isinstance(_outcome(status, answer, version_effective, case_in_effect), ConsentStatus)
    )


def status_after_effective(
    *,
    status: ConsentStatus,
    mode: ConsentMode,
    has_active_contract: bool,
    notice_posted: bool,
) -> ConsentStatus:
    """What the apply-effective job makes of a tenant's status on the effective date (R3, R4).

    Deemed mode: silence becomes `deemed` only with a contract active on that date and a
    posted notice (Biz 2.1); otherwise it stays `no_answer`. Explicit mode: silence becomes
    `outstanding` (Biz 2.2). Answers stand.
    """
    status, mode = ConsentStatus(status), ConsentMode(mode)
    if status != ConsentStatus.NO_ANSWER:
        return status
    if mode == ConsentMode.EXPLICIT:
        return ConsentStatus.OUTSTANDING
    if has_active_contract and notice_posted:
        return ConsentStatus.DEEMED
    return ConsentStatus.NO_ANSWER


def is_tenant_allowed(*, contract_active: bool, statuses: Iterable[ConsentStatus]) -> bool:
    """The status API's `allowed` (DESIGN: truth table; R4).

    False without an active contract or when any bound document is `outstanding`. A
    `rejected` tenant stays allowed (flagged) until its case takes effect and ends the
    contract.
    """
    if not contract_active:
        return False
    return all(ConsentStatus(status) != ConsentStatus.OUTSTANDING for status in statuses)


# --- R1: which documents bind a tenant (Biz 1.2, 19) -----------------------------------


@dataclass(frozen=True)
class ActiveContract:
    """A tenant's active contract for a product, with the options it includes (R1)."""

    product_id: Hashable
    option_ids: frozenset[Hashable] = frozenset()


class BindableDocument(Protocol):
    """What binding_documents needs of a terms document (a TermsDocument model fits)."""

    @property
    def product_id(self) -> Hashable: ...

    @property
    def option_id(self) -> Hashable | None: ...

    @property
    def kind(self) -> str: ...


_D = TypeVar("_D", bound=BindableDocument)


def is_document_binding(
    *, product_id: Hashable, option_id: Hashable | None, active_contracts: Iterable[ActiveContract]
) -> bool:
    """Whether a document binds a tenant with these active contracts (R1).

    Base terms bind while a contract for the product is active; an option's individual
    rules bind while such a contract includes that option.
    """
    return any(
        contract.product_id == product_id
        and (option_id is None or option_id in contract.option_ids)
        for contract in active_contracts
    )


def binding_documents(
    *, documents: Iterable[_D], active_contracts: Iterable[ActiveContract]
) -> list[_D]:
    """The documents that bind a tenant, individual rules first because they prevail (R1)."""
    contracts = list(active_contracts)
    bound = [
        document
        for document in documents
        if is_document_binding(
            product_id=document.product_id,
            option_id=document.option_id,
            active_contracts=contracts,
        )
    ]
    # sorted() is stable, so the caller's order holds within each kind.
    return sorted(bound, key=lambda document: document.kind != DocumentKind.INDIVIDUAL)
