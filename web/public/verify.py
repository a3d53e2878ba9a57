"""/verify/: anyone holding a receipt's hash checks that the ledger still holds it unchanged.

Reveals nothing but "valid, recorded at, seq", "a sandbox's record" or "not found": no
tenant, no version, no answer (agreements.selectors.receipts.verification decides which).

The receipt of a customer request (non-renewal, termination, deletion; R13) is checked the
same way by its digest: the receipt issued when the request was filed must exist and the
request must still hash to it; the page then shows only when it was filed.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from agreements.selectors.receipts import verification
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
            found = verification(value)
            context.update(
                result=found.result,
                recorded_at=found.recorded_at,
                seq=found.seq,
                kind_label=found.kind_label,
            )
    response = render(request, "agreements/portal/verify.html", context, status=status)
    response["X-Robots-Tag"] = "noindex"
    return response
