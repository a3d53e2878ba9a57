"""The portal's per-request state under /portal/, decided once before a view runs.

CurrentTenantMiddleware: a user may belong to several tenants; the one they work in is kept
in the session (the tenant switcher changes it). Every portal page reads `request.portal`
and builds its queries from `request.scope` (Scope.tenant_user), so another tenant's objects
are simply not found.

ConsentGateMiddleware (R4 in docs/rules.md): looks up which explicit-consent versions still
wait for the tenant's answer (`no_answer` before the effective date, `outstanding` after it)
and sets `request.consent_gate`, from which the layout shows a banner on every page and the
home page lists the pending answers first. It never redirects or refuses: no pending answer
may block a contractual right (contracts, non-renewal, termination, deletion requests,
receipts, members), before or after the effective date. The lookup is web/portal/gate.py:
one indexed query when cold, none when warm.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation

from web.portal.access import view_gate
from web.portal.gate import gate_items
from web.portal.selectors import portal_membership
from web.requests import PortalContext, PortalRequest

PORTAL_PREFIX = "/portal/"
SESSION_TENANT_KEY = "portal_tenant_id"
SESSION_LANGUAGE_KEY = "portal_language"


def language_codes() -> set[str]:
    return {code for code, _name in settings.LANGUAGES}


class CurrentTenantMiddleware:
    """Sets `request.portal` (and `request.scope` for a member) on portal requests."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: PortalRequest) -> HttpResponse:
        request.portal = None
        if request.path_info.startswith(PORTAL_PREFIX):
            self._language(request)
            user = request.user
            if user.is_authenticated:
                membership = portal_membership(user, request.session.get(SESSION_TENANT_KEY))
                if membership is not None:
                    membership.user = user  # the Scope reads it; spare a query
                    if request.session.get(SESSION_TENANT_KEY) != membership.tenant_id:
                        request.session[SESSION_TENANT_KEY] = membership.tenant_id
                portal = PortalContext(user=user, membership=membership)
                request.portal = portal
                if portal.scope is not None:
                    request.scope = portal.scope
        return self.get_response(request)

    @staticmethod
    def _language(request: PortalRequest) -> None:
        """The language cookie (set by the switcher) wins; the session keeps the choice for
        the rest of the signed-in session when the cookie is missing (cookies blocked)."""
        cookie = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        session = request.session.get(SESSION_LANGUAGE_KEY)
        codes = language_codes()
        if cookie in codes:
            if session != cookie and request.user.is_authenticated:
                request.session[SESSION_LANGUAGE_KEY] = cookie
        elif session in codes:
            translation.activate(session)
            request.LANGUAGE_CODE = session


class ConsentGateMiddleware:
    """Sets `request.consent_gate` (the pending-answer banner); never blocks a page (R4)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: PortalRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        gate = view_gate(view_func)
        portal = getattr(request, "portal", None)
        if gate is None or portal is None or portal.membership is None:
            return None
        request.consent_gate = gate_items(portal.membership.tenant_id)
        return None
