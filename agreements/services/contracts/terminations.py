"""Terminations: a customer's notice, staff terminations and scheduled ones (R6, R13, R14)."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from agreements import rules
from agreements.enums import ENDED_REASONS, STAFF_ONLY_REASONS, TerminationReason, TerminationStatus
from agreements.models import Contract, Termination, TerminationCase
from agreements.services.contracts.common import (
    _actor_fields,
    _audit,
    _contract_payload,
    _iso,
    _lock_active,
    _reason,
    _require_active,
    _require_not_before_start,
    _require_notice,
    contract_for_write,
)
from core import clock
from core.enums import AuditAction, EventKind
from core.errors import Conflict, PermissionDenied, ValidationFailed
from tenants.notify import Note, notify
from tenants.scope import Scope

# --- Terminations (R6, R13, R14) -------------------------------------------------------


def _termination_create(
    *,
    contract: Contract,
    end_date: date,
    reason: TerminationReason,
    scope: Scope,
    case: TerminationCase | None = None,
    note: str = "",
) -> Termination:
    today = clock.today()
    if end_date < today:
        raise ValidationFailed(
            _(
                "終了日 %(end)s は過去の日付です（本日 %(today)s）。本日以降の日付を指定してください。"
            )
            % {"end": _iso(end_date), "today": _iso(today)},
            code="end_date_in_past",
            field="end_date",
            today=today,
        )
    _require_not_before_start(end_date, contract)
    existing = Termination.objects.filter(
        contract=contract, status=TerminationStatus.SCHEDULED
    ).first()
    if existing is not None:
        raise Conflict(
            _("この契約は %(end)s に終了する予定です。") % {"end": _iso(existing.end_date)},
            code="termination_exists",
            end_date=existing.end_date,
            reason=existing.reason,
        )
    termination = Termination.objects.create(
        contract=contract,
        tenant=contract.tenant,
        reason=reason,
        status=TerminationStatus.SCHEDULED,
        end_date=end_date,
        requested_at=clock.now(),
        case=case,
        note=note,
        **_actor_fields(scope),
    )
    payload = {
        **_contract_payload(contract),
        "termination_id": termination.pk,
        "reason": str(reason),
        "requested_on": _iso(today),
        "end_date": _iso(end_date),
        "status_after_end": str(rules.end_status_for_reason(reason)),
        "claims_window_closes": _iso(rules.claims_window_closes(end=end_date)),
        "backup_purge_due": _iso(rules.backup_purge_due(end=end_date)),
    }
    if settings.TERMS_DELETION_PRIMARY_ALLOWED:
        payload["primary_deletion_from"] = _iso(rules.primary_deletion_from(end=end_date))
    (outbox_id,) = notify(
        [
            Note(
                kind=EventKind.TERMINATION,
                tenant=contract.tenant,
                key=f"termination:{termination.pk}:notice",
                subject=termination,
                payload=payload,
            )
        ],
        outbox_ids=True,
    ).outbox_ids
    termination.notice_outbox_id = outbox_id
    termination.save(update_fields=["notice_outbox_id", "updated_at"])
    _require_notice(termination)
    Contract.objects.filter(pk=contract.pk).update(updated_at=clock.now())
    _audit(
        scope,
        action=AuditAction.TERMINATE,
        obj=termination,
        summary=f"{reason}: end {end_date.isoformat()}",
        data={"reason": str(reason), "end_date": end_date.isoformat(), "note": note},
    )
    return termination


@transaction.atomic
def termination_request(
    *,
    scope: Scope,
    contract: Contract,
    end_date: date,
    reason: str = TerminationReason.CUSTOMER_REQUEST,
    note: str = "",
) -> Termination:
    """Give notice of termination with an end date (R13), or terminate as staff (R14).

    Staff-only reasons (Biz 13.1) need a privileged scope; they need no prior demand to cure
    but always a notice, whose outbox id is stored on the Termination.
    """
    locked = contract_for_write(scope, contract)
    why = _reason(reason)
    if why in STAFF_ONLY_REASONS and not scope.is_privileged:
        raise PermissionDenied(
            _("この終了事由は当社のみが使えます。"), code="staff_only_reason", reason=str(why)
        )
    if why in ENDED_REASONS:
        raise ValidationFailed(
            _(
                "期間満了・更新しない旨の申込は解約ではありません。更新しない旨の申込をしてください。"
            ),
            code="not_a_termination_reason",
            field="reason",
        )
    if why in (TerminationReason.TERMS_REJECTED, TerminationReason.SUCCESSION):
        raise ValidationFailed(
            _("この終了事由は解約案件の確定または地位の承継の手続で登録されます。"),
            code="reason_has_own_procedure",
            field="reason",
        )
    _require_active(locked)
    return _termination_create(
        contract=locked, end_date=end_date, reason=why, scope=scope, note=note
    )


@transaction.atomic
def termination_schedule(
    *,
    contract: Contract,
    end_date: date,
    reason: str,
    scope: Scope,
    case: TerminationCase | None = None,
    note: str = "",
) -> Termination:
    """Schedule a termination decided by the company, e.g. a confirmed R6 case; never retroactive."""
    if not scope.is_privileged:
        raise PermissionDenied(_("解約を予定する権限がありません。"), code="forbidden")
    why = _reason(reason)
    if why in ENDED_REASONS:
        raise ValidationFailed(
            _("期間満了・更新しない旨の申込は解約ではありません。"),
            code="not_a_termination_reason",
            field="reason",
        )
    locked = _lock_active(contract)
    return _termination_create(
        contract=locked, end_date=end_date, reason=why, scope=scope, case=case, note=note
    )
