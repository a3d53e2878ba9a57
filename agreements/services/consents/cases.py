"""R6 termination cases: a rejection opens one per bound active contract; staff confirm or
drop it; an accept, a withdrawal or a lapse of the version drops the live ones."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from agreements.enums import CaseStatus, ContractStatus, TerminationReason, TerminationStatus
from agreements.models import ConsentRecord, Contract, Termination, TerminationCase, TermsVersion
from agreements.rules import rejection_end_date
from agreements.selectors.consents.statuses import LIVE_CASE_STATUSES
from agreements.services.consents.payloads import case_opened_payload, case_payload
from agreements.services.contracts import termination_schedule
from core import clock
from core.enums import AuditAction, EventKind
from core.errors import Conflict, PermissionDenied
from core.services import audit_add
from tenants.models import Tenant
from tenants.notify import Note, notify

if TYPE_CHECKING:
    from tenants.scope import Scope


def _require_staff(scope: Scope) -> None:
    if not scope.is_staff:
        raise PermissionDenied(_("この操作は当社スタッフだけが行えます。"), code="staff_only")


def cases_open(
    *, tenant: Tenant, version: TermsVersion, record: ConsentRecord, contracts: list[Contract]
) -> list[TerminationCase]:
    """R6: a rejection opens a discretionary termination case per bound active contract."""
    live = set(
        TerminationCase.objects.filter(
            contract__in=contracts, version=version, status__in=LIVE_CASE_STATUSES
        ).values_list("contract_id", flat=True)
    )
    now = clock.now()
    opened = []
    for contract in contracts:
        if contract.pk in live:
            continue
        case = TerminationCase.objects.create(
            tenant=tenant, contract=contract, version=version, rejection=record, opened_at=now
        )
        notify(
            [
                Note(
                    kind=EventKind.CASE_OPENED,
                    tenant=tenant,
                    key=f"case:{case.pk}:opened",
                    subject=case,
                    payload=case_opened_payload(case, contract),
                )
            ]
        )
        opened.append(case)
    return opened


def case_close(case: TerminationCase, *, note: str, cause: str) -> None:
    """Drop a live case and cancel the termination it scheduled (R6: never once in effect).

    `cause` tells the tenant why: "accepted" (it accepted the revision), "staff" (the company
    decided not to discontinue), "withdrawn" or "lapsed" (the revision never takes effect).
    """
    now = clock.now()
    case.status = CaseStatus.DROPPED
    case.closed_at = now
    case.note = "\n".join(filter(None, [case.note, note]))
    case.save(update_fields=["status", "closed_at", "note", "updated_at"])
    # A confirmed case scheduled a Termination (contracts.termination_schedule); it must not
    # end the contract any more.
    Termination.objects.filter(case=case, status=TerminationStatus.SCHEDULED).update(
        status=TerminationStatus.CANCELLED, updated_at=now
    )
    notify(
        [
            Note(
                kind=EventKind.CASE_DROPPED,
                tenant=case.tenant,
                key=f"case:{case.pk}:dropped",
                subject=case,
                payload={**case_payload(case), "cause": cause},
            )
        ]
    )


def cases_drop_for_version(*, version: TermsVersion, note: str, cause: str) -> int:
    """Drop the live R6 cases opened by rejections of a withdrawn or lapsed version (R7, R2).

    The version never takes effect, so its rejection no longer grounds a discontinuation;
    each case is closed as by staff (a scheduled termination is cancelled, the tenant told).
    The rejections stay in the ledger. Runs in the caller's transaction; returns the count.
    """
    cases = list(
        TerminationCase.objects.select_for_update(of=("self",))
        .select_related("tenant", "contract", "rejection", "version__document__product")
        .filter(version=version, status__in=LIVE_CASE_STATUSES)
        .order_by("pk")
    )
    for case in cases:
        case_close(case, note=note, cause=cause)
    return len(cases)


# --- Staff handling of R6 cases -------------------------------------------------------------------


def _case_locked(case: TerminationCase) -> TerminationCase:
    return (
        TerminationCase.objects.select_for_update(of=("self",))
        .select_related("version__document__product", "contract", "tenant", "rejection")
        .get(pk=case.pk)
    )


@transaction.atomic
def case_confirm(*, scope: Scope, case: TerminationCase, note: str = "") -> TerminationCase:
    """Staff confirm a rejection case (R6): the contract ends on the later of the version's
    effective date and today + the termination notice period, never retroactively."""
    _require_staff(scope)
    case = _case_locked(case)
    if case.status != CaseStatus.OPEN:
        raise Conflict(
            _("この解約案件は対応待ちではありません。"), code="case_not_open", status=case.status
        )
    if case.contract.status != ContractStatus.ACTIVE:
        raise Conflict(_("契約はすでに終了しています。"), code="contract_not_active")
    today = clock.today()
    assert case.version.effective_on is not None  # noqa: S101 -- posted versions are dated
    end_date = rejection_end_date(
        effective_on=case.version.effective_on,
        confirmed_on=today,
        notice_days=settings.TERMS_TERMINATION_NOTICE_DAYS,
    )
    case.status = CaseStatus.CONFIRMED
    case.confirmed_at = clock.now()
    case.confirmed_by = scope.user
    case.end_date = end_date
    if note:
        case.note = "\n".join(filter(None, [case.note, note]))
    case.save(
        update_fields=["status", "confirmed_at", "confirmed_by", "end_date", "note", "updated_at"]
    )
    termination_schedule(
        contract=case.contract,
        end_date=end_date,
        reason=TerminationReason.TERMS_REJECTED,
        scope=scope,
        case=case,
        note=note,
    )
    audit_add(
        actor=scope.user,
        action=AuditAction.CONFIRM,
        obj=case,
        tenant_id=case.tenant_id,
        summary=f"terms_rejected case confirmed, contract ends {end_date.isoformat()}",
        data={"end_date": end_date.isoformat(), "contract_id": case.contract_id, "note": note},
    )
    notify(
        [
            Note(
                kind=EventKind.CASE_CONFIRMED,
                tenant=case.tenant,
                key=f"case:{case.pk}:confirmed",
                subject=case,
                payload={**case_payload(case), "end_date": end_date.isoformat()},
            )
        ]
    )
    return case


@transaction.atomic
def case_drop(*, scope: Scope, case: TerminationCase, note: str = "") -> TerminationCase:
    """Staff decide not to discontinue (R6 is discretionary); a scheduled end is cancelled."""
    _require_staff(scope)
    case = _case_locked(case)
    if case.status not in LIVE_CASE_STATUSES:
        raise Conflict(
            _("この解約案件は取り下げできません。"), code="case_not_live", status=case.status
        )
    case_close(case, note=note, cause="staff")
    audit_add(
        actor=scope.user,
        action=AuditAction.DROP,
        obj=case,
        tenant_id=case.tenant_id,
        summary="terms_rejected case dropped",
        data={"note": note},
    )
    return case
