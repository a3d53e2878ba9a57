"""Jobs that own their effect: reminders and notices keyed per subject and period, redaction.

Every effect here is set-based: a claimed batch costs a fixed number of queries whatever its size
(tests/jobs/test_queries.py counts them).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db.models import Exists, OuterRef

from agreements.enums import (
    ConsentMode,
    ConsentStatus,
    ContractStatus,
    NonRenewalStatus,
    PeriodStatus,
    VersionStatus,
)
from agreements.jobs.base import ActionJob, chunks, label_of, not_planned
from agreements.jobs.dates import OUTSTANDING, consent_reminder_slot, renewal_notice_slot
from agreements.models import (
    ConsentState,
    Contract,
    ContractPeriod,
    NonRenewalRequest,
    TermsVersion,
)
from agreements.rules import next_period_start, non_renewal_deadline, period_end
from core.delivery import delivery_ring_on_commit
from core.enums import EventKind
from core.jobs import BatchOutcome, Planned, actions_plan, batch_size
from core.models import PlannedAction


def _notify(notes: list[Any]) -> None:
    # The contracts service's set-based notify_tenant (constant queries for a whole batch).
    from agreements.services.contracts import notify_many  # noqa: PLC0415 -- leaf

    if notes:
        notify_many(notes)
        delivery_ring_on_commit()


# --- R4: consent reminders (explicit mode) ---------------------------------------------------

REMINDERS = "consent_reminders"
STATE = label_of(ConsentState)
UNANSWERED = [ConsentStatus.NO_ANSWER, ConsentStatus.OUTSTANDING]


def _active_contract_for_document() -> Exists:
    return Exists(
        Contract.objects.filter(
            tenant_id=OuterRef("tenant_id"),
            product_id=OuterRef("document__product_id"),
            status=ContractStatus.ACTIVE,
        )
    )


def _reminders_plan(today: date) -> int:
    planned = 0
    versions = TermsVersion.objects.filter(
        consent_mode=ConsentMode.EXPLICIT,
        posted_at__isnull=False,
        status__in=[VersionStatus.SCHEDULED, VersionStatus.EFFECTIVE],
    ).only("id", "effective_on")
    for version in versions:
        slot = consent_reminder_slot(effective_on=version.effective_on, today=today)
        if slot is None:
            continue
        states = (
            ConsentState.objects.filter(version=version, status__in=UNANSWERED)
            .filter(_active_contract_for_document())
            .filter(not_planned(job=REMINDERS, subject_type=STATE, due_on=slot.on))
            .only("id", "tenant_id")
        )
        for chunk in chunks(states, size=batch_size()):
            planned += actions_plan(
                job=REMINDERS,
                rows=[
                    Planned(
                        key=f"{REMINDERS}:{version.pk}:{slot.label}:{state.tenant_id}",
                        subject_type=STATE,
                        subject_id=state.pk,
                        due_on=slot.on,
                        tenant_id=state.tenant_id,
                    )
                    for state in chunk
                ],
            )
    return planned


def _reminders_effect(actions: list[PlannedAction], today: date) -> BatchOutcome:
    from agreements.services.contracts import Note  # noqa: PLC0415 -- leaf

    outcome = BatchOutcome()
    states = (
        ConsentState.objects.filter(pk__in=[a.subject_id for a in actions])
        .annotate(has_contract=_active_contract_for_document())
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
            # Answered (or the contract ended) since planning: nothing to remind of.
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
                    "document_id": state.document_id,
                    "document": state.document.title,
                    "effective_on": version.effective_on.isoformat(),
                    "status": state.status,
                    "reminder": label,
                },
            )
        )
        outcome.done[action.id] = {"outcome": "sent"}
    _notify(notices)
    outcome.counts["sent"] += len(notices)
    return outcome


CONSENT_REMINDERS = ActionJob(name=REMINDERS, plan=_reminders_plan, effect=_reminders_effect)


# --- R11: renewal notices 60 and 14 days before the non-renewal deadline ----------------------

RENEWALS = "renewal_notices"
PERIOD = label_of(ContractPeriod)
# The 60-day notice of a deadline D is planned on D−60 … D−15, the 14-day one on D−14 … D:
# a period that has an action due on or after today−45 already has the current one.
_RENEWAL_PLANNED_WINDOW = timedelta(days=45)


def _renewal_candidates(today: date) -> Any:
    active_non_renewal = NonRenewalRequest.objects.filter(
        contract_id=OuterRef("contract_id"), status=NonRenewalStatus.ACTIVE
    )
    return (
        ContractPeriod.objects.filter(
            status=PeriodStatus.OPEN,
            end_date__gte=today,
            contract__status=ContractStatus.ACTIVE,
            contract__auto_renew=True,
            contract__notice_months__isnull=False,
        )
        .exclude(Exists(active_non_renewal))
        .filter(
            not_planned(
                job=RENEWALS, subject_type=PERIOD, due_on__gte=today - _RENEWAL_PLANNED_WINDOW
            )
        )
    )


def _renewal_deadline(period: ContractPeriod) -> date:
    return non_renewal_deadline(end=period.end_date, notice_months=period.contract.notice_months)


def _renewals_plan(today: date) -> int:
    planned = 0
    months = set(
        Contract.objects.filter(status=ContractStatus.ACTIVE, auto_renew=True)
        .exclude(notice_months__isnull=True)
        .values_list("notice_months", flat=True)
        .distinct()
    )
    for notice_months in sorted(months):
        # A deadline is at most `notice_months` months before the end: ends beyond this bound
        # cannot have a notice due yet (the exact slot is computed below).
        horizon = today + timedelta(days=60 + 31 * notice_months + 1)
        candidates = (
            _renewal_candidates(today)
            .filter(contract__notice_months=notice_months, end_date__lte=horizon)
            .select_related("contract")
            .only("id", "tenant_id", "end_date", "contract__notice_months")
        )
        for chunk in chunks(candidates, size=batch_size()):
            rows = []
            for period in chunk:
                slot = renewal_notice_slot(deadline=_renewal_deadline(period), today=today)
                if slot is None:
                    continue
                rows.append(
                    Planned(
                        key=f"{RENEWALS}:{period.pk}:{slot.label}",
                        subject_type=PERIOD,
                        subject_id=period.pk,
                        due_on=slot.on,
                        tenant_id=period.tenant_id,
                    )
                )
            planned += actions_plan(job=RENEWALS, rows=rows)
    return planned


def _renewals_effect(actions: list[PlannedAction], today: date) -> BatchOutcome:
    from agreements.services.contracts import Note  # noqa: PLC0415 -- leaf

    outcome = BatchOutcome()
    periods = (
        ContractPeriod.objects.filter(pk__in=[a.subject_id for a in actions])
        .annotate(
            has_non_renewal=Exists(
                NonRenewalRequest.objects.filter(
                    contract_id=OuterRef("contract_id"), status=NonRenewalStatus.ACTIVE
                )
            )
        )
        .select_related("contract__product", "contract__tenant")
        .in_bulk()
    )
    notices = []
    for action in actions:
        period = periods.get(action.subject_id)
        contract = period.contract if period else None
        if (
            period is None
            or contract is None
            or period.status != PeriodStatus.OPEN
            or contract.status != ContractStatus.ACTIVE
            or not contract.auto_renew
            or period.has_non_renewal
        ):
            # No notice once a non-renewal is filed (R11) or the contract changed meanwhile.
            outcome.done[action.id] = {"outcome": "not_needed"}
            outcome.counts["not_needed"] += 1
            continue
        deadline = _renewal_deadline(period)
        months = contract.term_months  # R11: renews for the same length as the period just ended
        next_start = next_period_start(previous_end=period.end_date)
        next_end = period_end(
            start=next_start, months=months, start_day_counts=contract.product.start_day_counts
        )
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
                    "period_start": period.start_date.isoformat(),
                    "period_end": period.end_date.isoformat(),
                    "deadline": deadline.isoformat(),
                    "days_to_deadline": (deadline - today).days,
                    "next_period_start": next_start.isoformat(),
                    "next_period_end": next_end.isoformat(),
                    "notice_months": contract.notice_months,
                    "notice_source": contract.notice_source,
                    "slot": action.key.rsplit(":", 1)[-1],
                },
            )
        )
        outcome.done[action.id] = {"outcome": "sent"}
    _notify(notices)
    outcome.counts["sent"] += len(notices)
    return outcome


RENEWAL_NOTICES = ActionJob(name=RENEWALS, plan=_renewals_plan, effect=_renewals_effect)
