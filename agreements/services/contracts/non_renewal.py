"""Non-renewal: applying not to renew at a period end, and withdrawing it (R11, R15)."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils.translation import gettext as _

from agreements import rules
from agreements.enums import DeletionKind, DeletionStatus, NonRenewalStatus, RequestKind
from agreements.models import Contract, DataDeletion, NonRenewalRequest
from agreements.selectors.contracts import active_non_renewal, contract_period_months, open_period
from agreements.services.contracts.common import (
    _actor_fields,
    _audit,
    _contract_payload,
    _iso,
    _require_active,
    contract_for_write,
)
from agreements.services.deletion_notes import deletion_withdrawn_note
from agreements.services.request_receipts import filer_fields, request_receipt_issue
from core import clock
from core.enums import AuditAction, EventKind
from core.errors import Conflict, NotFound, ValidationFailed
from tenants.notify import Note, notify
from tenants.scope import Scope

# --- Non-renewal (R11) --------------------------------------------------------------------


@transaction.atomic
def non_renewal_request(
    *, scope: Scope, contract: Contract, end_date: date | None = None
) -> NonRenewalRequest:
    """Apply not to renew at the current period end, or at the next possible end when asked (R11).

    An application on day D (JST) is timely when D <= deadline. A late one is refused with the
    deadline and the next possible end, unless the caller asks for exactly that later end. Any
    other end date is a termination (R13).
    """
    locked = contract_for_write(scope, contract)
    _require_active(locked)
    if not locked.auto_renew or locked.notice_months is None:
        raise Conflict(
            _("この契約は自動更新されません。利用期間の満了をもって終了します。"),
            code="not_auto_renewing",
        )
    existing = active_non_renewal(locked)
    if existing is not None:
        raise Conflict(
            _("更新しない旨の申込は受付済みです（終了日 %(end)s）。")
            % {"end": _iso(existing.end_date)},
            code="non_renewal_exists",
            end_date=existing.end_date,
            deadline=existing.deadline,
        )
    period = open_period(locked)
    if period is None:  # an active contract always has one; the roll job keeps it so
        raise Conflict(_("現在の利用期間がありません。"), code="no_open_period")
    today = clock.today()
    months = contract_period_months(locked, period)
    notice = locked.notice_months
    current_end = period.end_date
    deadline = rules.non_renewal_deadline(end=current_end, notice_months=notice)
    earliest = rules.earliest_non_renewal_end(
        applied_on=today, end=current_end, months=months, notice_months=notice
    )
    if end_date is not None and end_date != current_end and end_date != earliest:
        raise ValidationFailed(
            _(
                "更新しない旨の申込で終了できるのは利用期間の末日（%(earliest)s）だけです。"
                "%(requested)s に終了するには解約の申込をしてください。"
            )
            % {"earliest": _iso(earliest), "requested": _iso(end_date)},
            code="non_renewal_not_period_end",
            field="end_date",
            next_possible_end=earliest,
            use="termination",
        )
    if earliest != current_end and end_date != earliest:
        raise Conflict(
            _(
                "更新しない旨の申込期限（%(deadline)s）を過ぎているため、%(end)s では終了できません。"
                "次に終了できるのは %(next_end)s です。"
                "%(next_end)s での終了を希望する場合は、終了日に %(next_end)s を指定して申し込んでください。"
            )
            % {"deadline": _iso(deadline), "end": _iso(current_end), "next_end": _iso(earliest)},
            code="non_renewal_late",
            deadline=deadline,
            period_end=current_end,
            next_possible_end=earliest,
        )
    target_deadline = rules.non_renewal_deadline(end=earliest, notice_months=notice)
    request = NonRenewalRequest.objects.create(
        contract=locked,
        tenant=locked.tenant,
        requested_on=today,
        requested_at=clock.now(),
        end_date=earliest,
        deadline=target_deadline,
        **_actor_fields(scope),
        **filer_fields(scope=scope, tenant_id=locked.tenant_id),
    )
    request_receipt_issue(kind=RequestKind.NON_RENEWAL, subject=request)
    Contract.objects.filter(pk=locked.pk).update(updated_at=clock.now())
    notify(
        [
            Note(
                kind=EventKind.NON_RENEWAL_RECEIVED,
                tenant=locked.tenant,
                key=f"non_renewal:{request.pk}:received",
                subject=request,
                payload={
                    **_contract_payload(locked),
                    "request_id": request.pk,
                    "requested_on": _iso(today),
                    "end_date": _iso(earliest),
                    "deadline": _iso(target_deadline),
                    "withdrawable_until": _iso(target_deadline),
                },
            )
        ]
    )
    _audit(
        scope,
        action=AuditAction.CREATE,
        obj=request,
        summary=f"non-renewal: end {earliest.isoformat()} (deadline {target_deadline.isoformat()})",
        data={"end_date": earliest.isoformat(), "deadline": target_deadline.isoformat()},
    )
    return request


@transaction.atomic
def non_renewal_withdraw(*, scope: Scope, request: NonRenewalRequest) -> NonRenewalRequest:
    """Withdraw a non-renewal on or before its deadline; the contract renews again (R11).

    A requested data deletion that depended on that end is cancelled with it (R15): the
    customer keeps the contract, so nothing is due to delete. The cancellation is said, not
    silent: each request gets its `withdrawn_at` and a `deletion.withdrawn` notice (cause
    `non_renewal_withdrawn`), and the non-renewal's own notice lists them.
    """
    locked_contract = contract_for_write(scope, request.contract_id)
    row = (
        NonRenewalRequest.objects.select_for_update()
        .filter(pk=request.pk, contract_id=locked_contract.pk)
        .first()
    )
    if row is None:
        raise NotFound(_("申込が見つかりません。"), code="non_renewal_not_found")
    if row.status != NonRenewalStatus.ACTIVE:
        raise Conflict(
            _("この申込は取り下げられないか、既に適用されています。"), code="non_renewal_not_active"
        )
    today = clock.today()
    if today > row.deadline:
        raise Conflict(
            _("取り下げの期限（%(deadline)s）を過ぎています。契約は %(end)s に終了します。")
            % {"deadline": _iso(row.deadline), "end": _iso(row.end_date)},
            code="non_renewal_withdraw_late",
            deadline=row.deadline,
            end_date=row.end_date,
        )
    now = clock.now()
    row.status = NonRenewalStatus.WITHDRAWN
    row.withdrawn_at = now
    row.save(update_fields=["status", "withdrawn_at", "updated_at"])
    cancelled = list(
        DataDeletion.objects.select_for_update().filter(
            contract_id=locked_contract.pk,
            kind=DeletionKind.REQUESTED,
            status=DeletionStatus.SCHEDULED,
        )
    )
    DataDeletion.objects.filter(pk__in=[d.pk for d in cancelled]).update(
        status=DeletionStatus.CANCELLED, withdrawn_at=now, updated_at=now
    )
    Contract.objects.filter(pk=locked_contract.pk).update(updated_at=now)
    period = open_period(locked_contract)
    notify(
        [
            *(
                deletion_withdrawn_note(
                    deletion, locked_contract, on=today, cause="non_renewal_withdrawn"
                )
                for deletion in cancelled
            ),
            Note(
                kind=EventKind.NON_RENEWAL_WITHDRAWN,
                tenant=locked_contract.tenant,
                key=f"non_renewal:{row.pk}:withdrawn",
                subject=row,
                payload={
                    **_contract_payload(locked_contract),
                    "request_id": row.pk,
                    "withdrawn_on": _iso(today),
                    "cancelled_end_date": _iso(row.end_date),
                    "period_end": _iso(period.end_date if period else None),
                    "renews_on": _iso(rules.next_period_start(previous_end=row.end_date)),
                    "deletion_requests_cancelled": [d.pk for d in cancelled],
                },
            ),
        ]
    )
    _audit(
        scope,
        action=AuditAction.WITHDRAW,
        obj=row,
        summary=f"non-renewal withdrawn (end {row.end_date.isoformat()})",
        data={"end_date": row.end_date.isoformat()},
    )
    return row
