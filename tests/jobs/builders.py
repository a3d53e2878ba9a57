"""Fast builders for job tests and fault drills: bulk INSERTs, no per-row services."""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib.auth import get_user_model

from agreements.enums import BillingCycle, PeriodStatus, TermsSource
from agreements.models import Contract, ContractPeriod, Product
from agreements.rules import non_renewal_deadline, period_end
from tenants.enums import Role
from tenants.models import Membership, Tenant


def id_plus_product() -> Product:
    product, _ = Product.objects.get_or_create(
        code="id-plus",
        defaults={
            "name": "OPTiM ID+",
            "name_en": "OPTiM ID+",
            "terms_auto_renewal": True,
            "terms_notice_months": 1,
        },
    )
    return product


def tenants_bulk(count: int, *, prefix: str = "t", locale: str = "ja") -> list[Tenant]:
    """Tenants with a contact address each (one e-mail per notice), created in one INSERT."""
    return Tenant.objects.bulk_create(
        [
            Tenant(
                name=f"{prefix}{i}株式会社",
                contact_email=f"{prefix}{i}@customer.example",
                locale=locale,
            )
            for i in range(count)
        ]
    )


def contracts_bulk(
    tenants: list[Tenant],
    product: Product,
    *,
    start: date,
    months: int = 12,
    auto_renew: bool = True,
    notice_months: int = 1,
) -> list[Contract]:
    """Active contracts with their first period open, in three INSERTs (no per-row services)."""
    contracts = Contract.objects.bulk_create(
        [
            Contract(
                tenant=tenant,
                product=product,
                start_date=start,
                term_months=months,
                auto_renew=auto_renew,
                auto_renew_source=TermsSource.TERMS,
                notice_months=notice_months if auto_renew else None,
                notice_source=TermsSource.TERMS,
                billing_cycle=BillingCycle.ANNUAL,
                amount_jpy=120_000,
            )
            for tenant in tenants
        ]
    )
    end = period_end(start=start, months=months)
    ContractPeriod.objects.bulk_create(
        [
            ContractPeriod(
                contract=c,
                tenant_id=c.tenant_id,
                seq=1,
                start_date=start,
                end_date=end,
                status=PeriodStatus.OPEN,
            )
            for c in contracts
        ]
    )
    return contracts


def start_for_deadline_in(
    today: date, days: int, *, months: int = 12, notice_months: int = 1
) -> date:
    """A start date whose first period's non-renewal deadline is `days` after `today`."""
    target = today + timedelta(days=days)
    for back in range(0, 31 * months + 62):
        start = target - timedelta(days=back)
        end = period_end(start=start, months=months)
        if non_renewal_deadline(end=end, notice_months=notice_months) == target:
            return start
    raise AssertionError(f"no start date gives the deadline {target}")


def admin_user(tenant: Tenant, email: str) -> None:
    user = get_user_model().objects.create(username=email, email=email)
    Membership.objects.create(user=user, tenant=tenant, role=Role.ADMIN)
