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

import hashlib
import logging
import math
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import NoScriptError, RedisError, ResponseError

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


# Sliding windows kept in this process's memory (the Redis fallback's, the embedded mode's
# throttle) are a list read and written back; this lock makes each step one at a time.
MEMORY_WINDOW_LOCK = threading.Lock()


def outage_for(location: str) -> Outage:
    return _OUTAGES.setdefault(location, Outage("cache", log=logger))


@dataclass(frozen=True)
class Window:
    """A sliding-window count (FallbackRedisCache.sliding_window): whether this request was
    let in, how many requests the window holds now (this one included when let in), and
    when the oldest of them came (None: none)."""

    allowed: bool
    count: int
    oldest: float | None
    # The member this request added to the window when it was let in (None: not let in, or
    # not known): `sliding_window_forget` takes the count back with it.
    member: str | None = field(default=None, compare=False)


# The API throttle's sliding log on Redis, in one atomic step: drop the times that left the
# window, count, add this request when below the limit, keep the set for one window. One
# round trip, and no read-modify-write between processes that could lose a count. The set
# holds at most `limit` times. The count answered is the set's size after the write, never
# the size before it plus one: a member that was already there (a time and a random tag that
# repeat) adds nothing, so it is tagged again until it adds one, and a request is never let in
# uncounted. Times and the cut-off travel as the caller's own text (a Lua number would be
# formatted again on the way to ZADD).
_SLIDING_WINDOW_LUA = """
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
local allowed = 0
if redis.call('ZCARD', KEYS[1]) < limit then
  local member = ARGV[4]
  while redis.call('ZADD', KEYS[1], ARGV[1], member) == 0 do
    member = member .. '+'
  end
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  allowed = 1
end
local count = redis.call('ZCARD', KEYS[1])
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {allowed, count, oldest[2] or ''}
"""
_SLIDING_WINDOW_SHA = hashlib.sha1(_SLIDING_WINDOW_LUA.encode()).hexdigest()  # noqa: S324 -- Redis names scripts by SHA-1


# A counter bumped (INCR, kept `ARGV[1]` seconds; a value of another kind starts it again at
# 1) and, when a second key is given, that key added if absent (SET NX, `ARGV[2]` kept
# `ARGV[3]` seconds): one command, where a pipeline of INCR and EXPIRE and an add after it
# took two round trips and more work on both sides. Answers {number, 1 if added else 0}.
_BUMP_LUA = """
local n = redis.pcall('INCR', KEYS[1])
if type(n) == 'table' and n.err then
  redis.call('SET', KEYS[1], 1, 'EX', ARGV[1])
  n = 1
else
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
if #KEYS < 2 then
  return {n, 0}
end
if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'EX', ARGV[3]) then
  return {n, 1}
end
return {n, 0}
"""
_BUMP_SHA = hashlib.sha1(_BUMP_LUA.encode()).hexdigest()  # noqa: S324 -- Redis names scripts by SHA-1

# One `redis.Redis` (with its connection pool) per server and options, for the whole process.
_CLIENTS: dict[tuple[str, str], Any] = {}
_CLIENTS_LOCK = threading.Lock()


class ReusedClientRedisCacheClient(RedisCacheClient):
    """Django's client with one `redis.Redis` and one connection pool per server for the whole
    process, reused by every cache object.

    Django builds a new `redis.Redis` for every cache operation, and its constructor (a dict of
    some two hundred response callbacks) costs more CPU than the round trip it serves. Worse,
    Django keeps a cache object per context, not per thread, and each API request runs in a
    context of its own (web/api/base.py: ApiView.dispatch): every request built a new cache
    object, a new pool and a new connection to Redis, whose handshake (redis-py reads its own
    package metadata for it) cost more than the whole warm status check besides. A `redis.Redis`
    is safe to share between threads: it takes a connection from its pool per command; the
    pool reconnects after a fork."""

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        index = self._get_connection_pool_index(write)
        shared = (self._servers[index], repr(sorted(self._pool_options.items())))
        client = _CLIENTS.get(shared)
        if client is None:
            with _CLIENTS_LOCK:
                client = _CLIENTS.get(shared)
                if client is None:
                    pool = self._pool_class.from_url(self._servers[index], **self._pool_options)
                    client = _CLIENTS[shared] = self._client(connection_pool=pool)
        self._pools[index] = client.connection_pool
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
        self._class = ReusedClientRedisCacheClient
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

    def sliding_window(self, key: str, *, now: float, window: int, limit: int) -> Window:
        """Count a request at `now` in the sliding window of `window` seconds at `key`: let in
        while fewer than `limit` requests came in the window before it (refused ones do not
        count), as rest_framework's SimpleRateThrottle decides from its list of times.

        On Redis one atomic script; while Redis is down, that list in this process's memory
        (per-process counts for the length of the outage, as every throttle here)."""
        return self._either(
            lambda: self._sliding_window_on_redis(key, now=now, window=window, limit=limit),
            lambda: self._sliding_window_in_memory(key, now=now, window=window, limit=limit),
            ((key,), None, "drop"),
        )

    def _window_args(
        self, key: str, *, now: float, window: int, limit: int
    ) -> tuple[tuple[Any, ...], str]:
        """The sliding-window script's arguments, and the member it adds for this request."""
        member = f"{now!r}:{secrets.token_hex(8)}"
        made = self.make_and_validate_key(key)
        # The cut-off inclusive: a time `window` seconds old has left.
        cutoff = repr(now - window)
        return (1, made, repr(now), cutoff, limit, member, math.ceil(window * 1000)), member

    @staticmethod
    def _window_of(reply: Any) -> Window:
        allowed, count, oldest = reply
        return Window(
            allowed=bool(allowed), count=int(count), oldest=float(oldest) if oldest else None
        )

    def _sliding_window_on_redis(self, key: str, *, now: float, window: int, limit: int) -> Window:
        client = self._cache.get_client(None, write=True)  # type: ignore[attr-defined]
        args, member = self._window_args(key, now=now, window=window, limit=limit)
        try:
            reply = client.evalsha(_SLIDING_WINDOW_SHA, *args)
        except NoScriptError:  # a Redis that has not seen it yet (or restarted): send it whole
            reply = client.eval(_SLIDING_WINDOW_LUA, *args)
        counted = self._window_of(reply)
        return replace(counted, member=member) if counted.allowed else counted

    def get_many_counting(
        self, keys: list[str], window_key: str | None, *, now: float, window: int, limit: int
    ) -> tuple[dict[str, Any], Window | None, str | None] | None:
        """`get_many(keys)` and, with `window_key`, `sliding_window(window_key, …)` in one
        round trip (a pipeline): a request's cached reads and its count in the throttle
        (web/api/base.py, ApiView.prefetch). Returns the values found, the window (None
        without `window_key`) and the member added for this request (to take the count back
        with `sliding_window_forget`); None while Redis cannot be trusted (nothing is
        counted then: the callers' own paths fall back to memory as usual)."""
        if self.outage.down:
            return None
        client = self._cache.get_client(None, write=True)  # type: ignore[attr-defined]
        made = [self.make_and_validate_key(key) for key in keys]
        member = None
        try:
            pipe = client.pipeline(transaction=False)
            pipe.mget(made)
            if window_key is not None:
                args, member = self._window_args(window_key, now=now, window=window, limit=limit)
                pipe.evalsha(_SLIDING_WINDOW_SHA, *args)
            replies = pipe.execute(raise_on_error=False)
            if window_key is not None and isinstance(replies[1], NoScriptError):
                replies[1] = client.eval(_SLIDING_WINDOW_LUA, *args)
            for reply in replies:
                if isinstance(reply, Exception):
                    raise reply
        except (RedisError, OSError) as exc:
            self.outage.failed(exc)
            return None
        loads = self._cache._serializer.loads  # type: ignore[attr-defined]
        found = {
            key: loads(value)
            for key, value in zip(keys, replies[0], strict=True)
            if value is not None
        }
        counted = self._window_of(replies[1]) if window_key is not None else None
        return found, counted, member

    def sliding_window_forget(self, key: str, member: str) -> None:
        """Take back one request counted at `key` (the member get_many_counting answered, or
        `Window.member`): a request refused before the throttle, or answered with a server's
        failure, is not counted (web/api/throttles.py). A count made in this process's memory
        during an outage is taken back there (its member starts with the request's time)."""
        self._either(
            lambda: self._cache.get_client(None, write=True).zrem(  # type: ignore[attr-defined]
                self.make_and_validate_key(key), member
            ),
            lambda: self._forget_in_memory(key, member),
        )

    def _forget_in_memory(self, key: str, member: str) -> None:
        try:
            at = float(member.partition(":")[0])
        except ValueError:
            return
        with MEMORY_WINDOW_LOCK:
            history = self.fallback.get(key, [])
            if at in history:
                history.remove(at)
                self.fallback.set(key, history, self.default_timeout)

    def sliding_window_peek(self, key: str, *, now: float, window: int) -> Window:
        """The sliding window at `key` as it stands at `now`, counting nothing (`allowed`
        says nothing here)."""
        return self._either(
            lambda: self._peek_on_redis(key, now=now, window=window),
            lambda: self._peek_in_memory(key, now=now, window=window),
        )

    def _peek_on_redis(self, key: str, *, now: float, window: int) -> Window:
        client = self._cache.get_client(None)  # type: ignore[attr-defined]
        made = self.make_and_validate_key(key)
        since = f"({now - window!r}"  # exclusive: a time `window` seconds old has left
        pipe = client.pipeline(transaction=False)
        pipe.zcount(made, since, "+inf")
        pipe.zrangebyscore(made, since, "+inf", start=0, num=1, withscores=True)
        count, oldest = pipe.execute()
        return Window(
            allowed=False, count=int(count), oldest=float(oldest[0][1]) if oldest else None
        )

    def _peek_in_memory(self, key: str, *, now: float, window: int) -> Window:
        history = [at for at in self.fallback.get(key, []) if at > now - window]
        return Window(allowed=False, count=len(history), oldest=history[-1] if history else None)

    def _sliding_window_in_memory(self, key: str, *, now: float, window: int, limit: int) -> Window:
        # The list is read, changed and written back: one thread at a time, or two threads
        # that read the same list count as one (every thread shares the fallback's memory).
        with MEMORY_WINDOW_LOCK:
            history = [at for at in self.fallback.get(key, []) if at > now - window]  # newest first
            allowed = len(history) < limit
            if allowed:
                history.insert(0, now)
                self.fallback.set(key, history, window)
        return Window(
            allowed=allowed,
            count=len(history),
            oldest=history[-1] if history else None,
            member=repr(now) if allowed else None,
        )

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
        round trip (a script), where add() and incr() took three."""
        return self.bump_and_claim(key, timeout)[0]

    def bump_and_claim(
        self, key: Any, timeout: int, claim: tuple[Any, Any, int] | None = None
    ) -> tuple[int, bool]:
        """bump(key, timeout) and, in the same round trip, `claim` = (key, value, seconds):
        the key added unless present, as add() would. Answers the counter's new number and
        whether the claim is the caller's: added on Redis; always while Redis is unreachable
        (a mark in one process's memory would hide what other processes do); never without a
        claim. A commit bumps a generation and claims the outbox's doorbell in one round trip
        (core/generations.py, core/outbox.py)."""

        def on_redis() -> tuple[int, bool]:
            made = self.make_and_validate_key(key)
            keys, args = [made], [timeout]
            if claim is not None:
                keys.append(self.make_and_validate_key(claim[0]))
                args += [self._cache._serializer.dumps(claim[1]), claim[2]]  # type: ignore[attr-defined]
            client = self._cache.get_client(made, write=True)  # type: ignore[attr-defined]
            try:
                number, added = client.evalsha(_BUMP_SHA, len(keys), *keys, *args)
            except NoScriptError:  # a Redis that has not seen it yet (or restarted)
                number, added = client.eval(_BUMP_LUA, len(keys), *keys, *args)
            return int(number), bool(added)

        def on_memory() -> tuple[int, bool]:
            number = 1 if self.fallback.add(key, 1, timeout) else self.fallback.incr(key)
            return number, claim is not None

        return self._either(on_redis, on_memory, ((key,), None, "bump"))

    def decr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        return self.incr(key, -delta, version)
