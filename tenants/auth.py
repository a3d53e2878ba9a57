"""Turning a presented API key into the stored key row (the API layer builds the Scope from it).

A key is `<tag>_<prefix>_<secret>` (tenants/keys.py). The lookup goes through the unique index
on the SHA-256 hash; the stored hash is then compared in constant time with the computed one, so
the answer does not depend on how many leading characters matched. Revoked keys, keys of a
deactivated partner and keys with the wrong tag are refused with the same `None` as unknown
ones: the caller answers 401 without saying why.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from django.core.cache import cache
from django.db.models import Model, Q, QuerySet

from core import after_response, clock, generations
from tenants.keys import PARTNER_KEY_TAG, hash_key, prefix_of
from tenants.models import PartnerAPIKey

# last_used_at is for people reading the key list ("is this key still used?"); minute
# precision is plenty and spares a write on nearly every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# Per process: until when a key's once-a-minute marker was found taken (or taken here), so a
# cached copy with an old stamp asks Redis once a minute, not on every request until the copy
# is stored again.
_marker_asked: dict[tuple[str, int], datetime] = {}
# Anything longer than this is not one of our keys; refuse before hashing megabytes.
MAX_KEY_LENGTH = 200

KeyModel = TypeVar("KeyModel", bound=Model)


def key_lookup(queryset: QuerySet[KeyModel], *, tag: str, raw: str | None) -> KeyModel | None:
    """The unrevoked key row in `queryset` whose hash matches `raw`, or None."""
    if not raw or len(raw) > MAX_KEY_LENGTH or not raw.startswith(f"{tag}_"):
        return None
    prefix = prefix_of(raw)
    if prefix is None:
        return None
    hashed = hash_key(raw)
    key = queryset.filter(hashed_key=hashed).first()
    if key is None:
        return None
    # The index lookup already matched; the constant-time comparison (and the prefix check)
    # guard against a database collation or trailing-space comparison ever matching loosely.
    if not hmac.compare_digest(key.hashed_key, hashed) or key.prefix != prefix:  # type: ignore[attr-defined]
        return None
    if key.revoked_at is not None:  # type: ignore[attr-defined]
        return None
    return key


def key_touch(key: Model) -> bool:
    """Record that `key` was used now, at most once per LAST_USED_RESOLUTION.

    Most requests write nothing: the in-memory value already tells that the row is fresh. When
    it is stale, one conditional UPDATE wins even if many requests race; the others update no
    row. Returns whether this call wrote.
    """
    now = clock.now()
    if not _stale(key, now):
        return False
    updated = _stamp(key, now)
    if updated:
        key.last_used_at = now  # type: ignore[attr-defined]
    return updated


def _stale(key: Model, now: datetime) -> bool:
    last = key.last_used_at  # type: ignore[attr-defined]
    return last is None or last <= now - LAST_USED_RESOLUTION


def _stamp(key: Model, now: datetime) -> bool:
    """The conditional UPDATE: one of many racing requests wins, the others update no row."""
    updated = (
        type(key)
        ._default_manager.filter(pk=key.pk)  # type: ignore[attr-defined]
        .filter(Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_RESOLUTION))
        .update(last_used_at=now)
    )
    return bool(updated)


def key_revoke(key: KeyModel, *, at: datetime) -> bool:
    """Mark `key` revoked at `at` unless it already is, and read it back. Returns whether this
    call revoked it: one conditional UPDATE, so of racing revocations the first wins and is
    the one to audit; revoking a revoked key changes nothing."""
    # A queryset update sends no signal: cached keys must go at once (core/generations.py).
    generations.bump_on_commit(generations.KEYS)
    changed = (
        type(key)
        ._default_manager.filter(pk=key.pk, revoked_at__isnull=True)
        .update(revoked_at=at, updated_at=at)
    )
    key.refresh_from_db()
    return bool(changed)


def key_touch_after_response(key: Model) -> None:
    """key_touch, written once the response is sent (core/after_response.py): the stamp is for
    people reading the key list, so the request need not wait for its commit, and its reads
    may go to the replica (a request that has written reads the primary, core/replica.py).
    The copy in memory (and so the copy cached from it) says `now` at once: later requests
    see a fresh stamp and leave it alone."""
    now = clock.now()
    if not _stale(key, now):
        return
    key.last_used_at = now  # type: ignore[attr-defined]
    after_response.defer(lambda: _stamp(key, now))


def key_cache_entry(kind: str, raw: str) -> str:
    """Where an accepted key is cached (key_authenticate_cached), under `generations.KEYS`."""
    return f"api-key:{kind}:{hash_key(raw)}"


def key_authenticate_cached(
    kind: str, raw: str | None, load: Callable[[], KeyModel | None]
) -> KeyModel | None:
    """`load()` (the key row, or None → 401), cached per key hash under the keys' generation.

    Every change to a key or a partner bumps that generation after commit (revocation, scopes,
    a partner deactivated: tenants.signals, the revoke services), so a revoked key is refused
    from the next request on. Only accepted keys are cached (unknown ones would let anyone fill
    the cache); while the shared cache cannot be trusted, every request reads the database.
    """
    if not raw or len(raw) > MAX_KEY_LENGTH:
        return None
    entry = key_cache_entry(kind, raw)
    names = [generations.KEYS]
    found = generations.lookup({entry: names})  # the entry and the generation: one round trip
    if found is None:
        key = load()
        if key is not None:
            key_touch_after_response(key)
        return key
    key = found.get(entry, names)
    if key is generations.MISS or key is None:
        key = load()
        if key is None:
            return None
        key_touch_after_response(key)
        found.store(entry, names, key, generations.SHORT_SECONDS)
        return key
    last = key.last_used_at  # type: ignore[attr-defined]
    now = clock.now()
    if last is not None and last > now - LAST_USED_RESOLUTION:
        return key
    # The cached copy's last_used_at is as old as the copy: one request per resolution (the
    # one that wins the marker) writes the stamp, the conditional UPDATE decides.
    asked = (kind, key.pk)  # type: ignore[attr-defined]
    if _marker_asked.get(asked, now) > now:
        return key
    _marker_asked[asked] = now + LAST_USED_RESOLUTION
    if cache.add(
        f"api-key-touched:{kind}:{asked[1]}", 1, int(LAST_USED_RESOLUTION.total_seconds())
    ):
        key_touch_after_response(key)
    return key


def _partner_key_load(raw: str | None) -> PartnerAPIKey | None:
    key = key_lookup(PartnerAPIKey.objects.select_related("partner"), tag=PARTNER_KEY_TAG, raw=raw)
    if key is None or not key.partner.is_active:
        return None
    return key


def partner_key_authenticate(raw: str | None) -> PartnerAPIKey | None:
    """The active partner key for the `Authorization: Api-Key <raw>` value, or None (→ 401)."""
    return key_authenticate_cached("partner", raw, lambda: _partner_key_load(raw))
