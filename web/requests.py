"""Typed requests: what the interfaces attach to a request before a view runs.

Views annotate their parameter with these instead of reading untyped attributes, so the
caller's `Scope` (set by the API authentication, the console guard or the portal middleware)
is checked by mypy like any other value.
"""

from __future__ import annotations

from django.http import HttpRequest

from tenants.scope import Scope


class ScopedRequest(HttpRequest):
    """A request whose caller is known: `scope` is the caller's reach (STYLE §5)."""

    scope: Scope
