"""The Redis cache, with this process's memory standing in while Redis is unreachable.

Everything on the cache can live with a weaker, per-process copy for the length of an outage:
API and sign-in throttles count per process instead of per deployment, the portal's consent
gate and its generation numbers are cached per process (for at most the gate's own lifetime).
So a Redis outage costs precision, not answers: every operation that fails on Redis is
repeated on a local-memory cache, Redis is skipped for `core.degrade.RETRY_SECONDS` after a
failure and then tried again, and the outage is logged once a minute (`cache.unavailable`),
never as a traceback per request.

When Redis is back, what this process wrote to memory meanwhile is carried over: a counter it
incremented (a gate generation, a throttle count) is incremented on Redis too, and a key it set
or deleted is deleted there — otherwise Redis would still hold the value from before the
outage, and a tenant who answered during it would meet the stale gate until that value expired.

Sessions are in the database (Django's default), so signing in needs no Redis at all.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import RedisError, ResponseError

from core.degrade import Outage

logger = logging.getLogger(__name__)

T = TypeVar("T")

# One outage record per Redis location in this process: Django builds a cache object per
# thread, and all of them must agree that Redis is down.
_OUTAGES: dict[str, Outage] = {}


# Keys this process changed in memory during an outage, per location: key → (version, what to
# do on Redis when it is back: "bump" a counter, "drop" anything else).
_DIRTY: dict[str, dict[Any, tuple[int | None, str]]] = {}
_DIRTY_LOCK = threading.Lock()
# An outage that lasts long must not grow the list without bound; past this, clearing the
# whole cache on return is the honest fallback (throttles and gates are rebuilt from scratch).
_DIRTY_MAX = 10_000
_CLEAR = object()


def outage_for(location: str) -> Outage:
    return _OUTAGES.setdefault(location, Outage("cache", log=logger))


class _SharedClient(RedisCacheClient):
    """Django's client, keeping one `redis.Redis` per connection pool: Django builds a new one
    for every operation, and building its table of response callbacks cost about a tenth of
    a millisecond of CPU each time (fifteen times per API answer). A Redis object takes its
    connection from the pool per command, so sharing it is safe."""

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)
        clients: dict[int, Any] = self.__dict__.setdefault("_clients", {})
        client = clients.get(id(pool))
        if client is None:
            client = clients[id(pool)] = self._client(connection_pool=pool)
        return client


class FallbackRedisCache(RedisCache):
    """`django.core.cache.backends.redis.RedisCache` that falls back to local memory."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        params = dict(params)
        options = dict(params.get("OPTIONS") or {})
        # A Redis that does not answer must not hold a request for long: the pool's defaults
        # wait forever. Settings may override both.
        options.setdefault("socket_connect_timeout", 0.5)
        options.setdefault("socket_timeout", 1.0)
        params["OPTIONS"] = options
        super().__init__(server, params)
        self._class = _SharedClient
        self.outage = outage_for(str(server))
        self.dirty = _DIRTY.setdefault(str(server), {})
        # Same name, same storage: every thread's fallback is one process-wide memory.
        self.fallback = LocMemCache(
            f"redis-fallback:{server}",
            {
                "TIMEOUT": params.get("TIMEOUT", 300),
                "KEY_PREFIX": params.get("KEY_PREFIX", ""),
                "OPTIONS": {"MAX_ENTRIES": 100_000},
            },
        )

    def ping(self) -> None:
        """Ask Redis itself, past the fallback (the jobs health check)."""
        self._cache.get_client(None, write=True).ping()  # type: ignore[attr-defined]

    def _either(
        self,
        on_redis: Callable[[], T],
        on_memory: Callable[[], T],
        changes: tuple[Any, int | None, str] | None = None,
    ) -> T:
        if self.outage.skip():
            self._remember(changes)
            return on_memory()
        try:
            result = on_redis()
        except (RedisError, OSError) as exc:
            self.outage.failed(exc)
            self._remember(changes)
            return on_memory()
        if self.outage.down:
            self.outage.succeeded()
            self._carry_over()
        return result

    def _remember(self, changes: tuple[Any, int | None, str] | None) -> None:
        if changes is None:
            return
        keys, version, how = changes
        with _DIRTY_LOCK:
            for key in keys:
                # A counter bumped and later set stays a bump: incrementing is always safe.
                if self.dirty.get(key, (None, ""))[1] != "bump":
                    self.dirty[key] = (version, how)
            if len(self.dirty) > _DIRTY_MAX:
                self.dirty.clear()
                self.dirty[_CLEAR] = (None, "clear")

    def _carry_over(self) -> None:
        with _DIRTY_LOCK:
            pending = dict(self.dirty)
            self.dirty.clear()
        try:
            if _CLEAR in pending:
                super().clear()
                return
            for key, (version, how) in pending.items():
                if how == "bump" and not super().add(key, 1, version=version):
                    try:
                        super().incr(key, 1, version)
                    except (ValueError, ResponseError):  # expired meanwhile, or not a number
                        super().delete(key, version)
                elif how != "bump":
                    super().delete(key, version)
        except (RedisError, OSError) as exc:
            with _DIRTY_LOCK:
                for key, entry in pending.items():
                    self.dirty.setdefault(key, entry)
            self.outage.failed(exc)

    def add(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> bool:
        return self._either(
            lambda: super(FallbackRedisCache, self).add(key, value, timeout, version),
            lambda: self.fallback.add(key, value, timeout, version),
            # An integer added is a counter's first step (gate generations, throttles).
            ((key,), version, "bump" if isinstance(value, int) else "drop"),
        )

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return self._either(
            lambda: super(FallbackRedisCache, self).get(key, default, version),
            lambda: self.fallback.get(key, default, version),
        )

    def set(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> None:
        self._either(
            lambda: super(FallbackRedisCache, self).set(key, value, timeout, version),
            lambda: self.fallback.set(key, value, timeout, version),
            ((key,), version, "drop"),
        )

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return self._either(
            lambda: super(FallbackRedisCache, self).touch(key, timeout, version),
            lambda: self.fallback.touch(key, timeout, version),
            ((key,), version, "drop"),
        )

    def delete(self, key: Any, version: int | None = None) -> bool:
        return self._either(
            lambda: super(FallbackRedisCache, self).delete(key, version),
            lambda: self.fallback.delete(key, version),
            ((key,), version, "drop"),
        )

    def get_many(self, keys: Any, version: int | None = None) -> dict[Any, Any]:
        return self._either(
            lambda: super(FallbackRedisCache, self).get_many(keys, version),
            lambda: self.fallback.get_many(keys, version),
        )

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return self._either(
            lambda: super(FallbackRedisCache, self).has_key(key, version),
            lambda: self.fallback.has_key(key, version),
        )

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        return self._either(
            lambda: super(FallbackRedisCache, self).incr(key, delta, version),
            lambda: self.fallback.incr(key, delta, version),
            ((key,), version, "bump"),
        )

    def set_many(
        self, data: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> list[Any]:
        return self._either(
            lambda: super(FallbackRedisCache, self).set_many(data, timeout, version),
            lambda: self.fallback.set_many(data, timeout, version),
            (tuple(data), version, "drop"),
        )

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        self._either(
            lambda: super(FallbackRedisCache, self).delete_many(keys, version),
            lambda: self.fallback.delete_many(keys, version),
            (tuple(keys), version, "drop"),
        )

    def clear(self) -> None:
        self._either(
            lambda: super(FallbackRedisCache, self).clear(),
            lambda: self.fallback.clear(),
            ((_CLEAR,), None, "clear"),
        )

    def bump(self, key: Any, timeout: int) -> int:
        """Increment a counter, creating it at 1, and keep it `timeout` seconds from now: one
        round trip (INCR and EXPIRE in a pipeline) where add() and incr() took three."""

        def on_redis() -> int:
            made = self.make_and_validate_key(key)
            client = self._cache.get_client(made, write=True)
            pipe = client.pipeline(transaction=False)
            pipe.incr(made)
            pipe.expire(made, timeout)
            try:
                value, _expiry = pipe.execute()
            except ResponseError:  # not a counter (a value of another kind): start again
                client.set(made, 1, ex=timeout)
                return 1
            return int(value)

        def on_memory() -> int:
            if self.fallback.add(key, 1, timeout):
                return 1
            return self.fallback.incr(key)

        return self._either(on_redis, on_memory, ((key,), None, "bump"))

    def decr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        return self.incr(key, -delta, version)
