"""A per-tenant generation number for caches of consent state (the portal's consent gate, the
products' status check; core/generations.py).

Any service that changes a tenant's answers bumps it after commit, whichever interface the
answer came through (portal, partner API, console), so cached gate lookups are re-read at once.
"""

from __future__ import annotations

from django.core.cache import cache

from core import generations


def generation_key(tenant_id: int) -> str:
    return generations.tenant_generation(tenant_id)


def generation_get(tenant_id: int) -> int:
    return int(cache.get(generation_key(tenant_id)) or 0)


def generation_bump(tenant_id: int) -> None:
    generations.generation_bump(generation_key(tenant_id))
