"""Issuing the receipt of a customer request (R13): called by the service that files it, in
its transaction, so a rolled-back filing (the portal's confirmation preview) issues nothing."""

from __future__ import annotations

from agreements.enums import RequestKind
from agreements.ledger.requests import request_digest
from agreements.models import DataDeletion, NonRenewalRequest, RequestReceipt, Termination
from core import clock


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
