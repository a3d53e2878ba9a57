"""Reads by what a receipt shows: a ledger row by its chain hash, a customer request's
receipt by its digest (R13)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from agreements.ledger.requests import filed_at, request_digest
from agreements.ledger.rows import record_is_intact
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


@dataclass(frozen=True)
class Verification:
    """What /verify/ may say of a hash: `valid` (a ledger row, with its instant and seq),
    `valid_request` (a request's receipt, with when it was filed and its kind), `sandbox` or
    `not_found` — never the tenant, the version or the answer."""

    result: str
    recorded_at: datetime | None = None
    seq: int | None = None
    kind_label: str = ""


def verification(value: str) -> Verification:
    """/verify/'s answer for a ledger row's hash or a request receipt's digest. The row (or
    request) must exist and still hash to the value (docs/ledger.md), so an edited row would
    not verify. A sandbox's rows and receipts (a partner's test tenants, dated by its sandbox
    clock) are evidence of nothing: said so, without their date."""
    record = record_by_hash(value)
    if record is not None:
        if not record_is_intact(record):
            return Verification("not_found")
        if of_a_sandbox(record.tenant):
            return Verification("sandbox")
        return Verification("valid", recorded_at=record.recorded_at, seq=record.seq)
    receipt = request_receipt_by_digest(value)
    if receipt is None:
        return Verification("not_found")
    if of_a_sandbox(receipt.tenant):
        return Verification("sandbox")
    if not request_receipt_is_intact(receipt):
        return Verification("not_found")
    return Verification(
        "valid_request",
        recorded_at=filed_at(receipt.kind, receipt.subject),
        kind_label=str(receipt.get_kind_display()),
    )
