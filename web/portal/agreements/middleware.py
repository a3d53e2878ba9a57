"""The consent gate (DESIGN R4; issue: customer portal).

A tenant admin whose tenant still owes an answer to an explicit-consent version (`no_answer`
before the effective date, `outstanding` after it) is sent to that version's review page
before any other portal page; viewers, who cannot answer, see a banner instead. Pages that
must stay reachable (sign-in, passwords, the review pages themselves, the tenant switcher)
are marked exempt by their decorator. The lookup is web/portal/agreements/gate.py: one indexed
query when cold, none when warm.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from web.portal.agreements.gate import gate_items
from web.portal.tenants.access import GATE_CHECK


class ConsentGateMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        gate = getattr(view_func, "portal_gate", None)
        portal = getattr(request, "portal", None)
        if gate is None or portal is None or portal.membership is None:
            return None
        items = gate_items(portal.membership.tenant_id)
        request.consent_gate = items  # type: ignore[attr-defined]
        if items and gate == GATE_CHECK and portal.is_admin:
            return HttpResponseRedirect(reverse("portal:review", args=[items[0].version_id]))
        return None
