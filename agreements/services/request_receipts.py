"""Issuing the receipt of a customer request (R13): called by the service that files it, in
its transaction, so a rolled-back filing (the portal's confirmation preview) issues nothing."""

from __future__ import annotations

from agreements.enums import RequestKind
from agreements.ledger.requests import request_digest
from agreements.models import DataDeletion, NonRenewalRequest, RequestReceipt, Termination
from core import clock
from tenants.models import Membership
from tenants.scope import Scope


def filer_fields(*, scope: Scope, tenant_id: int) -> dict[str, str]:
    """The person filing a request as its receipt names them, taken now and stored with the
    request (R13): display name (full name, else address, else account name), the title they
    hold in the tenant, and their address. A later profile change leaves the receipt as it
    was. Empty for a filer that is not a person (a partner key).

    Called by the filing service after it has authorised the contract for `scope`, so the
    tenant is the caller's; a staff filer holds no title there."""
    user = scope.acting_user
    if user is None:
        return {"filer_name": "", "filer_title": "", "filer_email": ""}
    email = (user.email or "").strip()
    title = Membership.objects.filter(tenant_id=tenant_id, user=user).values_list(
        "title", flat=True
    )
    return {
        "filer_name": (user.get_full_name() or "").strip() or email or user.get_username(),
        "filer_title": title.first() or "",
        "filer_email": email,
    }


def request_receipt_issue(
    *, kind: RequestKind, subject: NonRenewalRequest | Termination | DataDeletion
) -> RequestReceipt:
    """Store the digest of `subject` as filed; /verify/ finds the receipt by it."""
    field = {
        RequestKind.NON_RENEWAL: "non_renewal",
        RequestKind.TERMINATION: "termination",
        RequestKind.DELETION: "deletion",
    }[kind]
    return RequestReceipt.objects.create(
        tenant_id=subject.tenant_id,
        kind=kind,
        digest=request_digest(str(kind), subject),
        issued_at=clock.now(),
        **{field: subject},
    )
