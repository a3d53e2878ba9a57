"""The API throttle lets in exactly its limit under concurrent calls with one key (docs/api.md,
Conventions): on Redis, in the embedded mode's memory and in the memory that stands in while
Redis is down. The in-memory windows were a list read and written back without a lock, and
two threads that read the same list counted as one."""

from __future__ import annotations

import sys
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import caches
from django.test import RequestFactory, override_settings

from core.cache import FallbackRedisCache, outage_for
from web.api import throttles

pytestmark = [pytest.mark.integration]

LIMIT, CALLS, THREADS = 200, 260, 32
LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def _concurrent_calls() -> list[bool]:
    """CALLS calls on one key from THREADS threads, all released at once."""
    go = threading.Event()

    def call(_: int) -> bool:
        go.wait()
        request = RequestFactory().get("/api/v1/tenants/")
        return throttles.KeyRateThrottle().allow_request(request, None)

    # Threads switch often, as they do under load: a read-then-write that is not one step
    # shows, rather than depending on luck.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            futures = [pool.submit(call, n) for n in range(CALLS)]
            go.set()
            return [future.result() for future in futures]
    finally:
        sys.setswitchinterval(interval)


@pytest.fixture
def one_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    ident = f"partner-key:exact-{uuid.uuid4().hex}"
    # Patched once, before the threads start (a patch per thread would race itself).
    monkeypatch.setattr(throttles, "caller_ident", lambda scope: ident)
    with override_settings(TERMS_API_THROTTLE_RATE=f"{LIMIT}/min"):
        yield


def _redis_down(monkeypatch: pytest.MonkeyPatch) -> Any:
    cache = caches["default"]
    assert isinstance(cache, FallbackRedisCache)
    monkeypatch.setattr(outage_for(settings.CACHES["default"]["LOCATION"]), "skip", lambda: True)
    return cache


@pytest.mark.parametrize("where", ["redis", "redis down", "embedded"])
def test_concurrent_calls_with_one_key_let_in_exactly_the_limit(
    one_key: None, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    if where == "redis down":
        cache = _redis_down(monkeypatch)
        cache.fallback.clear()
    if where == "embedded":
        with override_settings(CACHES=LOCMEM):
            allowed = _concurrent_calls()
    else:
        allowed = _concurrent_calls()
    if where == "redis down":
        cache.fallback.clear()
        cache.dirty.clear()
    assert allowed.count(True) == LIMIT
