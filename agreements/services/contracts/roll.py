"""The lifecycle of periods: renew or end the day after a period ends; due terminations (R10, R11, R14)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet

from agreements import rules
from agreements.enums import (
    ContractStatus,
    NonRenewalStatus,
    PeriodStatus,
    TerminationReason,
    TerminationStatus,
)
from agreements.models import Contract, ContractPeriod, NonRenewalRequest, Termination
from agreements.selectors.contracts import contract_period_months
from agreements.services.contracts.common import _contract_payload, _iso, renewal_basis
from agreements.services.contracts.ends import _End, _end_many
from core import clock
from core.enums import EventKind
from tenants import partition
from tenants.notify import Note, notify
from tenants.scope import Scope

# --- What is due: one definition, read by the lifecycle jobs and by the services below ------


def periods_due(today: date) -> QuerySet[ContractPeriod]:
    """Open periods of active contracts whose last day is before `today` (R10, R11).

    A period that a scheduled termination ends on or before its last day is not due here: the
    notice wins over the renewal or expiry, and `terminations_due` applies it.
    """
    return ContractPeriod.objects.filter(
        partition.tenant_q("contract__tenant__"),
        status=PeriodStatus.OPEN,
        end_date__lt=today,
        contract__status=ContractStatus.ACTIVE,
    ).exclude(
        Exists(
            Termination.objects.filter(
                contract_id=OuterRef("contract_id"),
                status=TerminationStatus.SCHEDULED,
                end_date__lte=OuterRef("end_date"),
            )
        )
    )


def terminations_due(today: date) -> QuerySet[Termination]:
    """Scheduled terminations (confirmed R6 cases included) whose end date is before `today` (R14).

    One still waits while an earlier period end of its contract is due: ends apply in date order
    (an expiry before a later notice, a renewal before a notice in the next period), whichever
    job or worker runs first.
    """
    earlier_end_pending = ContractPeriod.objects.filter(
        contract_id=OuterRef("contract_id"),
        status=PeriodStatus.OPEN,
        end_date__lt=OuterRef("end_date"),
    ).filter(end_date__lt=today)
    return Termination.objects.filter(
        partition.tenant_q("contract__tenant__"),
        status=TerminationStatus.SCHEDULED,
        end_date__lt=today,
        contract__status=ContractStatus.ACTIVE,
    ).exclude(Exists(earlier_end_pending))


# --- Batches: each one transaction, rows locked with SKIP LOCKED, a constant number of queries --


def _roll_terminations(
    *, today: date, size: int, counts: dict[str, int], ids: Sequence[int] | None = None
) -> int:
    with transaction.atomic():
        due = terminations_due(today)
        if ids is not None:
            due = due.filter(pk__in=ids)
        rows = list(
            due.select_for_update(skip_locked=True, of=("self", "contract"), no_key=True)
            .select_related("contract", "contract__product", "contract__tenant")
            .order_by("end_date", "pk")[:size]
        )
        _end_many(
            [
                _End(
                    contract=t.contract,
                    end_date=t.end_date,
                    reason=TerminationReason(t.reason),
                    termination=t,
                )
                for t in rows
            ],
            scope=Scope.system(),
        )
        counts["terminated"] += len(rows)
        return len(rows)


def _roll_periods(
    *, today: date, size: int, counts: dict[str, int], ids: Sequence[int] | None = None
) -> int:
    with transaction.atomic():
        due = periods_due(today)
        if ids is not None:
            due = due.filter(pk__in=ids)
        periods = list(
            due.select_for_update(skip_locked=True, of=("self", "contract"), no_key=True)
            .select_related("contract", "contract__product", "contract__tenant")
            .order_by("end_date", "pk")[:size]
        )
        if not periods:
            return 0
        requests = {
            row.contract_id: row
            for row in NonRenewalRequest.objects.filter(
                contract_id__in=[p.contract_id for p in periods], status=NonRenewalStatus.ACTIVE
            )
        }
        renew: list[ContractPeriod] = []
        ends: list[_End] = []
        for period in periods:
            contract = period.contract
            request = requests.get(contract.pk)
            if request is not None and request.end_date == period.end_date:
                ends.append(_End(contract, period.end_date, TerminationReason.NON_RENEWAL))
            elif contract.auto_renew:
                renew.append(period)
            else:
                ends.append(_End(contract, period.end_date, TerminationReason.EXPIRED))
        if renew:
            _renew(renew)
        _end_many(ends, scope=Scope.system())
        counts["renewed"] += len(renew)
        counts["ended_non_renewal"] += sum(e.reason == TerminationReason.NON_RENEWAL for e in ends)
        counts["expired"] += sum(e.reason == TerminationReason.EXPIRED for e in ends)
        return len(periods)


def _renew(periods: Sequence[ContractPeriod]) -> None:
    """Close each period and open the next for the same length, the day after its end (R10, R11)."""
    now = clock.now()
    ContractPeriod.objects.filter(pk__in=[p.pk for p in periods], status=PeriodStatus.OPEN).update(
        status=PeriodStatus.CLOSED, updated_at=now
    )
    new_periods: list[ContractPeriod] = []
    notes: list[Note] = []
    for period in periods:
        contract = period.contract
        months = contract_period_months(contract, period)
        start = rules.next_period_start(previous_end=period.end_date)
        end = rules.period_end(start=start, months=months)
        new_periods.append(
            ContractPeriod(
                contract=contract,
                tenant_id=period.tenant_id,
                seq=period.seq + 1,
                start_date=start,
                end_date=end,
            )
        )
        payload = {
            **_contract_payload(contract),
            "period_seq": period.seq + 1,
            "previous_end": _iso(period.end_date),
            "period_start": _iso(start),
            "period_end": _iso(end),
            "months": months,
            **renewal_basis(contract),
        }
        if contract.notice_months is not None:
            payload["non_renewal_deadline"] = _iso(
                rules.non_renewal_deadline(end=end, notice_months=contract.notice_months)
            )
        notes.append(
            Note(
                kind=EventKind.RENEWED,
                tenant=contract.tenant,
                key=f"contract:{contract.pk}:renewed:{start.isoformat()}",
                subject=contract,
                payload=payload,
            )
        )
    ContractPeriod.objects.bulk_create(new_periods)
    Contract.objects.filter(pk__in=[p.contract_id for p in periods]).update(updated_at=now)
    notify(notes)


def _counts() -> dict[str, int]:
    return {"terminated": 0, "renewed": 0, "ended_non_renewal": 0, "expired": 0}


def contracts_roll_due(*, today: date, limit: int | None = None) -> dict[str, int]:
    """Renew or end contracts the day after their period ends; end due terminations (R10–R14).

    Periods go first, except one that a scheduled termination ends on or before its last day
    (the notice wins over the renewal or expiry); then due terminations. So a catch-up after
    missed days applies ends in date order: an expiry before a later notice, a renewal before
    a notice in the next period. Each batch is one transaction with a constant number of
    queries; rows are claimed with FOR UPDATE SKIP LOCKED and changed by conditional updates, so
    a second run (or a concurrent one) finds nothing left to do. `limit` bounds the rows of each
    phase. The lifecycle jobs use `periods_roll` and `terminations_take_effect` on the subjects
    they claimed; this is the whole-day form (demo, benchmarks).
    """
    counts = _counts()
    batch = max(1, int(settings.TERMS_JOB_BATCH_SIZE))
    for step in (_roll_periods, _roll_terminations):
        remaining = limit
        while remaining is None or remaining > 0:
            size = batch if remaining is None else min(batch, remaining)
            done = step(today=today, size=size, counts=counts)
            if done == 0:
                break
            if remaining is not None:
                remaining -= done
    return counts


def periods_roll(*, today: date, ids: Sequence[int]) -> dict[str, int]:
    """Renew or end exactly the periods `ids` that are still due (R10, R11), in one transaction.

    The lifecycle job's effect for the periods it claimed: a period no longer due, or locked by
    a concurrent run, is left alone and the caller sees it unsettled.
    """
    counts = _counts()
    if ids:
        _roll_periods(today=today, size=len(ids), counts=counts, ids=ids)
    return counts


def terminations_take_effect(*, today: date, ids: Sequence[int]) -> dict[str, int]:
    """End the contracts of exactly the terminations `ids` that are due (R6, R13, R14)."""
    counts = _counts()
    if ids:
        _roll_terminations(today=today, size=len(ids), counts=counts, ids=ids)
    return counts
