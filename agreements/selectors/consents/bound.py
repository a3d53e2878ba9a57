"""Who a document binds (R1): contracts active on a date, for the product and, for
individual rules, the option."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet

from agreements.enums import ContractStatus, DocumentKind
from agreements.models import Contract, TermsDocument

if TYPE_CHECKING:
    from tenants.models import Tenant


def contract_active_q(on_date: date | None, prefix: str = "") -> Q:
    """Contracts active on `on_date` (business dates, inclusive); None: active right now."""
    if on_date is None:
        return Q(**{f"{prefix}status": ContractStatus.ACTIVE})
    return Q(**{f"{prefix}start_date__lte": on_date}) & (
        Q(**{f"{prefix}ended_on__isnull": True}) | Q(**{f"{prefix}ended_on__gte": on_date})
    )


def bound_contracts(*, document: TermsDocument, on_date: date | None) -> QuerySet[Contract]:
    """Contracts through which `document` binds their tenant (R1): the product, and the option
    for individual rules."""
    contracts = Contract.objects.filter(contract_active_q(on_date), product_id=document.product_id)
    if document.option_id is not None:
        contracts = contracts.filter(options=document.option_id)
    return contracts


def bound_tenants_q(*, document: TermsDocument, on_date: date | None) -> Q:
    """A filter on Tenant: tenants bound by `document` on `on_date` (None: contract active now)."""
    return Q(pk__in=bound_contracts(document=document, on_date=on_date).values("tenant_id"))


def bound_documents(*, tenant: Tenant, on_date: date | None) -> list[TermsDocument]:
    """Documents binding `tenant` on `on_date`, individual rules first (they prevail, R1)."""
    contracts = Contract.objects.filter(contract_active_q(on_date), tenant=tenant)
    documents = TermsDocument.objects.filter(
        Q(kind=DocumentKind.BASE, product_id__in=contracts.values("product_id"))
        | Q(kind=DocumentKind.INDIVIDUAL, option_id__in=contracts.values("options"))
    ).select_related("product", "option")
    return sorted(
        documents,
        key=lambda d: (d.product.code, d.kind != DocumentKind.INDIVIDUAL, -d.precedence, d.slug),
    )
