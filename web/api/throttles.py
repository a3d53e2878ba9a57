"""Throttling per API key (or staff user, or client address), with 429 and `Retry-After`.

Every throttled response also carries the budget (IETF draft "RateLimit header fields for
HTTP"): `RateLimit-Limit` (requests per window), `RateLimit-Remaining` and `RateLimit-Reset`
(seconds until the oldest counted request leaves the window), plus `RateLimit-Policy`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from web.api.auth import caller_ident


@dataclass(frozen=True)
class RateLimit:
    limit: int
    remaining: int
    reset: int  # seconds
    window: int  # seconds

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
            "RateLimit-Policy": f"{self.limit};w={self.window}",
        }


def rate_limit_of(request: Any) -> RateLimit | None:
    """The budget the throttle left on `request` (None where no throttle ran)."""
    found = getattr(request, "rate_limit", None)
    return found if isinstance(found, RateLimit) else None


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
        allowed = super().allow_request(request, view)
        if self.num_requests is not None and self.duration is not None:
            history = getattr(self, "history", [])
            now = getattr(self, "now", None) or self.timer()
            oldest = history[-1] if history else now
            request.rate_limit = RateLimit(
                limit=self.num_requests,
                remaining=max(0, self.num_requests - len(history)),
                reset=max(0, math.ceil(self.duration - (now - oldest))),
                window=self.duration,
            )
        return allowed

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        # The API root is throttled without authentication: no scope, the address counts.
        ident = caller_ident(getattr(request, "scope", None))
        if ident is None:
            ident = f"ip:{self.get_ident(request)}"
        return f"throttle:{self.scope}:{ident}"
