"""contract_create: a contract and its first period (R9–R12, R18)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from agreements import rules
from agreements.enums import BillingCycle, ContractStatus, TermsSource
from agreements.models import Contract, ContractPeriod, Option, Product
from agreements.rulebook import rulebook_for
from agreements.services.consents_bound import consent_states_bound_sync
from agreements.services.contracts.common import _audit, _contract_payload
from agreements.services.notice_newcomers import notices_to_newly_bound
from core import clock
from core.enums import AuditAction, EventKind
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tenants.models import Tenant
from tenants.notify import Note, notify
from tenants.scope import Scope

# --- contract_create (R9–R12, R18) ------------------------------------------------------


def _missing_prerequisites(tenant: Tenant, options: Iterable[Option]) -> list[Option]:
    required = {o.requires_product_id for o in options if o.requires_product_id is not None}
    if not required:
        return []
    held = set(
        Contract.objects.filter(
            tenant=tenant, product_id__in=required, status=ContractStatus.ACTIVE
        ).values_list("product_id", flat=True)
    )
    return [
        o
        for o in options
        if o.requires_product_id is not None and o.requires_product_id not in held
    ]


def _first_period_end(
    *, scope: Scope, product: Product, start_date: date, term_months: int
) -> date:
    """Period 1's last day, with the start date held to its range (docs/security.md).

    A start before TERMS_CONTRACT_START_FLOOR or after today + TERMS_CONTRACT_START_MAX_AHEAD_DAYS
    is refused, and so is a partner's contract whose first period has already ended (it would
    end, and order its data deleted, at once). A date the calendar cannot reach is a 400.
    """
    today = clock.today()
    floor = settings.TERMS_CONTRACT_START_FLOOR
    try:
        latest = today + timedelta(days=settings.TERMS_CONTRACT_START_MAX_AHEAD_DAYS)
    except OverflowError:
        latest = date.max
    if start_date < floor or start_date > latest:
        raise ValidationFailed(
            _("利用開始日は %(floor)s から %(latest)s までの日付で指定してください。")
            % {"floor": floor.isoformat(), "latest": latest.isoformat()},
            code="start_date_out_of_range",
            field="start_date",
        )
    try:
        end = rules.period_end(
            start=start_date, months=term_months, start_day_counts=product.start_day_counts
        )
    except (OverflowError, ValueError):
        raise ValidationFailed(
            _("利用開始日と利用期間から終了日を計算できません。"),
            code="period_out_of_range",
            field="term_months",
        ) from None
    if scope.is_partner and end < today:
        raise ValidationFailed(
            _(
                "利用期間の初回の終了日（%(end)s）がすでに過ぎています。"
                "利用開始日には管理者アカウントの発行日を指定してください。"
            )
            % {"end": end.isoformat()},
            code="start_date_in_the_past",
            field="start_date",
        )
    return end


@transaction.atomic
def contract_create(
    *,
    scope: Scope,
    tenant: Tenant,
    product: Product,
    start_date: date,
    term_months: int = 12,
    auto_renew: bool | None = None,
    notice_months: int | None = None,
    billing_cycle: str,
    amount_jpy: int | None = None,
    lump_sum_jpy: int | None = None,
    cycle_months: int | None = None,
    options: Iterable[Option] = (),
    order_ref: str = "",
    external_ref: str = "",
) -> Contract:
    """Create a contract starting on the admin account's issue date (R9) with period 1 open.

    Renewal and notice come from the product's terms where they have a clause (ID+ 5.4–5.5),
    otherwise from the order (Biz); each is stored with its source (R11).
    """
    if scope.is_tenant_user or scope.is_product:
        raise PermissionDenied(_("契約を登録する権限がありません。"), code="forbidden")
    if not scope.tenants().filter(pk=tenant.pk).exists():
        raise NotFound(_("テナントが見つかりません。"), code="tenant_not_found")
    if not scope.can_write:
        raise PermissionDenied(_("この操作を行う権限がありません。"), code="read_only")
    if tenant.redacted_at is not None or not tenant.is_active:
        raise Conflict(_("このテナントには契約を登録できません。"), code="tenant_inactive")
    if term_months is None or term_months < 1:
        raise ValidationFailed(
            _("利用期間は1か月以上で指定してください。"), code="invalid_term", field="term_months"
        )
    if notice_months is not None and notice_months < 0:
        raise ValidationFailed(
            _("更新拒絶期間は0か月以上で指定してください。"),
            code="invalid_notice",
            field="notice_months",
        )
    end = _first_period_end(
        scope=scope, product=product, start_date=start_date, term_months=term_months
    )

    # R11: the terms' clause where there is one; an order may still derogate from it.
    if product.terms_auto_renewal:
        terms_notice = product.terms_notice_months
        if terms_notice is None:
            terms_notice = rulebook_for(product.code).notice_months
        renew = True if auto_renew is None else bool(auto_renew)
        renew_source = TermsSource.TERMS if renew else TermsSource.ORDER
        notice = terms_notice if notice_months is None else notice_months
        notice_source = TermsSource.TERMS if notice == terms_notice else TermsSource.ORDER
    else:
        renew, renew_source = bool(auto_renew), TermsSource.ORDER
        notice, notice_source = notice_months, TermsSource.ORDER
    if renew and notice is None:
        raise ValidationFailed(
            _("自動更新する契約には、注文書に定める更新拒絶期間（月）が必要です。"),
            code="notice_months_required",
            field="notice_months",
        )

    # R12: billing fields only; no proration is ever computed.
    try:
        cycle = BillingCycle(billing_cycle)
    except ValueError:
        raise ValidationFailed(
            _("請求サイクル「%(cycle)s」は使えません。") % {"cycle": billing_cycle},
            code="invalid_billing_cycle",
            field="billing_cycle",
        ) from None
    if cycle == BillingCycle.MULTI_YEAR and (cycle_months is None or cycle_months <= 12):
        raise ValidationFailed(
            _("複数年の請求サイクルには、13か月以上の請求サイクル（月）が必要です。"),
            code="cycle_months_required",
            field="cycle_months",
        )
    for name, value in (("amount_jpy", amount_jpy), ("lump_sum_jpy", lump_sum_jpy)):
        if value is not None and value < 0:
            raise ValidationFailed(
                _("料金は0円以上で指定してください。"), code="invalid_amount", field=name
            )

    option_list = list(options)
    foreign = [o for o in option_list if o.product_id != product.pk]
    if foreign:
        raise ValidationFailed(
            _("オプション「%(names)s」はこの製品のものではありません。")
            % {"names": "、".join(o.name for o in foreign)},
            code="option_not_of_product",
            field="options",
        )
    missing = _missing_prerequisites(tenant, option_list)
    if missing:
        # R18 (ID+ 3.2): e.g. device authentication needs the tenant's own Optimal Biz contract.
        names = "、".join(
            f"{o.name}（{o.requires_product.name}）" for o in missing if o.requires_product
        )
        raise ValidationFailed(
            _("オプションの前提となる製品の有効な契約がありません: %(names)s") % {"names": names},
            code="option_prerequisite_missing",
            field="options",
            options=[o.code for o in missing],
            requires=[o.requires_product.code for o in missing if o.requires_product],
        )

    contract = Contract.objects.create(
        tenant=tenant,
        product=product,
        start_date=start_date,
        term_months=term_months,
        auto_renew=renew,
        auto_renew_source=renew_source,
        notice_months=notice,
        notice_source=notice_source,
        billing_cycle=cycle,
        cycle_months=cycle_months,
        amount_jpy=amount_jpy,
        lump_sum_jpy=lump_sum_jpy,
        order_ref=order_ref,
        external_ref=external_ref,
    )
    if option_list:
        contract.options.set(option_list)
    consent_states_bound_sync(tenant_ids=[tenant.pk])  # the dashboard counts it from now on
    ContractPeriod.objects.create(
        contract=contract, tenant=tenant, seq=1, start_date=start_date, end_date=end
    )
    # For the partner's feed and webhooks only: the customer is not e-mailed about its order.
    notify(
        [
            Note(
                kind=EventKind.CONTRACT_CREATED,
                tenant=tenant,
                key=f"contract:{contract.pk}:created",
                payload={
                    **_contract_payload(contract),
                    "option_codes": sorted(o.code for o in option_list),
                    "start_date": start_date.isoformat(),
                    "period_end": end.isoformat(),
                    "term_months": term_months,
                    "auto_renew": renew,
                    "notice_months": notice,
                    "billing_cycle": str(cycle),
                    "order_ref": order_ref,
                    "external_ref": external_ref,
                },
                subject=contract,
            )
        ],
        email=False,
    )
    # A revision posted before the contract and not yet in effect binds it on its effective
    # date: the tenant is told of it as the tenants bound at its posting were.
    notices_to_newly_bound(contract=contract, options=option_list)
    _audit(
        scope,
        action=AuditAction.CREATE,
        obj=contract,
        summary=f"{tenant.name} / {product.name}: {start_date.isoformat()}–{end.isoformat()}",
        data={"start_date": start_date.isoformat(), "period_end": end.isoformat()},
    )
    return contract
