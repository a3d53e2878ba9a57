"""Attempt counters on the shared cache (Redis in production and tests), the client address
and the one spelling of an account name that every counter keys on.

Sign-in throttling itself is django-axes (terms_site/security.py: which failures count, per
account and per address, and what a refusal looks like). This module holds what the audiences
share: `account_name` and `client_address` (axes uses both), the message of a refused
sign-in, and the fixed-window counters of the portal's password reset, the public receipt
verification and the public per-version PDF. A counter per key and window, created with add() so that concurrent first hits
in several web processes agree.

When the cache is unreachable the counters fall back to memory of the one process (logged as
a warning once a minute while it lasts): throttling gets weaker for the outage, it neither
refuses everybody nor silently stops (docs/security.md).
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import BaseCache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.utils.translation import gettext_lazy as _
from ipware import get_client_ip
from redis.exceptions import RedisError

from core import clock
from core.degrade import Outage
from web.problemjson import problem_response

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Limit:
    name: str
    attempts: int
    window_seconds: int


RESET_PER_ACCOUNT = Limit("reset-account", attempts=3, window_seconds=60 * 60)
RESET_PER_ADDRESS = Limit("reset-ip", attempts=20, window_seconds=60 * 60)
VERIFY_PER_ADDRESS = Limit("verify-ip", attempts=60, window_seconds=60)


def public_pdf_per_address() -> Limit:
    """The public per-version PDF (rendered on each request, seconds of CPU): per client
    address and minute, TERMS_PUBLIC_PDF_PER_MINUTE (default 10)."""
    return Limit(
        "pdf-ip",
        attempts=int(getattr(settings, "TERMS_PUBLIC_PDF_PER_MINUTE", 10)),
        window_seconds=60,
    )


SIGNIN_LOCKED_OUT = _(
    "ログインの試行回数が上限に達しました。15分ほど待ってから、もう一度お試しください。"
)
TOO_MANY_REQUESTS = 429

# Memory of this process only, used while the shared cache cannot be reached.
_FALLBACK = LocMemCache("terms-ratelimit-fallback", {"OPTIONS": {"MAX_ENTRIES": 100_000}})


# --- who is asking --------------------------------------------------------------------------


def account_name(value: object) -> str:
    """The one spelling of an account name that counters key on: NFKC, case-folded, trimmed.

    Django's sign-in form applies NFKC before looking a user up, so 「ａｄｍｉｎ」 signs in as
    `admin`; counting the name as typed would give every variant a fresh budget.
    """
    return unicodedata.normalize("NFKC", str(value or "")).casefold().strip()


def client_address(request: HttpRequest) -> str:
    """The address a request came from, as far as it can be trusted.

    By default the socket's peer (REMOTE_ADDR): a client can write any X-Forwarded-For it
    likes. Behind reverse proxies, TERMS_TRUSTED_PROXY_COUNT says how many of them append to
    X-Forwarded-For, so the client is that many entries from the right (anything further left
    was written by the client); with TERMS_TRUSTED_PROXIES set, the header is read only on
    connections from those addresses or networks.
    """
    peer = str(request.META.get("REMOTE_ADDR") or "unknown")
    hops = int(getattr(settings, "TERMS_TRUSTED_PROXY_COUNT", 0) or 0)
    if hops <= 0 or not _is_trusted_proxy(peer):
        return peer
    # ipware counts the proxies listed *in* the header; the last proxy is the peer itself.
    address, _routable = get_client_ip(
        request,
        proxy_order="left-most",
        proxy_count=hops - 1,
        request_header_order=["HTTP_X_FORWARDED_FOR"],
        # Not strict: a client's garbage on the left must not void the proxies' entries.
        strict=False,
    )
    return address or peer


def _is_trusted_proxy(peer: str) -> bool:
    trusted = list(getattr(settings, "TERMS_TRUSTED_PROXIES", []) or [])
    if not trusted:
        return True  # the count alone: every connection comes through the proxies
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(entry, strict=False) for entry in trusted)


def signin_locked_out(request: HttpRequest) -> bool:
    """Whether axes refused this request's sign-in (the account or address is locked)."""
    return bool(getattr(request, "axes_locked_out", False))


# --- the cache, and what happens when it is gone ---------------------------------------------


def shared_cache() -> BaseCache:
    return caches[getattr(settings, "AXES_CACHE", "default")]


# The configured cache (core.cache.FallbackRedisCache) falls back by itself; this is for a cache
# backend that raises, said once a minute rather than once per request.
# One record per cache alias.
_OUTAGES: dict[str, Outage] = {}


def resilient(operation: Callable[[BaseCache], T]) -> T:
    """Run `operation` on the shared cache, or on this process's memory when it is down."""
    alias = getattr(settings, "AXES_CACHE", "default")
    outage = _OUTAGES.setdefault(alias, Outage("ratelimit.cache", log=log))
    if outage.skip():
        return operation(_FALLBACK)
    try:
        result = operation(caches[alias])
    except (RedisError, OSError) as exc:
        outage.failed(exc)
        return operation(_FALLBACK)
    outage.succeeded()
    return result


# --- fixed-window counters --------------------------------------------------------------------


def _key(limit: Limit, subject: str) -> str:
    # Subjects are e-mail addresses and IPs: keep them out of the cache's key space. The
    # "portal:" prefix predates the module's move; changing it would reset live counters.
    digest = hashlib.sha256(account_name(subject).encode("utf-8")).hexdigest()[:32]
    window = int(clock.now().timestamp()) // limit.window_seconds
    return f"portal:rl:{limit.name}:{window}:{digest}"


def hit(limit: Limit, subject: str) -> bool:
    """Count one attempt; False once `subject` has used up its attempts in this window."""
    key = _key(limit, subject)
    timeout = limit.window_seconds + 5

    def count(cache: BaseCache) -> int:
        if cache.add(key, 1, timeout=timeout):
            return 1
        try:
            return int(cache.incr(key))
        except ValueError:  # expired between add() and incr()
            cache.add(key, 1, timeout=timeout)
            return 1

    return resilient(count) <= limit.attempts


def exhausted(limit: Limit, subject: str) -> bool:
    """Whether `subject` is already over the limit, without counting an attempt."""
    key = _key(limit, subject)
    count: Any = resilient(lambda cache: cache.get(key))
    return int(count or 0) >= limit.attempts


def retry_after(limit: Limit) -> int:
    """Seconds until the current window of `limit` ends (a refused client may try again then),
    at least 1: the value of a 429's Retry-After."""
    return max(1, limit.window_seconds - int(clock.now().timestamp()) % limit.window_seconds)


def reset(limit: Limit, subject: str) -> None:
    key = _key(limit, subject)
    resilient(lambda cache: cache.delete(key))


# --- the refusal outside the API ---------------------------------------------------------------


def too_many_requests(
    request: HttpRequest,
    *,
    detail: str,
    retry_after: int,
    template: str,
    context: dict[str, Any] | None = None,
) -> HttpResponse:
    """429 with Retry-After on a page outside the API: problem+json (code `throttled` with
    `retry_after`, as the API answers) for a client that asks for JSON and not HTML, else
    `template` rendered with `detail` and `retry_after`."""
    headers = {"Retry-After": str(retry_after)}
    accept = request.headers.get("Accept", "")
    if "json" in accept and "text/html" not in accept:
        return problem_response(
            TOO_MANY_REQUESTS,
            "throttled",
            title=_("リクエストが多すぎます"),
            detail=detail,
            headers=headers,
            members={"retry_after": retry_after},
        )
    body = loader.render_to_string(
        template, {"detail": detail, "retry_after": retry_after, **(context or {})}, request
    )
    return HttpResponse(body, status=TOO_MANY_REQUESTS, headers=headers)
