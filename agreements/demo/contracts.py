"""The demo's contracts: one per tenant and product, in every state the story needs.

Each is created through the real service on its own start date (R9), so its periods are
the ones the service would have chained.
"""

from __future__ import annotations

from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

from agreements.catalog import Catalog
from agreements.enums import BillingCycle
from agreements.models.contracts import Contract
from agreements.rules.periods import period_end
from agreements.services.contracts import contract_create
from core import clock
from tenants.models import Tenant
from tenants.scope import Scope


def _create(scope: Scope, on: date, **kwargs: object) -> Contract:
    with clock.frozen_at(on):
        return contract_create(scope=scope, start_date=on, **kwargs)  # type: ignore[arg-type]


def _start_for_end(end: date, months: int) -> date:
    """The start date whose first period of `months` ends on `end` (R10, start day counts)."""
    start = end + timedelta(days=1) - relativedelta(months=months)
    while period_end(start=start, months=months) < end:
        start += timedelta(days=1)
    return start


def sign_contracts(
    *,
    as_of: date,
    catalog: Catalog,
    tenants: dict[str, Tenant],
    staff_scope: Scope,
    scope_a: Scope,
    scope_b: Scope,
) -> dict[str, Contract]:
    """Create the demo contracts relative to `as_of`; returned by "<tenant>_<product>"."""
    d = as_of
    annual = {"billing_cycle": BillingCycle.ANNUAL, "amount_jpy": 360_000}

    # Contracts in every state, each created on its start date (R9).
    near_deadline_end = d + timedelta(days=36)  # non-renewal deadline five days away
    shoji_biz = _create(
        staff_scope,
        _start_for_end(near_deadline_end, 12),
        tenant=tenants["shoji"],
        product=catalog.biz,
        auto_renew=True,
        notice_months=1,
        order_ref="DEMO-ORDER-001",
        **annual,
    )
    seisakusho_idp = _create(
        scope_a,
        d - relativedelta(months=10),
        tenant=tenants["seisakusho"],
        product=catalog.id_plus,
        **annual,
    )
    butsuryu_biz = _create(
        scope_a,
        _start_for_end(d - timedelta(days=35), 12),
        tenant=tenants["butsuryu"],
        product=catalog.biz,
        auto_renew=False,
        **annual,
    )
    kensetsu_biz = _create(
        staff_scope,
        d - relativedelta(months=8),
        tenant=tenants["kensetsu"],
        product=catalog.biz,
        billing_cycle=BillingCycle.MONTHLY,
        amount_jpy=30_000,
        auto_renew=True,
        notice_months=1,
    )
    trading_biz = _create(
        staff_scope,
        d - relativedelta(months=7),
        tenant=tenants["trading"],
        product=catalog.biz,
        auto_renew=True,
        notice_months=2,
        **annual,
    )
    trading_idp = _create(
        staff_scope,
        d - relativedelta(months=6),
        tenant=tenants["trading"],
        product=catalog.id_plus,
        options=[catalog.device_auth],
        billing_cycle=BillingCycle.MULTI_YEAR,
        cycle_months=36,
        amount_jpy=900_000,
        lump_sum_jpy=900_000,
        term_months=36,
    )
    iryo_biz = _create(
        scope_b,
        d - relativedelta(months=14),
        tenant=tenants["iryo"],
        product=catalog.biz,
        billing_cycle=BillingCycle.MONTHLY,
        amount_jpy=20_000,
        auto_renew=True,
        notice_months=1,
    )
    gakuen_biz = _create(
        staff_scope,
        d - relativedelta(months=5),
        tenant=tenants["gakuen"],
        product=catalog.biz,
        billing_cycle=BillingCycle.LUMP_SUM,
        lump_sum_jpy=500_000,
        term_months=24,
    )
    shoten_biz = _create(
        scope_a,
        d - relativedelta(months=9),
        tenant=tenants["shoten"],
        product=catalog.biz,
        auto_renew=True,
        notice_months=1,
        **annual,
    )
    return {
        "shoji_biz": shoji_biz,
        "seisakusho_idp": seisakusho_idp,
        "butsuryu_biz": butsuryu_biz,
        "kensetsu_biz": kensetsu_biz,
        "trading_biz": trading_biz,
        "trading_idp": trading_idp,
        "iryo_biz": iryo_biz,
        "gakuen_biz": gakuen_biz,
        "shoten_biz": shoten_biz,
    }
