"""/verify/: anyone holding a receipt's hash checks that the ledger still holds it unchanged.

Reveals nothing but "valid, recorded at, seq", "a sandbox's record" or "not found": no
tenant, no version, no answer. A sandbox's rows (a partner's test tenants, dated by its
sandbox clock) are said to be evidence of nothing, without their date. The row must exist and still hash to the value asked about (docs/ledger.md), so an
edited row (which the database trigger refuses anyway) would not verify.

The receipt of a customer request (non-renewal, termination, deletion; R13) is checked the
same way by its digest: the receipt issued when the request was filed must exist and the
request must still hash to it; the page then shows only when it was filed.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from agreements.ledger.requests import filed_at
from agreements.ledger.rows import record_is_intact
from agreements.selectors.receipts import (
    of_a_sandbox,
    record_by_hash,
    request_receipt_by_digest,
    request_receipt_is_intact,
)
from web import ratelimit


@require_GET
def verify(request: HttpRequest) -> HttpResponse:
    value = str(request.GET.get("hash", "")).strip()
    context: dict[str, object] = {"value": value, "result": None}
    status = 200
    if value:
        if not ratelimit.hit(ratelimit.VERIFY_PER_ADDRESS, ratelimit.client_address(request)):
            context["result"] = "throttled"
            status = 429
        else:
            record = record_by_hash(value)
            receipt = request_receipt_by_digest(value) if record is None else None
            if record is not None and record_is_intact(record):
                if of_a_sandbox(record.tenant):
                    context["result"] = "sandbox"  # no date: the sandbox's clock is the partner's
                else:
                    context.update(result="valid", recorded_at=record.recorded_at, seq=record.seq)
            elif receipt is not None and of_a_sandbox(receipt.tenant):
                context["result"] = "sandbox"
            elif receipt is not None and request_receipt_is_intact(receipt):
                subject = receipt.subject
                context.update(
                    result="valid_request",
                    recorded_at=filed_at(receipt.kind, subject),
                    kind_label=receipt.get_kind_display(),
                )
            else:
                context["result"] = "not_found"
    response = render(request, "agreements/portal/verify.html", context, status=status)
    response["X-Robots-Tag"] = "noindex"
    return response
