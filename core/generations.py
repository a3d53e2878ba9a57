"""Generation numbers for caches of hot reads that must never outlive a change.

A cached value is stored under a key that carries the generations of everything it was read
from; a service that changes one of those inputs bumps its generation after commit, so the
next read misses and reads the database again. Nothing is ever deleted or updated in place:
a bump makes every older key unreachable at once, whatever process cached it.

The cache is trusted only while it is the shared one (Redis, core/cache.py) and Redis answers.
While this process falls back to memory, a bump made by another process is invisible here, so
`shared_get_many` answers None and callers read the database: a Redis outage costs speed,
never a stale answer. What a process bumped in memory during an outage reaches Redis when it
is back (core/cache.py carries it over); until then a value cached by another process may be
stale, which is why every value cached under generations also has a short lifetime
(`SHORT_SECONDS`), the most an outage can leave it standing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from django.core.cache import cache, caches
from django.db import transaction

from core.cache import FallbackRedisCache

T = TypeVar("T")

_GENERATION_SECONDS = 7 * 24 * 3600
# The longest a value cached under generations lives: the bound on a value left stale by a
# bump made while Redis was unreachable from the bumping process only.
SHORT_SECONDS = 60

# Global generations (per-tenant ones are built by tenant_generation).
TERMS = "gen:terms"  # products, documents, versions and their policies: every tenant's status
KEYS = "gen:api-keys"  # partner and product keys, partners: who an API key is


def tenant_generation(tenant_id: int) -> str:
    """A tenant's consent-state generation: its answers, contracts, cases, the tenant itself.
    (The name predates the status cache: the portal's consent gate reads the same number.)"""
    return f"portal:gate-gen:{tenant_id}"


def partner_generation(partner_id: int) -> str:
    """A partner's webhook endpoints (notify's "does this partner have webhooks")."""
    return f"gen:partner-webhooks:{partner_id}"


def _backend() -> FallbackRedisCache | None:
    found = caches["default"]
    return found if isinstance(found, FallbackRedisCache) else None


def shared_get_many(keys: Iterable[str]) -> dict[str, Any] | None:
    """The values of `keys` as Redis has them, or None when the shared cache cannot be trusted
    (not configured: a per-process cache would not see other processes' bumps; or Redis is
    unreachable from this process now or was during the read)."""
    backend = _backend()
    if backend is None or backend.outage.down:
        return None
    found = backend.get_many(list(keys))
    if backend.outage.down:  # the read itself fell back to memory
        return None
    return found


def shared_set(key: str, value: Any, timeout: float = SHORT_SECONDS) -> None:
    """Store a value read under generations (no-op without the shared cache)."""
    backend = _backend()
    if backend is not None and not backend.outage.down:
        backend.set(key, value, timeout)


def generation_bump(name: str) -> None:
    key = name
    backend = _backend()
    if backend is not None:
        backend.bump(key, _GENERATION_SECONDS)  # one round trip
        return
    if not cache.add(key, 1, _GENERATION_SECONDS):
        try:
            cache.incr(key)
        except ValueError:  # expired between add() and incr()
            cache.set(key, 1, _GENERATION_SECONDS)


def bump_on_commit(*names: str) -> None:
    """Bump `names` now and again once the current transaction commits.

    The bump after commit is the one that matters: a reader that missed in between read the
    rows as they were before the commit and stored them under the then-current generation,
    which must become unreachable. The bump now makes the change visible to code running later
    in the same transaction (and to tests, whose transactions never commit); a transaction that
    rolls back costs a few needless misses.
    """
    for name in dict.fromkeys(names):
        generation_bump(name)
        transaction.on_commit(lambda name=name: generation_bump(name))  # type: ignore[misc]


def cache_key(prefix: str, generations: Iterable[str], found: dict[str, Any]) -> str:
    """`prefix` with the current number of each generation (0 when never bumped)."""
    numbers = ":".join(str(int(found.get(name) or 0)) for name in generations)
    return f"{prefix}:{numbers}"


def read_through(
    prefix: str,
    names: Sequence[str],
    load: Callable[[], T],
    *,
    timeout: Callable[[T], float] | float = SHORT_SECONDS,
    kind: type | None = None,
) -> T:
    """The value of `load()`, cached under `prefix` and the current numbers of the generations
    `names`: a hit costs two cache round trips and no SQL; a bump of any of `names` makes the
    next read miss. While the shared cache cannot be trusted, every call loads. `timeout` may
    depend on the value (0: not cached); `kind` refuses a cached value of another type (a
    value written by an older release under the same key)."""
    found = shared_get_many(names)
    if found is None:
        return load()
    key = cache_key(prefix, names, found)
    cached = shared_get_many([key])
    if cached and key in cached and (kind is None or isinstance(cached[key], kind)):
        return cached[key]  # type: ignore[no-any-return]
    value = load()
    seconds = timeout(value) if callable(timeout) else timeout
    if seconds > 0:
        shared_set(key, value, seconds)
    return value
