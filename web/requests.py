"""Typed requests: what the interfaces attach to a request before a view runs.

Views annotate their parameter with these instead of reading untyped attributes, so the
caller's `Scope` (set by the API authentication, the console guard or the portal middleware)
is checked by mypy like any other value. The console's own request type sits beside its
guard (web/console/access.py), which is the only place that attaches it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from django.http import HttpRequest
from django.utils.functional import cached_property
from rest_framework.request import Request

from tenants.enums import Role
from tenants.models import Membership, Tenant
from tenants.scope import Scope
from tenants.selectors import memberships_for_user

if TYPE_CHECKING:
    from agreements.models import ProductKey
    from tenants.models import PartnerAPIKey


class ScopedRequest(HttpRequest):
    """A request whose caller is known: `scope` is the caller's reach."""

    scope: Scope


class ApiRequest(Request):
    """A REST API request past authentication (web.api.auth): `scope` is the caller's reach,
    `auth` the key that authenticated it (None for a staff session)."""

    scope: Scope
    auth: PartnerAPIKey | ProductKey | None


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


class WaitingVersion(Protocol):
    """One explicit-consent version the consent gate found waiting for the tenant."""

    @property
    def version_id(self) -> int: ...


class PortalRequest(ScopedRequest):
    """A request under /portal/: `portal` is set for every one (None outside the portal or
    before sign-in); `scope` only once the user works in a tenant; `consent_gate` on the
    guarded pages (web/portal/middleware.py)."""

    portal: PortalContext | None
    consent_gate: tuple[WaitingVersion, ...]
