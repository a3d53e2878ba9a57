"""Typed requests: what the interfaces attach to a request before a view runs.

Views annotate their parameter with these instead of reading untyped attributes, so the
caller's `Scope` (set by the API authentication, the console guard or the portal middleware)
is checked by mypy like any other value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest
from rest_framework.request import Request

from tenants.scope import Scope

if TYPE_CHECKING:
    from agreements.models import ProductKey
    from tenants.models import PartnerAPIKey


class ScopedRequest(HttpRequest):
    """A request whose caller is known: `scope` is the caller's reach (STYLE §5)."""

    scope: Scope


class ApiRequest(Request):
    """A REST API request past authentication (web.api.auth): `scope` is the caller's reach,
    `auth` the key that authenticated it (None for a staff session)."""

    scope: Scope
    auth: PartnerAPIKey | ProductKey | None
