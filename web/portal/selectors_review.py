"""Reads for the review page beyond the document's status: who answers for the tenant, a
revision that was withdrawn (R7), and contracts that end before a revision takes effect.
All built from the caller's Scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from agreements.enums import VersionStatus
from agreements.models import TermsDocument, TermsVersion
from agreements.selectors.consents import bound_contracts, consent_status_for_tenant
from agreements.selectors.contracts import contract_known_end, contract_list
from tenants.enums import Role
from tenants.models import Tenant
from tenants.scope import Scope
from tenants.selectors import membership_list


@dataclass(frozen=True)
class Person:
    """A member as other members see them (the members page): name (may be empty), e-mail
    address and title (役職, may be empty)."""

    name: str
    email: str
    title: str = ""


def tenant_admins(*, scope: Scope, tenant: Tenant) -> list[Person]:
    """The tenant's admins, who answer revisions and file requests: named to a viewer (the
    review and contract pages, and the page refusing a viewer an admin's action)."""
    return [
        Person(
            name=m.user.get_full_name().strip(),
            email=m.user.email or m.user.username,
            title=m.title,
        )
        for m in membership_list(scope=scope, tenant=tenant).filter(
            role=Role.ADMIN, user__is_active=True
        )
    ]


def withdrawn_version(*, scope: Scope, tenant: Tenant, version_id: int) -> TermsVersion | None:
    """A posted revision withdrawn before it took effect (R7), of a document that binds the
    tenant: earlier e-mails link to it, so its page says it was withdrawn instead of 404."""
    documents = [
        status.document.pk for status in consent_status_for_tenant(scope=scope, tenant=tenant)
    ]
    return (
        TermsVersion.objects.select_related("document", "document__product")
        .filter(
            pk=version_id,
            document_id__in=documents,
            status=VersionStatus.WITHDRAWN,
            posted_at__isnull=False,
        )
        .first()
    )


def contracts_end_before(
    *, scope: Scope, tenant: Tenant, document: TermsDocument, effective_on: date
) -> date | None:
    """The last known end of the tenant's active contracts bound by `document`, when every
    one of them ends before `effective_on` (a non-renewal, a termination, a period that does
    not renew): the revision would then not apply unless a contract is extended."""
    ends: list[date] = []
    # The tenant's contracts through which the document binds it now (R1), in the caller's
    # reach: the same rule the consent services apply.
    bound = bound_contracts(document=document, on_date=None).filter(
        pk__in=contract_list(scope=scope, tenant=tenant).values("pk")
    )
    for contract in bound.select_related("product"):
        end = contract_known_end(contract)
        if end is None or end >= effective_on:
            return None
        ends.append(end)
    return max(ends) if ends else None
