"""A key's request in one Redis round trip: its cached key, its count in the throttle and the
operation's own cached reads, fetched together before authentication (bench/RESULTS.md,
benchmarks 2 and 3).

Authentication, the throttle and a cached read (the status check's answer) each made a round
trip of their own; on a warm status check they were the whole cost besides Django. What they
read can be named before any of them runs, once this process knows which key a presented
value is: the hash of the whole value → the key's caller ident and product (`KnownKey`),
remembered after it authenticated here. Those facts never change for a key, so knowing them
grants nothing: the key's validity is still its cached entry under the keys' generation,
read in the same round trip, and a value never authenticated here (a wrong secret) is not
known, fetches nothing ahead and is counted nowhere.

The count comes before the checks that decide whether a request is counted at all (a revoked
key's 401, the key check's 403): a request refused before the throttle gets its count back
(`settle`), so the budget is as docs/api.md says. A request with a method or body the
operation refuses (405, 415) is not counted ahead.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.cache import caches
from rest_framework import exceptions
from rest_framework.request import Request

from core import generations
from core.cache import FallbackRedisCache, Window
from tenants.auth import key_cache_entry
from tenants.keys import PARTNER_KEY_TAG, PRODUCT_KEY_TAG, hash_key
from web.api.auth import presented_key

_KIND_OF_TAG = {PARTNER_KEY_TAG: "partner", PRODUCT_KEY_TAG: "product"}


@dataclass(frozen=True)
class KnownKey:
    """A key as this process has seen it authenticate: never a reason to let it in."""

    kind: str  # "partner" or "product": the cache entry's kind (tenants.auth)
    ident: str  # its throttle bucket and idempotency owner (web.api.auth.caller_ident)
    product_id: int | None  # a product key's product
    partner_id: int | None = None  # a partner key's partner


_KNOWN: dict[str, KnownKey] = {}
_KNOWN_MAX = 10_000  # keys; past it the memory starts again (a cold round trip each)
_KNOWN_LOCK = threading.Lock()


def _kind(raw: str) -> str | None:
    return _KIND_OF_TAG.get(raw.partition("_")[0])


def known_key(raw: str) -> KnownKey | None:
    return _KNOWN.get(hash_key(raw))


def remember_key(
    raw: str, ident: str | None, product_id: int | None, partner_id: int | None = None
) -> None:
    """After `raw` authenticated as the key named `ident`."""
    kind = _kind(raw)
    if kind is None or ident is None:
        return
    digest = hash_key(raw)
    if digest in _KNOWN:
        return
    with _KNOWN_LOCK:
        if len(_KNOWN) >= _KNOWN_MAX:
            _KNOWN.clear()
        _KNOWN[digest] = KnownKey(
            kind=kind, ident=ident, product_id=product_id, partner_id=partner_id
        )


@dataclass
class Counted:
    """The throttle's count made ahead (KeyRateThrottle takes it instead of counting)."""

    key: str  # the sliding window's key
    now: float
    window: Window
    member: str | None


def fetch(
    request: Request,
    raw: str,
    entries: dict[str, Sequence[str]],
    plan: tuple[str, float, int, int] | None,
) -> None:
    """One round trip for `entries` (generations.lookup's shape) with the key's own entry,
    counting the request in the throttle's window `plan` (key, now, window, limit) when given.
    Does nothing for a key not known here or while Redis cannot be trusted."""
    known = known_key(raw)
    backend = caches["default"]
    if known is None or not isinstance(backend, FallbackRedisCache):
        return
    keys = generations.lookup_keys(
        {key_cache_entry(known.kind, raw): [generations.KEYS], **entries}
    )
    window_key, now, window, limit = plan if plan is not None else (None, 0.0, 0, 0)
    result = backend.get_many_counting(keys, window_key, now=now, window=window, limit=limit)
    if result is None:
        return
    found, counted, member = result
    generations.fetched_ahead(keys, found)
    if window_key is not None and counted is not None:
        request.prefetched_count = Counted(  # type: ignore[attr-defined]
            key=window_key, now=now, window=counted, member=member
        )


def take_count(request: Any, key: str) -> Counted | None:
    """The count made ahead for the window at `key`, once (the throttle's)."""
    counted = getattr(request, "prefetched_count", None)
    if not isinstance(counted, Counted) or counted.key != key:
        return None
    request.prefetched_count = None
    return counted


def settle(request: Any) -> None:
    """A count made ahead that no throttle took (the request was refused before it): taken
    back, so that the refusal spends nothing."""
    counted = getattr(request, "prefetched_count", None)
    if not isinstance(counted, Counted):
        return
    request.prefetched_count = None
    backend = caches["default"]
    if counted.window.allowed and counted.member and isinstance(backend, FallbackRedisCache):
        backend.sliding_window_forget(counted.key, counted.member)


def presented(request: Request) -> str | None:
    """The presented key of a kind this module knows, else None (never raises)."""
    try:
        raw = presented_key(request)
    except exceptions.AuthenticationFailed:
        return None
    return raw if raw is not None and _kind(raw) is not None else None
