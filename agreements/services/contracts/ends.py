"""Ends: one set-based way to end contracts, and contract_end for staff (R14, R15, R18)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, TextField, Value, When
from django.db.models.functions import Concat
from django.utils.translation import gettext as _

from agreements import rules
from agreements.enums import (
    ENDED_REASONS,
    CaseStatus,
    ContractStatus,
    DeletionKind,
    NonRenewalStatus,
    PeriodStatus,
    TerminationReason,
    TerminationStatus,
)
from agreements.models import (
    Contract,
    ContractPeriod,
    DataDeletion,
    NonRenewalRequest,
    Termination,
    TerminationCase,
)
from agreements.rulebook import rulebook_for
from agreements.services.consents_bound import consent_states_bound_sync
from agreements.services.contracts.common import (
    _actor_fields,
    _audit,
    _contract_payload,
    _end_facts_payload,
    _iso,
    _lock_active,
    _reason,
    _require_not_before_start,
    _require_notice,
)
from core import clock, generations
from core.enums import AuditAction, EventKind
from core.errors import PermissionDenied, ValidationFailed
from tenants.notify import Note, StaffNote, notify
from tenants.scope import Scope

# --- Ends (R14, R15, R18) ---------------------------------------------------------------


@dataclass
class _End:
    contract: Contract  # locked and active, with product and tenant loaded
    end_date: date
    reason: TerminationReason
    termination: Termination | None = None  # a scheduled row that now takes effect
    written_consent_ref: str = ""
    successor: Contract | None = None
    note: str = ""


def _end_payload(end: _End) -> dict[str, Any]:
    return {
        **_contract_payload(end.contract),
        "reason": str(end.reason),
        "end_date": _iso(end.end_date),
        "status": str(rules.end_status_for_reason(end.reason)),
        # The end has taken effect: notices speak of it in the past tense.
        "has_ended": True,
        **_end_facts_payload(
            end.contract,
            reason=end.reason,
            end_date=end.end_date,
            note=end.termination.note if end.termination else end.note,
        ),
    }


def _end_many(ends: Sequence[_End], *, scope: Scope) -> list[Termination]:
    """End locked, active contracts in a constant number of queries (R14, R15, R18).

    Sets status/ended_on/end_reason, closes the open period, makes the Termination row
    effective (every end has one), schedules the deletions, marks a non-renewal applied,
    flags options whose prerequisite contract ended and notifies tenants (and staff).
    """
    if not ends:
        return []
    now = clock.now()
    ids = [e.contract.pk for e in ends]
    for end in ends:
        contract = end.contract
        contract.status = rules.end_status_for_reason(end.reason)
        contract.ended_on = end.end_date
        contract.end_reason = end.reason
        contract.updated_at = now
    Contract.objects.bulk_update(
        [e.contract for e in ends], ["status", "ended_on", "end_reason", "updated_at"]
    )
    # Set-based, so no signal: the cached status checks of these tenants (core/generations.py).
    generations.bump_on_commit(*(generations.tenant_generation(e.contract.tenant_id) for e in ends))
    ContractPeriod.objects.filter(contract_id__in=ids, status=PeriodStatus.OPEN).update(
        status=PeriodStatus.CLOSED, updated_at=now
    )
    # R1: no longer bound through these contracts (another may still bind): the dashboard.
    consent_states_bound_sync(tenant_ids=[e.contract.tenant_id for e in ends])
    taking_effect = [e.termination.pk for e in ends if e.termination is not None]
    # A notice for a later date is moot once the contract has ended earlier (e.g. on expiry).
    Termination.objects.filter(contract_id__in=ids, status=TerminationStatus.SCHEDULED).exclude(
        pk__in=taking_effect
    ).update(status=TerminationStatus.CANCELLED, updated_at=now)
    if taking_effect:
        Termination.objects.filter(pk__in=taking_effect, status=TerminationStatus.SCHEDULED).update(
            status=TerminationStatus.EFFECTIVE, effective_at=now, updated_at=now
        )
    case_ids = [e.termination.case_id for e in ends if e.termination and e.termination.case_id]
    if case_ids:
        # R6: a confirmed rejection case is in effect once its termination ends the contract.
        TerminationCase.objects.filter(pk__in=case_ids, status=CaseStatus.CONFIRMED).update(
            status=CaseStatus.EFFECTIVE, closed_at=now, updated_at=now
        )
    # Any other live case of these contracts has nothing left to decide once the contract
    # has ended for another reason (its termination was cancelled above): close it.
    moot = _("契約が別の事由で終了したため終了")
    TerminationCase.objects.filter(
        contract_id__in=ids, status__in=[CaseStatus.OPEN, CaseStatus.CONFIRMED]
    ).exclude(pk__in=case_ids).update(
        status=CaseStatus.DROPPED,
        closed_at=now,
        updated_at=now,
        note=Case(
            When(note="", then=Value(moot)),
            default=Concat(F("note"), Value("\n" + moot), output_field=TextField()),
            output_field=TextField(),
        ),
    )
    non_renewals = [e.contract.pk for e in ends if e.reason == TerminationReason.NON_RENEWAL]
    if non_renewals:
        NonRenewalRequest.objects.filter(
            contract_id__in=non_renewals, status=NonRenewalStatus.ACTIVE
        ).update(status=NonRenewalStatus.APPLIED, updated_at=now)

    outbox_ids = notify(
        [
            Note(
                kind=EventKind.ENDED if e.reason in ENDED_REASONS else EventKind.TERMINATION,
                tenant=e.contract.tenant,
                key=f"contract:{e.contract.pk}:ended:{e.end_date.isoformat()}",
                subject=e.contract,
                payload=_end_payload(e),
            )
            for e in ends
        ],
        outbox_ids=True,
    ).outbox_ids
    created = Termination.objects.bulk_create(
        [
            Termination(
                contract=e.contract,
                tenant_id=e.contract.tenant_id,
                reason=e.reason,
                status=TerminationStatus.EFFECTIVE,
                end_date=e.end_date,
                requested_at=now,
                effective_at=now,
                written_consent_ref=e.written_consent_ref,
                successor=e.successor,
                note=e.note,
                notice_outbox_id=outbox_id,
                **_actor_fields(scope),
            )
            for e, outbox_id in zip(ends, outbox_ids, strict=True)
            if e.termination is None
        ]
    )

    # R15: the deletion timetable of the product's own terms; none where its terms have none
    # (the customer is told to see the contract). A succession hands the data on: no deletion.
    deletions: list[DataDeletion] = []
    for e in ends:
        timetable = rulebook_for(e.contract.product.code).deletion_timetable
        if e.reason == TerminationReason.SUCCESSION or timetable is None:
            continue
        primary_months, backup_months = timetable
        due_dates: list[tuple[DeletionKind, date]] = []
        if settings.TERMS_DELETION_PRIMARY_ALLOWED:
            due_dates.append(
                (
                    DeletionKind.PRIMARY,
                    rules.primary_deletion_from(end=e.end_date, months=primary_months),
                )
            )
        due_dates.append(
            (DeletionKind.BACKUP, rules.backup_purge_due(end=e.end_date, months=backup_months))
        )
        deletions.extend(
            DataDeletion(
                contract=e.contract, tenant_id=e.contract.tenant_id, kind=kind, due_on=due_on
            )
            for kind, due_on in due_dates
        )
    if deletions:
        DataDeletion.objects.bulk_create(deletions, ignore_conflicts=True)

    _flag_lost_prerequisites(ends, now=now)
    return [*(e.termination for e in ends if e.termination is not None), *created]


def _flag_lost_prerequisites(ends: Sequence[_End], *, now: datetime) -> int:
    """R18 (ID+ 3.2): flag active contracts whose option required a product that just ended."""
    ended_pairs = {(e.contract.tenant_id, e.contract.product_id): e for e in ends}
    tenants = {e.contract.tenant_id: e.contract.tenant for e in ends}
    dependents = list(
        Contract.objects.filter(
            status=ContractStatus.ACTIVE,
            tenant_id__in=tenants,
            options__requires_product_id__in={p for _, p in ended_pairs},
        ).values_list(
            "pk",
            "tenant_id",
            "options__requires_product_id",
            "options__code",
            "options__name",
            "product__code",
        )
    )
    dependents = [row for row in dependents if (row[1], row[2]) in ended_pairs]
    if not dependents:
        return 0
    # Another active contract for the same product still satisfies the option.
    still_held = set(
        Contract.objects.filter(
            status=ContractStatus.ACTIVE,
            tenant_id__in={row[1] for row in dependents},
            product_id__in={row[2] for row in dependents},
        ).values_list("tenant_id", "product_id")
    )
    lost = [row for row in dependents if (row[1], row[2]) not in still_held]
    if not lost:
        return 0
    Contract.objects.filter(
        pk__in={row[0] for row in lost}, prerequisite_flagged_at__isnull=True
    ).update(prerequisite_flagged_at=now, updated_at=now)
    tenant_notes: list[Note] = []
    staff_notes: list[StaffNote] = []
    for pk, tenant_id, product_id, option_code, option_name, product_code in lost:
        ended = ended_pairs[(tenant_id, product_id)]
        payload = {
            "contract_id": pk,
            "product_code": product_code,
            "option_code": option_code,
            "option_name": option_name,
            "prerequisite_contract_id": ended.contract.pk,
            "prerequisite_product_code": ended.contract.product.code,
            "prerequisite_ended_on": _iso(ended.end_date),
        }
        key = f"contract:{pk}:prerequisite:{ended.contract.pk}:{option_code}"
        tenant_notes.append(
            Note(
                kind=EventKind.OPTION_PREREQUISITE_LOST,
                tenant=tenants[tenant_id],
                key=key,
                payload=payload,
            )
        )
        staff_notes.append(
            StaffNote(
                kind=EventKind.OPTION_PREREQUISITE_LOST,
                key=key,
                payload={"tenant_id": tenant_id, "tenant_name": tenants[tenant_id].name, **payload},
            )
        )
    notify(tenant_notes, staff=staff_notes)
    return len(lost)


@transaction.atomic
def contract_end(*, contract: Contract, end_date: date, reason: str, scope: Scope) -> Contract:
    """End an active contract today for `reason` (R14); never backdated.

    An earlier `end_date` is accepted only for a termination already scheduled for it (its
    notice went out when it was scheduled).

    Ends for non_renewal/expired leave it `ended`, every other end `terminated`; a scheduled
    termination for the same reason and date takes effect, any other is cancelled.
    """
    if not scope.is_privileged:
        raise PermissionDenied(_("契約を終了させる権限がありません。"), code="forbidden")
    why = _reason(reason)
    locked = _lock_active(contract)
    today = clock.today()
    if end_date > today:
        raise ValidationFailed(
            _("終了日 %(end)s は将来の日付です。解約の予定として登録してください。")
            % {"end": _iso(end_date)},
            code="end_in_future",
            field="end_date",
        )
    scheduled = Termination.objects.filter(
        contract=locked, status=TerminationStatus.SCHEDULED, reason=why, end_date=end_date
    ).first()
    if end_date < today and scheduled is None and why not in ENDED_REASONS:
        # R14 (CC 97, 540): a termination takes effect when its notice reaches the tenant, and
        # the notice is sent today, so no end date before today. A notice sent earlier is a
        # scheduled termination (it may take effect late, the roll job catching up); a period
        # end (expired, non-renewal) happened by itself and is recorded as it happened.
        raise ValidationFailed(
            _(
                "終了日 %(end)s は過去の日付です。解約は通知が届いた時に効力を生じるため、"
                "本日（%(today)s）以降の日付を指定してください。"
            )
            % {"end": _iso(end_date), "today": _iso(today)},
            code="end_date_in_past",
            field="end_date",
            today=today,
        )
    _require_not_before_start(end_date, locked)
    (termination,) = _end_many(
        [_End(contract=locked, end_date=end_date, reason=why, termination=scheduled)], scope=scope
    )
    if scheduled is None:
        _require_notice(termination)
    _audit(
        scope,
        action=AuditAction.TERMINATE,
        obj=locked,
        summary=f"{why}: {end_date.isoformat()}",
        data={"reason": str(why), "end_date": end_date.isoformat()},
    )
    return locked
