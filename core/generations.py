"""Generation numbers for caches of hot reads that must never outlive a change.

A cached value is stored with the numbers of the generations of everything it was read from,
and read back together with their current numbers in one round trip (`lookup`); a service
that changes one of those inputs bumps its generation after commit, so the next read misses
and reads the database again. Nothing is ever deleted: a bump makes every older value a miss
at once, whatever process cached it.

The cache is trusted only while it is the shared one (Redis, core/cache.py) and Redis answers.
While this process falls back to memory, a bump made by another process is invisible here, so
`shared_get_many` answers None and callers read the database: a Redis outage costs speed,
never a stale answer. What a process bumped in memory during an outage reaches Redis when it
is back (core/cache.py carries it over); until then a value cached by another process may be
stale, which is why every value cached under generations also has a short lifetime
(`SHORT_SECONDS`), the most an outage can leave it standing.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar
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


# A request's cached reads fetched ahead, in the round trip that counted it in the throttle
# (web/api/prefetch.py): the keys asked and what Redis held for them. `shared_get_many` answers
# from it when it holds every key asked, as if that round trip had been made a moment later;
# a bump or a store in the same request forgets it, so what follows sees the change. Set in
# the request's own context (ApiView.dispatch), it ends with the request.
_AHEAD: ContextVar[tuple[frozenset[str], dict[str, Any]] | None] = ContextVar(
    "generations_ahead", default=None
)


def fetched_ahead(keys: Iterable[str], found: dict[str, Any]) -> None:
    """Remember what one round trip found for `keys` for the rest of this request."""
    _AHEAD.set((frozenset(keys), found))


def forget_ahead(*keys: str) -> None:
    """Forget what was fetched ahead for `keys` (a bumped generation, a stored entry), or all
    of it. A lookup needs every key it asks fetched ahead to be answered from it, and a
    lookup's entries depend on the generations it names only: a bump of one tenant's
    generation leaves a partner's webhooks, fetched ahead, as good as they were."""
    ahead = _AHEAD.get()
    if ahead is None or not keys:
        _AHEAD.set(None)
        return
    if ahead[0].isdisjoint(keys):
        return
    _AHEAD.set((ahead[0].difference(keys), ahead[1]))


def _backend() -> FallbackRedisCache | None:
    found = caches["default"]
    return found if isinstance(found, FallbackRedisCache) else None


def shared_get_many(keys: Iterable[str]) -> dict[str, Any] | None:
    """The values of `keys` as Redis has them, or None when the shared cache cannot be trusted
    (not configured: a per-process cache would not see other processes' bumps; or Redis is
    unreachable from this process now or was during the read)."""
    keys = list(keys)
    ahead = _AHEAD.get()
    if ahead is not None and ahead[0].issuperset(keys):
        return {key: ahead[1][key] for key in keys if key in ahead[1]}
    backend = _backend()
    if backend is None or backend.outage.down:
        return None
    found = backend.get_many(keys)
    if backend.outage.down:  # the read itself fell back to memory
        return None
    return found


def generation_bump(name: str, claim: tuple[str, Any, int] | None = None) -> bool:
    """Bump `name`; with `claim` = (key, value, seconds), claim that key in the same round
    trip (FallbackRedisCache.bump_and_claim) and answer whether the claim is the caller's
    (always without the shared cache)."""
    forget_ahead(name)
    key = name
    backend = _backend()
    if backend is not None:
        return backend.bump_and_claim(key, _GENERATION_SECONDS, claim)[1]  # one round trip
    if not cache.add(key, 1, _GENERATION_SECONDS):
        try:
            cache.incr(key)
        except ValueError:  # expired between add() and incr()
            cache.set(key, 1, _GENERATION_SECONDS)
    return claim is not None


def bump_on_commit(*names: str) -> None:
    """Bump `names` once the current transaction commits; at once outside a transaction.

    The bump after commit is the one that matters: a reader that missed in between read the
    rows as they were before the commit and stored them under the then-current generation,
    which must become unreachable. Until the commit, this connection reads `names` under
    numbers of its own (`_Pending`), so code running later in the same transaction (and tests,
    whose transactions never commit) sees the change, without a Redis round trip while the
    transaction holds its locks; a transaction that rolls back bumps nothing.
    """
    conn = transaction.get_connection()
    if not conn.in_atomic_block:
        for name in dict.fromkeys(names):
            generation_bump(name)
        return
    pending = _open_pending(conn)
    if pending is None:
        pending = conn.terms_pending_generations = _Pending()  # type: ignore[attr-defined]
        transaction.on_commit(pending)
    for name in names:
        pending.numbers[name] = secrets.randbits(63)
        forget_ahead(name)


class _Pending:
    """The generations a connection's open transaction has bumped, each under a number of its
    own until the commit, when Redis learns them (its on-commit callback). A lookup in the
    transaction reads such a generation as (Redis's number, its own): an entry the transaction
    stores under it is a miss for every other reader, for this one once the transaction has
    ended, and after a bump another process made meanwhile."""

    def __init__(self) -> None:
        self.numbers: dict[str, int] = {}
        self.done = False
        # A key to claim with the first bump (claim_with_commit_bumps), and the answer.
        self.claim: tuple[str, Any, int] | None = None
        self.claimed: bool | None = None

    def __call__(self) -> None:
        self.done = True
        claim = self.claim
        for name in self.numbers:
            won = generation_bump(name, claim)
            if claim is not None:
                self.claimed, claim = won, None


def claim_with_commit_bumps(key: str, value: Any, seconds: int) -> Callable[[], bool | None]:
    """Have the current transaction's generation bumps, at its commit, also claim `key` (add
    it unless present, for `seconds`) in their round trip. Answers a function telling, once
    the commit's callbacks registered so far have run, whether the claim was won; None when
    no bump was pending in this transaction when asked (or the claim did not run), so the
    caller claims for itself. A callback registered after this call runs after the bumps."""
    conn = transaction.get_connection()
    pending = _open_pending(conn) if conn.in_atomic_block else None
    if pending is None or pending.claim is not None:
        return lambda: None
    pending.claim = (key, value, seconds)
    return lambda: pending.claimed


def _open_pending(conn: Any) -> _Pending | None:
    """The connection's `_Pending` while its transaction is open: gone once the callback ran
    (a commit) or left the connection's on-commit list (a rollback, of the transaction or of
    the savepoint it was registered in)."""
    pending = getattr(conn, "terms_pending_generations", None)
    if pending is None or pending.done or not conn.in_atomic_block:
        return None
    if not any(callback is pending for _sids, callback, _robust in conn.run_on_commit):
        return None
    return pending


def _number(found: Any) -> int:
    return int(found or 0)


def _pending_numbers(names: Iterable[str]) -> dict[str, int]:
    pending = _open_pending(transaction.get_connection())
    if pending is None:
        return {}
    return {name: pending.numbers[name] for name in names if name in pending.numbers}


class _Miss:
    pass


MISS: Any = _Miss()


class Found:
    """What one round trip found (`lookup`): the current numbers of the generations asked, and
    the entries stored under those numbers.

    An entry is stored as (numbers, value): the numbers of its generations when it was read
    from the database, read before it was. It counts only while they are still the current
    ones, so a bump makes every older entry a miss at once, whatever process stored it; a
    reader that loaded before a bump and stores after it stores the old numbers, a miss for
    the next reader."""

    def __init__(self, found: dict[str, Any]) -> None:
        self._found = found

    def numbers(self, names: Sequence[str]) -> tuple[Any, ...]:
        # A generation this transaction bumped is (Redis's number, its own): a bump by another
        # process during the transaction still changes it.
        return tuple(
            found if isinstance(found := self._found.get(name), tuple) else _number(found)
            for name in names
        )

    def get(self, entry: str, names: Sequence[str], kind: type | None = None) -> Any:
        """The value stored at `entry` under the current numbers of `names`, else MISS. `kind`
        refuses a value of another type (one written by an older release)."""
        stored = self._found.get(entry)
        if not (isinstance(stored, tuple) and len(stored) == 2):
            return MISS
        numbers, value = stored
        if numbers != self.numbers(names) or (kind is not None and not isinstance(value, kind)):
            return MISS
        return value

    def store(self, entry: str, names: Sequence[str], value: Any, seconds: float) -> None:
        """Store a value read after this lookup, under the numbers it found."""
        self.store_many({entry: (names, value)}, seconds)

    def store_many(self, values: dict[str, tuple[Sequence[str], Any]], seconds: float) -> None:
        """`store` for several entries in one round trip: entry → (names, value)."""
        if seconds <= 0 or not values:
            return
        forget_ahead(*values)
        backend = _backend()
        if backend is None or backend.outage.down:
            return
        stamped = {entry: (self.numbers(names), value) for entry, (names, value) in values.items()}
        if len(stamped) == 1:
            [(entry, item)] = stamped.items()
            backend.set(entry, item, seconds)
        else:
            backend.set_many(stamped, seconds)


def lookup_keys(entries: dict[str, Sequence[str]]) -> list[str]:
    """What `lookup(entries)` reads: the generations' names, then the entries."""
    names = dict.fromkeys(name for gens in entries.values() for name in gens)
    return [*names, *entries]


def lookup(entries: dict[str, Sequence[str]]) -> Found | None:
    """One round trip for cached values and the generations they depend on: `entries` maps
    each entry's key to the names of its generations. None when the shared cache cannot be
    trusted (callers read the database)."""
    keys = lookup_keys(entries)
    found = shared_get_many(keys)
    if found is None:
        return None
    mine = _pending_numbers(keys)  # bumped in this transaction, not yet in Redis
    if mine:
        found = {**found, **{name: (_number(found.get(name)), n) for name, n in mine.items()}}
    return Found(found)


def read_through(
    key: str,
    names: Sequence[str],
    load: Callable[[], T],
    *,
    timeout: Callable[[T], float] | float = SHORT_SECONDS,
    kind: type | None = None,
) -> T:
    """The value of `load()`, cached at `key` under the current numbers of the generations
    `names`: a hit costs one cache round trip and no SQL; a bump of any of `names` makes the
    next read miss. While the shared cache cannot be trusted, every call loads. `timeout` may
    depend on the value (0: not cached); `kind` refuses a cached value of another type (a
    value written by an older release under the same key)."""
    found = lookup({key: names})
    if found is None:
        return load()
    cached = found.get(key, names, kind)
    if cached is not MISS:
        return cached  # type: ignore[no-any-return]
    value = load()
    found.store(key, names, value, timeout(value) if callable(timeout) else timeout)
    return value
