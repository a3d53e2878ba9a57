"""Succession: staff-only transfer with the company's written consent (R19)."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils.translation import gettext as _

from agreements import rules
from agreements.enums import TerminationReason
from agreements.models import Contract, ContractPeriod
from agreements.selectors.contracts import open_period
from agreements.services.consents_bound import consent_states_bound_sync
from agreements.services.contracts.common import _audit, _iso, _lock_active
from agreements.services.contracts.create import _missing_prerequisites
from agreements.services.contracts.ends import _End, _end_many
from core import clock
from core.enums import AuditAction
from core.errors import PermissionDenied, ValidationFailed
from tenants.models import Tenant
from tenants.scope import Scope

# --- Succession (R19) ------------------------------------------------------------------


@transaction.atomic
def succession(
    *,
    scope: Scope,
    contract: Contract,
    successor_tenant: Tenant,
    written_consent_ref: str,
    on_date: date,
) -> Contract:
    """Staff-only transfer with the company's prior written consent (R19; Biz 14, ID+ 20).

    The contract ends the day before `on_date` (reason succession, citing the consent) and a
    new contract for the successor starts on `on_date`, continuing the current period. No
    consent ledger row of either tenant is touched; no data deletion is scheduled.
    """
    if not scope.is_staff:
        raise PermissionDenied(
            _("契約上の地位の承継は、当社の書面による承諾に基づき当社スタッフのみが登録できます。"),
            code="staff_only",
        )
    ref = (written_consent_ref or "").strip()
    if not ref:
        raise ValidationFailed(
            _("当社の書面による承諾の記録（文書番号など）が必要です。"),
            code="written_consent_required",
            field="written_consent_ref",
        )
    locked = _lock_active(contract)
    if successor_tenant.pk == locked.tenant_id:
        raise ValidationFailed(
            _("承継先は別のテナントである必要があります。"),
            code="same_tenant",
            field="successor_tenant",
        )
    if on_date > clock.today():
        raise ValidationFailed(
            _("承継日 %(on)s は将来の日付です。承継の効力が生じた日以降に登録してください。")
            % {"on": _iso(on_date)},
            code="succession_in_future",
            field="on_date",
        )
    if on_date <= locked.start_date:
        raise ValidationFailed(
            _("承継日 %(on)s は利用開始日 %(start)s より後である必要があります。")
            % {"on": _iso(on_date), "start": _iso(locked.start_date)},
            code="succession_before_start",
            field="on_date",
        )
    period = open_period(locked)
    options = list(locked.options.all())
    successor = Contract.objects.create(
        tenant=successor_tenant,
        product=locked.product,
        start_date=on_date,
        term_months=locked.term_months,
        auto_renew=locked.auto_renew,
        auto_renew_source=locked.auto_renew_source,
        notice_months=locked.notice_months,
        notice_source=locked.notice_source,
        billing_cycle=locked.billing_cycle,
        cycle_months=locked.cycle_months,
        amount_jpy=locked.amount_jpy,
        lump_sum_jpy=locked.lump_sum_jpy,
        order_ref=locked.order_ref,
        predecessor=locked,
        succession_consent_ref=ref,
    )
    if options:
        successor.options.set(options)
        if _missing_prerequisites(successor_tenant, options):
            # R18: the successor may lack the prerequisite contract; staff and tenant must see it.
            successor.prerequisite_flagged_at = clock.now()
            successor.save(update_fields=["prerequisite_flagged_at", "updated_at"])
    # The successor steps into the running period; renewals then chain as before (R10).
    if period is not None and on_date <= period.end_date:
        first_end = period.end_date
    else:
        first_end = rules.period_end(start=on_date, months=locked.term_months)
    ContractPeriod.objects.create(
        contract=successor,
        tenant=successor_tenant,
        seq=1,
        start_date=on_date,
        end_date=first_end,
    )
    end_date = on_date - rules.ONE_DAY
    _end_many(
        [
            _End(
                contract=locked,
                end_date=end_date,
                reason=TerminationReason.SUCCESSION,
                written_consent_ref=ref,
                successor=successor,
            )
        ],
        scope=scope,
    )
    consent_states_bound_sync(tenant_ids=[successor_tenant.pk])  # bound from the succession
    _audit(
        scope,
        action=AuditAction.SUCCESSION,
        obj=locked,
        summary=f"→ {successor_tenant.name} from {on_date.isoformat()} ({ref})",
        data={
            "successor_contract_id": successor.pk,
            "successor_tenant_id": successor_tenant.pk,
            "on_date": on_date.isoformat(),
            "written_consent_ref": ref,
        },
    )
    return successor
