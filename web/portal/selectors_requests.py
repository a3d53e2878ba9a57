"""Reads of a tenant's own requests for the portal's receipts (R13): non-renewals, terminations
the customer gave notice of, and deletions it asked for. Built from the caller's scope, so
another tenant's request is NotFound (the page answers 404)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Model, QuerySet
from django.utils.translation import gettext as _

from agreements.enums import DeletionKind, RequestKind, TerminationReason
from agreements.models import DataDeletion, NonRenewalRequest, Termination
from agreements.selectors.contracts import contracts_visible
from core.errors import NotFound
from tenants.models import Tenant
from tenants.scope import Scope

# URL slug → the model of that kind of request and how to narrow it to customer requests.
KINDS = tuple(RequestKind.values)


def _requests(scope: Scope, tenant: Tenant, kind: str) -> QuerySet[Any]:
    contracts = contracts_visible(scope).filter(tenant=tenant)
    queryset: QuerySet[Any]
    if kind == "non-renewal":
        queryset = NonRenewalRequest.objects.filter(contract__in=contracts)
    elif kind == "termination":
        # Only the customer's own notice (R13); staff ends are told by their termination notice.
        queryset = Termination.objects.filter(
            contract__in=contracts, reason=TerminationReason.CUSTOMER_REQUEST
        )
    elif kind == "deletion":
        queryset = DataDeletion.objects.filter(contract__in=contracts, kind=DeletionKind.REQUESTED)
    else:
        raise NotFound(_("受領証が見つかりません。"), code="receipt_not_found")
    return queryset.select_related("contract", "contract__product", "tenant")


def request_get(*, scope: Scope, tenant: Tenant, kind: str, pk: Any) -> Model:
    try:
        return _requests(scope, tenant, kind).get(pk=pk)
    except (ValueError, TypeError, *_does_not_exist()):
        raise NotFound(_("受領証が見つかりません。"), code="receipt_not_found") from None


def _does_not_exist() -> tuple[type[Exception], ...]:
    return (
        NonRenewalRequest.DoesNotExist,
        Termination.DoesNotExist,
        DataDeletion.DoesNotExist,
    )


@dataclass(frozen=True)
class RequestRow:
    """One line of the receipts page: a customer request and where its receipt is."""

    kind: str
    obj: Model
    filed_at: datetime


def request_list(*, scope: Scope, tenant: Tenant) -> list[RequestRow]:
    """Every request of the tenant, newest first (three queries, whatever their number)."""
    rows = [
        RequestRow("non-renewal", r, r.requested_at)
        for r in _requests(scope, tenant, "non-renewal")
    ]
    rows += [
        RequestRow("termination", t, t.requested_at)
        for t in _requests(scope, tenant, "termination")
    ]
    rows += [RequestRow("deletion", d, d.created_at) for d in _requests(scope, tenant, "deletion")]
    return sorted(rows, key=lambda row: row.filed_at, reverse=True)
