"""Reads by what a receipt shows: a ledger row by its chain hash, a customer request's
receipt by its digest (R13)."""

from __future__ import annotations

from agreements.ledger.requests import request_digest
from agreements.models import ConsentRecord, RequestReceipt
from tenants.models import Tenant


def record_by_hash(value: str) -> ConsentRecord | None:
    """The ledger row with this chain hash (a unique index), for the public verify page."""
    digest = _hex_digest(value)
    if digest is None:
        return None
    return ConsentRecord.objects.select_related("tenant__partner").filter(hash=digest).first()


def _hex_digest(value: str) -> str | None:
    digest = (value or "").strip().lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        return None
    return digest


def request_receipt_by_digest(value: str) -> RequestReceipt | None:
    """The receipt of a customer request issued with this digest (R13), for /verify/."""
    digest = _hex_digest(value)
    if digest is None:
        return None
    return (
        RequestReceipt.objects.select_related(
            "non_renewal", "termination", "deletion", "tenant__partner"
        )
        .filter(digest=digest)
        .first()
    )


def of_a_sandbox(tenant: Tenant) -> bool:
    """Whether a record or receipt is a sandbox tenant's: evidence of nothing, dated by the
    sandbox's clock (docs/ledger.md, "Sandbox rows")."""
    partner = tenant.partner
    return partner is not None and partner.is_sandbox


def request_receipt_is_intact(receipt: RequestReceipt) -> bool:
    """The request still hashes to the digest its receipt was issued with."""
    subject = receipt.subject
    return subject is not None and request_digest(receipt.kind, subject) == receipt.digest
