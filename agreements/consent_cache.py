"""A per-tenant generation number for caches of consent state (the portal's consent gate).

Any service that changes a tenant's answers bumps it after commit, whichever interface the
answer came through (portal, partner API, console), so cached gate lookups are re-read at once.
"""

from __future__ import annotations

from django.core.cache import cache

_GENERATION_SECONDS = 7 * 24 * 3600


def generation_key(tenant_id: int) -> str:
    return f"portal:gate-gen:{tenant_id}"


def generation_get(tenant_id: int) -> int:
    return int(cache.get(generation_key(tenant_id)) or 0)


def generation_bump(tenant_id: int) -> None:
    key = generation_key(tenant_id)
    if not cache.add(key, 1, _GENERATION_SECONDS):
        try:
            cache.incr(key)
        except ValueError:  # expired between add() and incr()
            cache.set(key, 1, _GENERATION_SECONDS)
