"""Jobs that own their effect: reminders and notices keyed per subject and period, redaction.

Every effect here is set-based: a claimed batch costs a fixed number of queries whatever its size
(tests/jobs/test_queries.py counts them).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import Exists, OuterRef

from agreements.enums import (
    ConsentStatus,
    ContractStatus,
    NonRenewalStatus,
    PeriodStatus,
    TerminationStatus,
    VersionStatus,
)
from agreements.jobs.base import ActionJob, chunks, label_of, not_planned
from agreements.jobs.dates import (
    OUTSTANDING,
    RENEWAL_NOTICE_DAYS,
    Slot,
    consent_reminder_slot,
    renewal_notice_slot,
)
from agreements.models import (
    ConsentState,
    Contract,
    ContractPeriod,
    NonRenewalRequest,
    Termination,
    TermsVersion,
)
from agreements.rules import next_period_start, non_renewal_deadline, period_end
from agreements.selectors.contracts import contract_period_months
from agreements.services.consents.reminder_schedule import version_answer_deadline
from agreements.services.consents.reminders import owes_answer, remindable
from agreements.services.contracts.common import renewal_basis
from agreements.services.notice_payloads import version_gate_from
from core.enums import EventKind
from core.jobs import BatchOutcome, Planned, actions_plan, batch_size
from core.models import PlannedAction
from tenants import partition
from tenants.notify import Note, notify


def _notify(notes: list[Any]) -> None:
    # Set-based: a constant number of queries for the whole batch; rings delivery once.
    if notes:
        notify(notes)


# --- R4: consent reminders (explicit mode) ---------------------------------------------------

REMINDERS = "consent_reminders"
STATE = label_of(ConsentState)
UNANSWERED = [ConsentStatus.NO_ANSWER, ConsentStatus.OUTSTANDING]


def _reminders_candidates(today: date) -> Iterator[list[Planned]]:
    """The reminders current on `today`, in chunks, of the data this context acts for (live,
    or one sandbox: docs/api.md, "Sandbox")."""
    versions = TermsVersion.objects.filter(
        partition.product_q("document__product__"),
        posted_at__isnull=False,
        status__in=[VersionStatus.SCHEDULED, VersionStatus.EFFECTIVE],
    ).select_related("document__product")
    for version in versions:
        # The one rule of which revisions are reminded of (R4; a product without a
        # deemed-consent clause asks every revision's non-responders for an answer).
        if not remindable(version):
            continue
        slot = consent_reminder_slot(
            effective_on=version.effective_on,
            today=today,
            deadline=version_answer_deadline(version),
        )
        if slot is None:
            continue
        states = (
            ConsentState.objects.filter(version=version, status__in=UNANSWERED)
            .filter(owes_answer())
            .filter(not_planned(job=REMINDERS, subject_type=STATE, due_on=slot.on))
            .only("id", "tenant_id")
        )
        if slot.label != OUTSTANDING:
            # The reminders are optional: a tenant may turn them off. The outstanding notice of
            # the effective date is not (R4; tenants.services.reminder_prefs).
            states = states.filter(tenant__consent_reminders=True)
        for chunk in chunks(states, size=batch_size()):
            yield [
                Planned(
                    key=f"{REMINDERS}:{version.pk}:{slot.label}:{state.tenant_id}",
                    subject_type=STATE,
                    subject_id=state.pk,
                    due_on=slot.on,
                    tenant_id=state.tenant_id,
                )
                for state in chunk
            ]


def _reminders_plan(today: date) -> int:
    return sum(actions_plan(job=REMINDERS, rows=rows) for rows in _reminders_candidates(today))


def _reminders_effect(actions: list[PlannedAction], today: date) -> BatchOutcome:
    outcome = BatchOutcome()
    states = (
        ConsentState.objects.filter(pk__in=[a.subject_id for a in actions])
        .annotate(has_contract=owes_answer())
        .select_related("version", "document", "tenant")
        .in_bulk()
    )
    notices = []
    for action in actions:
        state = states.get(action.subject_id)
        version_id = int(action.key.split(":")[1])
        label = action.key.split(":")[2]
        if (
            state is None
            or state.version_id != version_id
            or state.status not in UNANSWERED
            or not state.has_contract
        ):
            # Answered (or the contract ended) since planning, or never owed: nothing to remind of.
            outcome.done[action.id] = {"outcome": "not_needed"}
            outcome.counts["not_needed"] += 1
            continue
        version = state.version
        # On the effective date the notice says the answer is outstanding (R4); later ones
        # remind weekly.
        kind = EventKind.CONSENT_OUTSTANDING if label == OUTSTANDING else EventKind.CONSENT_REMINDER
        if label == OUTSTANDING and state.status != ConsentStatus.OUTSTANDING:
            outcome.done[action.id] = {"outcome": "not_needed"}
            outcome.counts["not_needed"] += 1
            continue
        if label != OUTSTANDING and not state.tenant.consent_reminders:
            # Turned off since planning: an optional reminder is not sent.
            outcome.done[action.id] = {"outcome": "reminders_off"}
            outcome.counts["reminders_off"] += 1
            continue
        notices.append(
            Note(
                kind=kind,
                tenant=state.tenant,
                key=action.key,
                subject=version,
                payload={
                    "notice_key": action.key,
                    "version_id": version.pk,
                    "label": version.label,
                    "name": version.display_name,
                    "document_id": state.document_id,
                    "document": state.document.title,
                    "effective_on": version.effective_on.isoformat(),
                    "status": state.status,
                    "reminder": label,
                    "gate_from": version_gate_from(version),
                },
            )
        )
        outcome.done[action.id] = {"outcome": "sent"}
    _notify(notices)
    outcome.counts["sent"] += len(notices)
    return outcome


CONSENT_REMINDERS = ActionJob(
    name=REMINDERS,
    plan=_reminders_plan,
    effect=_reminders_effect,
    candidates=_reminders_candidates,
)


# --- R11: renewal notices 60 and 14 days before the non-renewal deadline ----------------------

RENEWALS = "renewal_notices"
CONTRACT = label_of(Contract)
# A deadline is at most this many months before its period end; ends further out than the
# notice window plus that cannot have a notice due yet.
_MAX_CHAIN = 60


@dataclass(frozen=True)
class _Upcoming:
    end: date  # the period end the notice is about (the current one or a later renewal's)
    deadline: date  # last day a non-renewal stops the renewal at `end` (R11)
    next_start: date
    next_end: date  # the period the contract renews into unless the tenant opts out


def _upcoming(period: ContractPeriod, today: date) -> list[tuple[_Upcoming, Slot]]:
    """Period ends of the renewal chain whose renewal notice is current on `today` (R10, R11).

    With a notice period as long as the term (monthly, one month's notice) the deadline for the
    next end falls inside the current period, so the chain is walked beyond the open period.
    """
    contract = period.contract
    months = contract_period_months(contract, period)
    found = []
    end = period.end_date
    for _ in range(_MAX_CHAIN):
        deadline = non_renewal_deadline(end=end, notice_months=contract.notice_months)
        if deadline - timedelta(days=max(RENEWAL_NOTICE_DAYS)) > today:
            break
        next_start = next_period_start(previous_end=end)
        next_end = period_end(start=next_start, months=months)
        slot = renewal_notice_slot(deadline=deadline, today=today)
        if slot is not None:
            found.append((_Upcoming(end, deadline, next_start, next_end), slot))
        end = next_end
    return found


def _renewal_key(contract_id: int, end: date, slot: Slot) -> str:
    return f"{RENEWALS}:{contract_id}:{end.isoformat()}:{slot.label}"


def _renewal_candidates(today: date) -> Any:
    active_non_renewal = NonRenewalRequest.objects.filter(
        contract_id=OuterRef("contract_id"), status=NonRenewalStatus.ACTIVE
    )
    return ContractPeriod.objects.filter(
        partition.tenant_q("contract__tenant__"),
        status=PeriodStatus.OPEN,
        contract__status=ContractStatus.ACTIVE,
        contract__auto_renew=True,
        contract__notice_months__isnull=False,
    ).exclude(Exists(active_non_renewal))


def _renewals_candidates(today: date) -> Iterator[list[Planned]]:
    """The renewal notices current on `today`, in chunks (live, or one sandbox's)."""
    months = set(
        Contract.objects.filter(status=ContractStatus.ACTIVE, auto_renew=True)
        .exclude(notice_months__isnull=True)
        .values_list("notice_months", flat=True)
        .distinct()
    )
    for notice_months in sorted(months):
        # The open period ends no later than any end whose notice can be due by now.
        horizon = today + timedelta(days=max(RENEWAL_NOTICE_DAYS) + 31 * notice_months + 1)
        candidates = (
            _renewal_candidates(today)
            .filter(contract__notice_months=notice_months, end_date__lte=horizon)
            .select_related("contract__product")
        )
        for chunk in chunks(candidates, size=batch_size()):
            yield [
                Planned(
                    key=_renewal_key(period.contract_id, upcoming.end, slot),
                    subject_type=CONTRACT,
                    subject_id=period.contract_id,
                    due_on=slot.on,
                    tenant_id=period.tenant_id,
                )
                for period in chunk
                for upcoming, slot in _upcoming(period, today)
            ]


def _renewals_plan(today: date) -> int:
    return sum(actions_plan(job=RENEWALS, rows=rows) for rows in _renewals_candidates(today))


def _renewals_effect(actions: list[PlannedAction], today: date) -> BatchOutcome:
    outcome = BatchOutcome()
    periods = {
        period.contract_id: period
        for period in ContractPeriod.objects.filter(
            contract_id__in=[a.subject_id for a in actions], status=PeriodStatus.OPEN
        )
        .annotate(
            has_non_renewal=Exists(
                NonRenewalRequest.objects.filter(
                    contract_id=OuterRef("contract_id"), status=NonRenewalStatus.ACTIVE
                )
            ),
            ends_earlier=Exists(
                Termination.objects.filter(
                    contract_id=OuterRef("contract_id"), status=TerminationStatus.SCHEDULED
                )
            ),
        )
        .select_related("contract__product", "contract__tenant")
    }
    notices = []
    for action in actions:
        period = periods.get(action.subject_id)
        _job, _contract, end_iso, label = action.key.split(":")
        contract = period.contract if period else None
        current = {u.end.isoformat(): u for u, _slot in _upcoming(period, today)} if period else {}
        upcoming = current.get(end_iso)
        if (
            period is None
            or contract is None
            or contract.status != ContractStatus.ACTIVE
            or not contract.auto_renew
            or period.has_non_renewal
            or period.ends_earlier
            or upcoming is None
        ):
            # No notice once a non-renewal is filed (R11), a termination is scheduled or the
            # contract changed meanwhile.
            outcome.done[action.id] = {"outcome": "not_needed"}
            outcome.counts["not_needed"] += 1
            continue
        notices.append(
            Note(
                kind=EventKind.RENEWAL_NOTICE,
                tenant=contract.tenant,
                key=action.key,
                subject=contract,
                payload={
                    "notice_key": action.key,
                    "contract_id": contract.pk,
                    "product_name": contract.product.name,
                    "product_name_en": contract.product.name_en,
                    "period_end": upcoming.end.isoformat(),
                    "deadline": upcoming.deadline.isoformat(),
                    "days_to_deadline": (upcoming.deadline - today).days,
                    "next_period_start": upcoming.next_start.isoformat(),
                    "next_period_end": upcoming.next_end.isoformat(),
                    "notice_months": contract.notice_months,
                    "notice_source": contract.notice_source,
                    "slot": label,
                    **renewal_basis(contract),
                },
            )
        )
        outcome.done[action.id] = {"outcome": "sent"}
    _notify(notices)
    outcome.counts["sent"] += len(notices)
    return outcome


RENEWAL_NOTICES = ActionJob(
    name=RENEWALS,
    plan=_renewals_plan,
    effect=_renewals_effect,
    candidates=_renewals_candidates,
)
