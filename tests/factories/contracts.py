"""Products as the documents describe them, callers' scopes and contracts made through the services."""

from __future__ import annotations

from datetime import date
from typing import Any

from agreements.enums import BillingCycle
from agreements.models import Contract, Option, Product, ProductKey
from agreements.services.contracts.create import contract_create
from core import clock
from tenants.enums import KeyScope, Role
from tenants.keys import PRODUCT_KEY_TAG, issue_key
from tenants.models import Partner, Tenant
from tenants.scope import Scope
from tests.factories.agreements import OptionFactory, ProductFactory
from tests.factories.tenants import MembershipFactory, StaffFactory, make_partner_key


def biz_product(**overrides: Any) -> Product:
    """Optimal Biz: no auto-renewal clause in its terms (renewal comes from the order, R11)."""
    return ProductFactory(code="optimal-biz", name="Optimal Biz", **overrides)


def idplus_product(**overrides: Any) -> Product:
    """OPTiM ID+: auto-renewal with one month's notice (ID+ 5.4–5.5)."""
    fields = {"terms_auto_renewal": True, "terms_notice_months": 1, **overrides}
    return ProductFactory(code="optim-id-plus", name="OPTiM ID+", **fields)


def device_auth_option(idplus: Product | None = None, biz: Product | None = None) -> Option:
    """ID+'s device authentication, which requires an Optimal Biz contract (ID+ 3.2, R18)."""
    return OptionFactory(
        product=idplus or idplus_product(),
        code="device-auth",
        name="デバイス認証",
        requires_product=biz or biz_product(),
    )


def staff_scope() -> Scope:
    return Scope.staff(StaffFactory())


def partner_scope(partner: Partner | None = None, *, write: bool = True) -> Scope:
    scopes = [KeyScope.READ, KeyScope.WRITE] if write else [KeyScope.READ]
    key, _ = make_partner_key(partner, scopes=scopes)
    return Scope.partner(key)


def tenant_scope(tenant: Tenant, role: str = Role.ADMIN) -> Scope:
    return Scope.tenant_user(MembershipFactory(tenant=tenant, role=role))


def product_scope(product: Product, scopes: tuple[str, ...] = ("deletion:ack",)) -> Scope:
    issued = issue_key(PRODUCT_KEY_TAG)
    key = ProductKey.objects.create(
        product=product,
        name="test",
        prefix=issued.prefix,
        hashed_key=issued.hashed,
        scopes=list(scopes),
    )
    return Scope.product(product_id=product.pk, key_id=key.pk, scopes=scopes)


def make_contract(
    *,
    tenant: Tenant,
    product: Product | None = None,
    start_date: date = date(2024, 4, 1),
    term_months: int = 12,
    billing_cycle: str = BillingCycle.MONTHLY,
    amount_jpy: int | None = 10_000,
    scope: Scope | None = None,
    **fields: Any,
) -> Contract:
    """A contract created through contract_create (staff by default), as of its start date."""
    with clock.frozen_at(start_date):
        return contract_create(
            scope=scope or Scope.system(),
            tenant=tenant,
            product=product or idplus_product(),
            start_date=start_date,
            term_months=term_months,
            billing_cycle=billing_cycle,
            amount_jpy=amount_jpy,
            **fields,
        )
