"""The consent truth table (docs/rules.md; R3, R4, R6, R13): which answer moves a
tenant's status where, and what the effective date makes of silence.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from agreements.enums import Answer, ConsentMode, ConsentStatus

# --- Consent truth table (docs/rules.md; R3, R4, R6, R13) ---------------------------

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
    # R3: the notice never reached the tenant, so its silence was not consent and an
    # objection is still an answer to the change, as before the effective date.
    (_S.UNNOTIFIED, _A.ACCEPTED): _S.ACCEPTED,
    (_S.UNNOTIFIED, _A.REJECTED): _S.REJECTED,  # opens an R6 case where the terms have one
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
    """New consent status after a caller's `answer` (docs/rules.md, consent truth table; R3, R4, R6).

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
    notice_reached: bool = True,
) -> ConsentStatus:
    """What the apply-effective job makes of a tenant's status on the effective date (R3, R4).

    Deemed mode: silence becomes `deemed` only with a contract active on that date, a posted
    notice and the notice having reached the tenant before that date (Biz 2.1); a bound tenant
    it never reached is `unnotified`; without a contract or a posting silence stays
    `no_answer`. Explicit mode: silence becomes `outstanding` (Biz 2.2). Answers stand.
    """
    status, mode = ConsentStatus(status), ConsentMode(mode)
    if status != ConsentStatus.NO_ANSWER:
        return status
    if mode == ConsentMode.EXPLICIT:
        return ConsentStatus.OUTSTANDING
    if has_active_contract and notice_posted:
        return ConsentStatus.DEEMED if notice_reached else ConsentStatus.UNNOTIFIED
    return ConsentStatus.NO_ANSWER


# --- R4: who owes an answer, and the gating policy --------------------------------------------


def answer_owed(*, effective_on: date, spans: Iterable[tuple[date, date | None]]) -> bool:
    """Whether a tenant owes an answer to a version taking effect on `effective_on` (R1, R4).

    `spans` are the tenant's contracts that the document binds, as (start, known end; None
    while open-ended). Only a contract in force on the effective date is bound by the change:
    a tenant that contracted after it took effect agreed to it by contracting, and one whose
    contracts all end before it takes effect is never bound by it.
    """
    return any(
        start <= effective_on and (end is None or end >= effective_on) for start, end in spans
    )


def gate_from(*, effective_on: date, grace_days: int) -> date:
    """The first day an `outstanding` tenant loses `allowed` under a gating policy (R4): the
    grace period counts from the effective date, that day included."""
    return effective_on + timedelta(days=grace_days)


def gate_in_force(
    *, gating_enabled: bool, effective_on: date | None, grace_days: int | None, today: date
) -> bool:
    """Whether silence on a version may withhold the service today (R4): only when a publisher
    set the version's gating policy and its grace period has run. Off by default."""
    if not gating_enabled or effective_on is None or not grace_days:
        return False
    return today >= gate_from(effective_on=effective_on, grace_days=grace_days)


@dataclass(frozen=True)
class DocumentAnswer:
    """One bound document as the status API weighs it: the tenant's status and whether the
    version it is outstanding on has a gating policy in force today."""

    status: ConsentStatus
    gate_in_force: bool = False


def is_tenant_allowed(*, contract_active: bool, documents: Iterable[DocumentAnswer]) -> bool:
    """The status API's `allowed` (docs/rules.md, consent truth table; R4).

    False without an active contract. Silence is no ground for withholding the service in
    either product's terms, so an `outstanding` document makes it false only where the
    version's gating policy is in force (set by a publisher, grace period run). A `rejected`
    tenant stays allowed (flagged) until its case takes effect and ends the contract.
    """
    if not contract_active:
        return False
    return not any(
        ConsentStatus(d.status) == ConsentStatus.OUTSTANDING and d.gate_in_force for d in documents
    )


# --- Scheduled reminders (R4) ----------------------------------------------------------------


def answer_deadline(*, effective_on: date | None, gate_from_on: date | None) -> date | None:
    """The last day to answer before use may be limited (R4): the day before the gating policy
    takes effect; None where the version has no such policy (there is then no deadline, and
    nothing is withheld from a silent customer)."""
    if effective_on is None or gate_from_on is None:
        return None
    return gate_from_on - timedelta(days=1)


def reminder_send_on(
    *,
    basis: str,
    days_before: int | None,
    on: date | None,
    effective_on: date | None,
    deadline: date | None,
) -> date | None:
    """The day a reminder chosen as `basis` goes out: the chosen date itself, or `days_before`
    days before the effective date or before the answer deadline. None where the basis has
    no day to count from (no deadline, no effective date) or lacks its input."""
    if basis == "on_date":
        return on
    if days_before is None:
        return None
    anchor = {"before_effective": effective_on, "before_deadline": deadline}.get(basis)
    return anchor - timedelta(days=days_before) if anchor is not None else None
