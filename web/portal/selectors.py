"""Reads the portal pages need beyond the shared selectors (all built from the caller's Scope).

- the current membership (the middleware) and an invitation by its link's token;
- the home page's ordering (pending first) over consent_status_for_tenant / contract_list;
- one document status by version (the review page), the documents in force with the version
  binding the tenant (R4);
- R6: what rejecting a revision may lead to (the earliest end date and the contracts);
- R18: the tenant's dependent options that would lose their prerequisite with a contract;
- receipts (the tenant's ledger rows with their evidence).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from agreements.enums import ConsentStatus, ContractStatus
from agreements.models import ConsentRecord, Contract, Option
from agreements.rules import rejection_end_date
from agreements.selectors.consents import (
    DocumentStatus,
    bound_contracts,
    consent_status_for_tenant,
    ledger_for_tenant,
)
from agreements.selectors.contracts import ContractFacts, contract_facts, contract_list
from core.errors import NotFound
from tenants.keys import hash_key
from tenants.models import Invitation, Membership

if TYPE_CHECKING:
    from tenants.models import Tenant
    from tenants.scope import Scope


def portal_membership(user: Any, tenant_id: int | None) -> Membership | None:
    """The user's membership in `tenant_id` (an active tenant), else their first one by name.

    One indexed query (membership_unique is on tenant, user) in the usual case.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    memberships = Membership.objects.select_related("tenant").filter(
        user_id=user.pk, tenant__is_active=True
    )
    if tenant_id is not None:
        found = memberships.filter(tenant_id=tenant_id).first()
        if found is not None:
            return found
    return memberships.order_by("tenant__name", "tenant_id").first()


def invitation_for_token(token: str) -> Invitation | None:
    """The invitation a link's token belongs to (any status: the page says why it is unusable).

    Tokens are stored hashed, so the lookup hashes the token; an unknown token is None.
    """
    if not token:
        return None
    return (
        Invitation.objects.select_related("tenant", "invited_by")
        .filter(token_hash=hash_key(token))
        .first()
    )


# Statuses that still ask something of the tenant, or that it should see first.
_ATTENTION = (ConsentStatus.OUTSTANDING, ConsentStatus.NO_ANSWER, ConsentStatus.REJECTED)


def needs_attention(status: DocumentStatus) -> bool:
    """Shown first on the home page: a change the tenant owes an answer to (R4) — never one
    that took effect before its contract began or takes effect after it ends."""
    if status.version is None or not status.owed:
        return False
    return status.pending_version is not None or status.status in _ATTENTION


def documents_pending_first(*, scope: Scope, tenant: Tenant) -> list[DocumentStatus]:
    """Bound documents: those with a pending version or an open answer first, soonest first."""
    statuses = consent_status_for_tenant(scope=scope, tenant=tenant)

    def order(status: DocumentStatus) -> tuple[bool, date]:
        if needs_attention(status):
            return (False, status.effective_on or date.max)
        return (True, date.max)

    return sorted(statuses, key=order)


def documents_in_force(*, scope: Scope, tenant: Tenant) -> list[DocumentStatus]:
    """Bound documents with a version in force, each with the version that binds the tenant
    (R4: the previous one while it has not accepted a revision put to explicit consent)."""
    return [
        status
        for status in consent_status_for_tenant(scope=scope, tenant=tenant)
        if status.version_in_force is not None or status.binding_version is not None
    ]


def document_status_for_version(*, scope: Scope, tenant: Tenant, version_id: int) -> DocumentStatus:
    """The tenant's status for the document a version belongs to; a version of a document
    that does not bind the tenant is NotFound."""
    for status in consent_status_for_tenant(scope=scope, tenant=tenant):
        ids = {
            v.pk
            for v in (
                status.version,
                status.pending_version,
                status.version_in_force,
                status.binding_version,  # the text that binds the tenant is readable (R4)
            )
            if v is not None
        }
        if version_id in ids:
            return status
    raise NotFound(_("規約の版が見つかりません。"), code="version_not_found")


@dataclass(frozen=True)
class ContractRow:
    contract: Contract
    facts: ContractFacts

    @property
    def is_active(self) -> bool:
        return self.contract.status == ContractStatus.ACTIVE


def contracts_with_facts(*, scope: Scope, tenant: Tenant, today: date) -> list[ContractRow]:
    """The tenant's contracts with their dates: active first, the nearest deadline first."""
    rows = [
        ContractRow(contract=c, facts=contract_facts(c, today))
        for c in contract_list(scope=scope, tenant=tenant)
    ]
    return sorted(
        rows,
        key=lambda r: (
            not r.is_active,
            r.facts.non_renewal_deadline or r.facts.known_end or date.max,
            r.contract.pk,
        ),
    )


@dataclass(frozen=True)
class RejectionConsequence:
    """What rejecting a revision may lead to (R6)."""

    earliest_end: date
    contracts: list[Contract]


def rejection_consequence(
    *, scope: Scope, tenant: Tenant, status: DocumentStatus, today: date, notice_days: int
) -> RejectionConsequence:
    """The end date confirming the termination case today would set, and the tenant's
    contracts bound by the document (the ones a confirmed rejection ends)."""
    version = status.version
    assert version is not None  # noqa: S101 -- only the latest posted version is answered
    assert version.effective_on is not None  # noqa: S101 -- posted versions are dated
    earliest_end = rejection_end_date(
        effective_on=version.effective_on, confirmed_on=today, notice_days=notice_days
    )
    contracts = list(
        scope.owned(bound_contracts(document=status.document, on_date=None))
        .filter(tenant_id=tenant.pk)
        .select_related("product")
        .order_by("pk")
    )
    return RejectionConsequence(earliest_end=earliest_end, contracts=contracts)


@dataclass(frozen=True)
class DependentOption:
    """An option of another contract that needs this contract's product (R18)."""

    contract: Contract
    option: Option


def dependents_losing_prerequisite(*, scope: Scope, contract: Contract) -> list[DependentOption]:
    """R18 (ID+ 3.2): the tenant's active options that require `contract`'s product and that
    would have no other active contract of that product once `contract` ends."""
    others = Contract.objects.filter(
        tenant_id=contract.tenant_id, status=ContractStatus.ACTIVE
    ).exclude(pk=contract.pk)
    others = scope.owned(others)
    if others.filter(product_id=contract.product_id).exists():
        return []
    found: list[DependentOption] = []
    for other in others.prefetch_related("options").select_related("product").order_by("pk"):
        for option in other.options.all():
            if option.requires_product_id == contract.product_id:
                found.append(DependentOption(contract=other, option=option))
    return found


# --- receipts -------------------------------------------------------------------------------


def receipt_list(*, scope: Scope, tenant: Tenant) -> QuerySet[ConsentRecord]:
    """Every ledger row of the tenant, newest first, with the evidence of who answered."""
    return (
        ledger_for_tenant(scope=scope, tenant=tenant)
        .select_related("evidence", "document__product")
        .order_by("-seq")
    )


def receipt_get(*, scope: Scope, tenant: Tenant, pk: Any) -> ConsentRecord:
    try:
        return receipt_list(scope=scope, tenant=tenant).get(pk=pk)
    except (ConsentRecord.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("受領証が見つかりません。"), code="receipt_not_found") from None
