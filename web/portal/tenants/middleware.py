"""The portal's current tenant and language, decided once per request under /portal/.

A user may belong to several tenants; the one they work in is kept in the session (the
tenant switcher changes it). Every portal page reads `request.portal` and builds its queries
from `request.scope` (Scope.tenant_user), so another tenant's objects are simply not found.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.functional import cached_property

from tenants.enums import Role
from tenants.models import Membership, Tenant
from tenants.scope import Scope
from tenants.selectors import memberships_for_user
from web.portal.tenants.selectors import portal_membership

PORTAL_PREFIX = "/portal/"
SESSION_TENANT_KEY = "portal_tenant_id"
SESSION_LANGUAGE_KEY = "portal_language"


@dataclass
class PortalContext:
    """Who is working in which tenant; templates read `request.portal`."""

    user: Any
    membership: Membership | None = None
    _memberships: list[Membership] | None = field(default=None, repr=False)

    @property
    def tenant(self) -> Tenant | None:
        return self.membership.tenant if self.membership is not None else None

    @property
    def is_admin(self) -> bool:
        return self.membership is not None and self.membership.role == Role.ADMIN

    @cached_property
    def scope(self) -> Scope | None:
        return Scope.tenant_user(self.membership) if self.membership is not None else None

    @cached_property
    def memberships(self) -> list[Membership]:
        """All the user's tenants, for the switcher (read only when a page shows it)."""
        return list(memberships_for_user(self.user))


def language_codes() -> set[str]:
    return {code for code, _name in settings.LANGUAGES}


class CurrentTenantMiddleware:
    """Sets `request.portal` (and `request.scope` for a member) on portal requests."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.portal = None  # type: ignore[attr-defined]
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
                request.portal = portal  # type: ignore[attr-defined]
                if portal.scope is not None:
                    request.scope = portal.scope  # type: ignore[attr-defined]
        return self.get_response(request)

    @staticmethod
    def _language(request: HttpRequest) -> None:
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
            request.LANGUAGE_CODE = session  # type: ignore[attr-defined]
