"""Throttling per API key (or staff user, or client address), with 429 and `Retry-After`."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from web.api.auth import caller_ident


class KeyRateThrottle(SimpleRateThrottle):
    """One bucket per API key (or staff user, or client address), on the default cache.

    The rate comes from TERMS_API_THROTTLE_RATE at request time so that a deployment (or a
    test) can change it without re-importing DRF's settings.
    """

    scope = "api"

    def get_rate(self) -> str | None:
        return getattr(settings, "TERMS_API_THROTTLE_RATE", "600/min")

    def allow_request(self, request: Request, view: Any) -> bool:
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        # The API root is throttled without authentication: no scope, the address counts.
        ident = caller_ident(getattr(request, "scope", None))
        if ident is None:
            ident = f"ip:{self.get_ident(request)}"
        return f"throttle:{self.scope}:{ident}"
