"""Throttling per API key (or staff user, or client address), with 429 and `Retry-After`.

Every API answer carries the caller's budget (IETF draft "RateLimit header fields for HTTP"):
`RateLimit-Limit` (requests per window), `RateLimit-Remaining` and `RateLimit-Reset` (seconds
until the oldest counted request leaves the window), plus `RateLimit-Policy` (docs/api.md,
Conventions). A request the throttle counted reports the budget it left; one refused before
the throttle runs (401, the key check's 403, 405, 406, 413, 415, an unrouted 404) is not
counted, nor is one the throttle let in whose answer is a server's failure (a 5xx: its count
is taken back, `take_back`); both report the budget as it stands (`budget_peek`): its key's, or the client
address's for a request without a valid credential (the anonymous budget the API root counts
against). `ApiRateLimitHeaderMiddleware` adds it to the answers no view made.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from core.cache import MEMORY_WINDOW_LOCK, FallbackRedisCache
from web.api import prefetch
from web.api.auth import caller_ident, header_caller_ident
from web.ratelimit import client_address


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


@dataclass(frozen=True)
class Admitted:
    """A request the throttle let in and counted: what takes its count back (`take_back`)."""

    key: str  # the sliding window's key on Redis; rest_framework's list's key in memory
    now: float
    duration: int
    member: str | None  # the window's member on Redis (or its fallback); None: the list


def take_back(request: Any) -> bool:
    """Give back the count of a request the throttle let in, when the answer is a server's
    failure (a 5xx: the database-down 503, a 500): docs/api.md says a refusal the service did
    not serve spends nothing of the caller's budget. True when a count was taken back."""
    admitted = getattr(request, "throttle_admitted", None)
    if not isinstance(admitted, Admitted):
        return False
    request.throttle_admitted = None
    backend = caches["default"]
    if admitted.member is not None and isinstance(backend, FallbackRedisCache):
        backend.sliding_window_forget(admitted.key, admitted.member)
    elif admitted.member is None:
        with MEMORY_WINDOW_LOCK:
            history = list(backend.get(admitted.key) or [])
            if admitted.now in history:
                history.remove(admitted.now)
                backend.set(admitted.key, history, admitted.duration)
    request.rate_limit = None  # the answer reports the budget as it now stands
    return True


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
    # What the window holds after this request (this one included when let in), and when the
    # oldest of those came: the budget headers and Retry-After are computed from them.
    count = 0
    oldest: float | None = None

    def get_rate(self) -> str | None:
        return getattr(settings, "TERMS_API_THROTTLE_RATE", "600/min")

    def allow_request(self, request: Request, view: Any) -> bool:
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        backend = caches["default"]
        if not isinstance(backend, FallbackRedisCache):
            # The embedded mode's per-process cache: rest_framework's list of times, read and
            # written back by one thread at a time (two threads that read the same list
            # counted as one, and let more than the limit in).
            with MEMORY_WINDOW_LOCK:
                allowed = super().allow_request(request, view)
            history = getattr(self, "history", [])
            self.count, self.oldest = len(history), (history[-1] if history else None)
            if allowed and getattr(self, "key", None) is not None and self.duration:
                request.throttle_admitted = Admitted(self.key, self.now, self.duration, None)
        elif self.rate is None or (key := self.get_cache_key(request, view)) is None:
            return True
        else:
            # Redis: the same sliding window in one atomic round trip, of constant size on
            # the wire (rest_framework reads and writes back the whole list of times, which
            # grows with the rate, and can lose a count between two processes).
            if (ahead := prefetch.take_count(request, f"{key}:window")) is not None:
                self.key, self.now, window = key, ahead.now, ahead.window  # counted already
                member = ahead.member
            else:
                self.key, self.now = key, self.timer()
                window = backend.sliding_window(
                    f"{key}:window", now=self.now, window=self.duration, limit=self.num_requests
                )
                member = window.member
            allowed, self.count, self.oldest = window.allowed, window.count, window.oldest
            if allowed and member is not None:
                request.throttle_admitted = Admitted(
                    f"{key}:window", self.now, self.duration, member
                )
        if self.num_requests is not None and self.duration is not None:
            now = getattr(self, "now", None) or self.timer()
            oldest = self.oldest if self.oldest is not None else now
            request.rate_limit = RateLimit(
                limit=self.num_requests,
                remaining=max(0, self.num_requests - self.count),
                reset=max(0, math.ceil(self.duration - (now - oldest))),
                window=self.duration,
            )
        return allowed

    def plan(self, request: Any, ident: str) -> tuple[str, float, int, int] | None:
        """The window a request of `ident` would be counted in, for counting it ahead
        (web/api/prefetch.py): its key, now, the window's length and the limit. None where
        this throttle does not count on Redis."""
        self.rate = self.get_rate()
        limit, duration = self.parse_rate(self.rate)
        if limit is None or duration is None:
            return None
        if not isinstance(caches["default"], FallbackRedisCache):
            return None
        return f"{self.bucket(request, ident)}:window", self.timer(), duration, limit

    def wait(self) -> float | None:
        """Seconds until a request may come again (rest_framework's formula, from the count)."""
        if self.duration is None or self.num_requests is None:
            return None
        remaining = self.duration - (self.now - self.oldest) if self.oldest else self.duration
        available = self.num_requests - self.count + 1
        if available <= 0:
            return None
        return remaining / float(available)

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        # The API root is throttled without authentication: no scope, the address counts.
        return self.bucket(request, caller_ident(getattr(request, "scope", None)))

    def bucket(self, request: Any, ident: str | None) -> str:
        """The counter of `ident`, or of the request's client address (as far as it can be
        trusted: web.ratelimit.client_address) when there is no credential."""
        return f"throttle:{self.scope}:{ident or f'ip:{client_address(request)}'}"

    def peek(self, request: Any, ident: str | None) -> RateLimit | None:
        """The budget of `ident` (or of the client address) as it stands, counting nothing."""
        self.rate = self.get_rate()
        limit, duration = self.parse_rate(self.rate)
        if limit is None or duration is None:
            return None
        now = self.timer()
        backend = caches["default"]
        if isinstance(backend, FallbackRedisCache):
            window = backend.sliding_window_peek(
                f"{self.bucket(request, ident)}:window", now=now, window=duration
            )
            count, oldest = window.count, window.oldest
        else:
            history = [
                t for t in (self.cache.get(self.bucket(request, ident)) or []) if t > now - duration
            ]
            count, oldest = len(history), (history[-1] if history else None)
        return RateLimit(
            limit=limit,
            remaining=max(0, limit - count),
            reset=max(0, math.ceil(duration - (now - oldest))) if oldest is not None else 0,
            window=duration,
        )


def budget_peek(request: Any, ident: str | None) -> RateLimit | None:
    """The caller's budget for an answer the throttle did not count (see the module)."""
    return KeyRateThrottle().peek(request, ident)


def add_budget(response: HttpResponse, budget: RateLimit | None) -> HttpResponse:
    if budget is not None:
        for name, value in budget.headers().items():
            response[name] = value
    return response


class ApiRateLimitHeaderMiddleware:
    """The budget on every answer under /api/ that no view made (413 and 415 of the body
    limits, a method a path does not serve, an unrouted path): the caller is told where it
    stands as on any other answer. The schema and its reference pages are documents, not
    throttled, and carry none."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            request.path.startswith("/api/")
            and "RateLimit-Limit" not in response
            and request.path not in _documents()
        ):
            try:
                ident = header_caller_ident(request)
            except DatabaseError:
                ident = None  # the budget is told, never a reason to fail the answer
            add_budget(response, budget_peek(request, ident))
        return response


def _documents() -> frozenset[str]:
    return frozenset(reverse(f"api:{name}") for name in ("schema", "docs", "redoc"))
