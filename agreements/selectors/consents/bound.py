"""Who a document binds (R1): contracts active on a date, for the product and, for
individual rules, the option."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet

from agreements.enums import ContractStatus, DocumentKind
from agreements.models import Contract, TermsDocument
from agreements.selectors.contracts import (
    active_non_renewal,
    contract_list,
    scheduled_termination,
)

if TYPE_CHECKING:
    from tenants.models import Tenant
    from tenants.scope import Scope


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


@dataclass(frozen=True)
class ContractSpan:
    """A contract's reach in time: from its start to the end it has or is heading for."""

    product_id: int
    option_ids: frozenset[int]
    start: date
    end: date | None  # None: no end filed yet

    def binds(self, document: TermsDocument) -> bool:
        """Whether the document binds the tenant through this contract (R1)."""
        if document.product_id != self.product_id:
            return False
        return document.option_id is None or document.option_id in self.option_ids


def filed_end(contract: Contract) -> date | None:
    """The end a contract has, or that has been filed for it (a non-renewal, a scheduled
    termination). The last period of a contract without auto-renewal is not counted: such
    contracts are commonly extended by a new order, so the change may still bind it."""
    if contract.ended_on is not None:
        return contract.ended_on
    filed = [
        row.end_date
        for row in (active_non_renewal(contract), scheduled_termination(contract))
        if row is not None
    ]
    return min(filed, default=None)


def contract_spans(*, scope: Scope, tenant: Tenant) -> list[ContractSpan]:
    """Every contract of the tenant with its start and filed end: who owes an answer to a
    version is decided on the version's effective date against these (R4). A constant
    number of queries."""
    return [
        ContractSpan(
            product_id=contract.product_id,
            option_ids=frozenset(option.pk for option in contract.options.all()),
            start=contract.start_date,
            end=filed_end(contract),
        )
        for contract in contract_list(scope=scope, tenant=tenant)
    ]
