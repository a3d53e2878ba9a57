"""What every contract transition shares: locking, the caller's checks, payloads, audit."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from agreements.enums import ContractStatus, TerminationReason
from agreements.models import Contract, Termination
from agreements.selectors.contracts import contracts_visible
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.services import audit_add
from tenants.scope import Scope

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

# Biz 13.1 (1)–(5): staff may terminate without a prior demand to cure, never without notice (R14).
NOTICE_REQUIRED_REASONS = frozenset(
    {
        TerminationReason.NON_PAYMENT,
        TerminationReason.TERMS_VIOLATION,
        TerminationReason.STATUS_LOST,
        TerminationReason.ANTISOCIAL_FORCES,
        TerminationReason.OWNER_ANTISOCIAL_FORCES,
    }
)


# --- Helpers --------------------------------------------------------------------------


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _contract_payload(contract: Contract) -> dict[str, Any]:
    return {
        "contract_id": contract.pk,
        "product_code": contract.product.code,
        "product_name": contract.product.name,
    }


def _actor_fields(scope: Scope) -> dict[str, Any]:
    return {
        "actor_kind": scope.actor_kind,
        "actor_user": scope.acting_user,
        "actor_key": scope.acting_key,
        "channel": scope.channel,
    }


def _audit(scope: Scope, *, action: str, obj: Any, summary: str, data: dict[str, Any]) -> None:
    if scope.is_staff:
        user: AbstractBaseUser | None = scope.user
        audit_add(
            actor=user,
            action=action,
            obj=obj,
            summary=summary,
            data=data,
            tenant_id=getattr(obj, "tenant_id", None),
        )


def _reason(value: str) -> TerminationReason:
    try:
        return TerminationReason(value)
    except ValueError:
        raise ValidationFailed(
            _("終了事由「%(reason)s」は使えません。") % {"reason": value},
            code="invalid_reason",
            field="reason",
        ) from None


def _lock(contracts: QuerySet[Contract], contract: Contract | int) -> Contract:
    """Lock one contract of `contracts` with its product and tenant loaded, or NotFound."""
    pk = contract.pk if isinstance(contract, Contract) else contract
    locked = (
        contracts.select_for_update(of=("self",))
        .select_related("product", "tenant")
        .filter(pk=pk)
        .first()
    )
    if locked is None:
        raise NotFound(_("契約が見つかりません。"), code="contract_not_found")
    return locked


def contract_for_write(scope: Scope, contract: Contract | int) -> Contract:
    """Lock a contract the caller may change: another caller's → NotFound, read-only → 403."""
    locked = _lock(contracts_visible(scope), contract)
    if not scope.can_write:
        raise PermissionDenied(_("この操作を行う権限がありません。"), code="read_only")
    return locked


def _require_active(contract: Contract) -> None:
    if contract.status != ContractStatus.ACTIVE:
        raise Conflict(
            _("この契約は%(ended_on)sに終了しています。") % {"ended_on": _iso(contract.ended_on)},
            code="contract_not_active",
            ended_on=contract.ended_on,
        )


def _require_not_before_start(end_date: date, contract: Contract) -> None:
    if end_date < contract.start_date:
        raise ValidationFailed(
            _("終了日 %(end)s が利用開始日 %(start)s より前です。")
            % {"end": _iso(end_date), "start": _iso(contract.start_date)},
            code="end_before_start",
            field="end_date",
        )


def _lock_active(contract: Contract | int) -> Contract:
    locked = _lock(Contract.objects.all(), contract)
    _require_active(locked)
    return locked


def _require_notice(termination: Termination) -> None:
    if termination.reason in NOTICE_REQUIRED_REASONS and termination.notice_outbox_id is None:
        # R14: no prior demand to cure is needed, but a notice is; refuse rather than end silently.
        raise Conflict(
            _("解約の通知先（管理者のメールアドレス、連絡先、Webhook）がないため解約できません。"),
            code="no_notice_recipient",
        )
