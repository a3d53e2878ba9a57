"""Terminations: a customer's notice, staff terminations and scheduled ones (R6, R13, R14)."""

from __future__ import annotations

import re
from datetime import date

from django.db import transaction
from django.utils.translation import gettext as _

from agreements import rules
from agreements.enums import (
    ENDED_REASONS,
    STAFF_ONLY_REASONS,
    RequestKind,
    TerminationReason,
    TerminationStatus,
)
from agreements.models import Contract, Termination, TerminationCase
from agreements.rulebook import rulebook_for
from agreements.selectors.contracts import contract_period_months, open_period
from agreements.services.contracts.common import (
    NOTICE_REQUIRED_REASONS,
    _actor_fields,
    _audit,
    _contract_payload,
    _end_facts_payload,
    _iso,
    _lock_active,
    _reason,
    _require_active,
    _require_not_before_start,
    _require_notice,
    contract_for_write,
)
from agreements.services.request_receipts import filer_fields, request_receipt_issue
from core import clock
from core.enums import AuditAction, EventKind
from core.errors import Conflict, PermissionDenied, ValidationFailed
from tenants.notify import Note, notify
from tenants.scope import Scope

# --- Terminations (R6, R13, R14) -------------------------------------------------------

# A stated ground has words in it: "." or "-" names nothing the customer can answer to.
_WORDS = re.compile(r"[\W_]+")


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
        **filer_fields(scope=scope, tenant_id=contract.tenant_id),
    )
    payload = {
        **_contract_payload(contract),
        "termination_id": termination.pk,
        "reason": str(reason),
        "requested_on": _iso(today),
        "end_date": _iso(end_date),
        "status_after_end": str(rules.end_status_for_reason(reason)),
        **_end_facts_payload(contract, reason=reason, end_date=end_date, note=note),
    }
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

    Staff-only reasons (Biz 13.1, ID+ 14.2) need a privileged scope and must be reasons the
    product's rulebook lists; they need always a notice, whose outbox id is stored on the
    Termination.
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
    book = rulebook_for(locked.product.code)
    if why in NOTICE_REQUIRED_REASONS and book.reason(why) is None:
        # R14: only the product's own grounds; an ID+ contract is never ended on Biz 13.1's.
        raise ValidationFailed(
            _("この終了事由はこの製品の利用規約にありません。"),
            code="reason_not_in_terms",
            field="reason",
            reason=str(why),
        )
    entry = book.reason(why)
    if entry is not None and entry.stated_ground and len(_WORDS.sub("", note)) < 4:
        # R14: the terms' list of grounds is not in the text, so the notice must say which
        # one the customer fell under, in staff's words (a termination states its reason).
        raise ValidationFailed(
            _(
                "この事由では、お客様が該当した事由を具体的に記入してください（解約の通知に記載されます）。"
            ),
            code="ground_required",
            field="note",
            reason=str(why),
        )
    _require_active(locked)
    if why == TerminationReason.CUSTOMER_REQUEST:
        _refuse_end_at_or_after_period_end(locked, end_date)
    termination = _termination_create(
        contract=locked, end_date=end_date, reason=why, scope=scope, note=note
    )
    if why == TerminationReason.CUSTOMER_REQUEST:
        # R13: the customer's notice gets a receipt; staff ends are told by their notice.
        request_receipt_issue(kind=RequestKind.TERMINATION, subject=termination)
    return termination


def _refuse_end_at_or_after_period_end(contract: Contract, end_date: date) -> None:
    """R11/R13: a customer's end on or after the current period's end is a non-renewal.

    So it follows R11 — after the deadline it is refused with the next possible end — and a
    termination cannot be used to end a contract at its period end once the deadline passed.
    A contract that does not renew ends at its period end anyway.
    """
    period = open_period(contract)
    if period is None or end_date < period.end_date:
        return
    if not contract.auto_renew or contract.notice_months is None:
        raise ValidationFailed(
            _("この契約は自動更新されず、%(end)s に期間満了で終了します。")
            % {"end": _iso(period.end_date)},
            code="ends_at_period_end",
            field="end_date",
            period_end=period.end_date,
        )
    today = clock.today()
    deadline = rules.non_renewal_deadline(end=period.end_date, notice_months=contract.notice_months)
    earliest = rules.earliest_non_renewal_end(
        applied_on=today,
        end=period.end_date,
        months=contract_period_months(contract, period),
        notice_months=contract.notice_months,
    )
    if earliest == period.end_date:
        message = _(
            "利用期間の末日（%(end)s）以降に終了する場合は、更新しない旨の申込をしてください"
            "（申込期限 %(deadline)s）。期間の途中で終了する場合は、%(end)s より前の終了日を"
            "指定して解約を申し込んでください。"
        ) % {"end": _iso(period.end_date), "deadline": _iso(deadline)}
        code = "use_non_renewal"
    else:
        message = _(
            "更新しない旨の申込期限（%(deadline)s）を過ぎているため、%(end)s 以降の終了日は"
            "指定できません。次に終了できるのは %(next_end)s です（更新しない旨の申込）。"
        ) % {"deadline": _iso(deadline), "end": _iso(period.end_date), "next_end": _iso(earliest)}
        code = "non_renewal_late"
    raise ValidationFailed(
        message,
        code=code,
        field="end_date",
        deadline=deadline,
        period_end=period.end_date,
        next_possible_end=earliest,
        use="non_renewal",
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
