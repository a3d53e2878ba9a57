"""Fixed-window attempt counters on the shared cache (Redis in production and tests).

HTTP-level throttling shared by the audiences: the portal's login and password reset, the
public receipt verification and the staff sign-in forms (terms_site/security.py). A counter
per key and window, created with add() so that concurrent first hits in several web processes
agree.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.core.cache import cache
from django.http import HttpRequest

from core import clock


@dataclass(frozen=True)
class Limit:
    name: str
    attempts: int
    window_seconds: int


LOGIN_PER_ACCOUNT = Limit("login-account", attempts=10, window_seconds=15 * 60)
LOGIN_PER_ADDRESS = Limit("login-ip", attempts=50, window_seconds=15 * 60)
RESET_PER_ACCOUNT = Limit("reset-account", attempts=3, window_seconds=60 * 60)
RESET_PER_ADDRESS = Limit("reset-ip", attempts=20, window_seconds=60 * 60)
VERIFY_PER_ADDRESS = Limit("verify-ip", attempts=60, window_seconds=60)


def client_address(request: HttpRequest) -> str:
    # Behind the reverse proxy REMOTE_ADDR is set by gunicorn from the trusted hop only.
    return str(request.META.get("REMOTE_ADDR") or "unknown")


def _key(limit: Limit, subject: str) -> str:
    # Subjects are e-mail addresses and IPs: keep them out of the cache's key space. The
    # "portal:" prefix predates the module's move; changing it would reset live counters.
    digest = hashlib.sha256(subject.strip().lower().encode("utf-8")).hexdigest()[:32]
    window = int(clock.now().timestamp()) // limit.window_seconds
    return f"portal:rl:{limit.name}:{window}:{digest}"


def hit(limit: Limit, subject: str) -> bool:
    """Count one attempt; False once `subject` has used up its attempts in this window."""
    key = _key(limit, subject)
    if cache.add(key, 1, timeout=limit.window_seconds + 5):
        return True
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.add(key, 1, timeout=limit.window_seconds + 5)
        return True
    return count <= limit.attempts


def exhausted(limit: Limit, subject: str) -> bool:
    """Whether `subject` is already over the limit, without counting an attempt."""
    count = cache.get(_key(limit, subject)) or 0
    return int(count) >= limit.attempts


def reset(limit: Limit, subject: str) -> None:
    cache.delete(_key(limit, subject))
