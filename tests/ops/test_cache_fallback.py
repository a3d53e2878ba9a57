"""The Redis cache's memory fallback hands over what changed when Redis is back.

A tenant who answers during a Redis outage bumps its gate generation in this process's memory
only; Redis still holds the generation (and the cached gate) from before. Without the
hand-over, the gate stays stale on every process until the cached value expires.
"""

from __future__ import annotations

import contextvars
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from core.cache import FallbackRedisCache
from core.degrade import Outage

pytestmark = [pytest.mark.integration]


@pytest.fixture
def cache() -> Iterator[FallbackRedisCache]:
    cache = FallbackRedisCache(
        "redis://127.0.0.1:6379/0", {"KEY_PREFIX": f"fallback-{uuid.uuid4().hex}"}
    )
    # This test's own outage state, not the process-wide one the site's cache shares.
    cache.outage = Outage("cache-test")
    cache.dirty = {}
    yield cache
    cache.outage.succeeded()
    cache.delete_many(["gen", "items:5", "gate", "gone", "untouched", "x", "w", "anything"])
    for pool in cache._cache._pools.values():
        pool.disconnect()  # this test's connections, closed rather than left to the collector


def _outage(cache: FallbackRedisCache, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise RedisConnectionError("Redis is down")

    monkeypatch.setattr(cache._cache, "get_client", refuse)


def _redis_back(cache: FallbackRedisCache, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()
    cache.outage._retry_at = 0.0  # the retry interval has passed


def test_a_counter_bumped_during_the_outage_is_bumped_on_redis(cache, monkeypatch):
    cache.set("gen", 5)
    cache.set("items:5", ["pending"])
    _outage(cache, monkeypatch)

    assert cache.add("gen", 1) is True  # memory had no generation: a first bump there
    assert cache.outage.down

    _redis_back(cache, monkeypatch)
    cache.get("anything")  # the first call that reaches Redis again hands over
    assert not cache.outage.down
    assert cache.get("gen") == 6  # the stale items:5 is no longer what the gate reads


def test_a_key_set_or_deleted_during_the_outage_is_dropped_on_redis(cache, monkeypatch):
    cache.set("gate", "before")
    cache.set("gone", "before")
    cache.set("untouched", "before")
    _outage(cache, monkeypatch)
    cache.set("gate", "during")
    cache.delete("gone")

    _redis_back(cache, monkeypatch)
    assert cache.get("untouched") == "before"
    assert cache.get("gate") is None  # re-read from the database, not the pre-outage value
    assert cache.get("gone") is None


def test_without_writes_during_the_outage_redis_keeps_everything(cache, monkeypatch):
    cache.set("gen", 3)
    _outage(cache, monkeypatch)
    assert cache.get("gen") is None  # memory has nothing; the caller rebuilds

    _redis_back(cache, monkeypatch)
    assert cache.get("gen") == 3


def test_a_handover_that_fails_is_kept_for_the_next_return(cache, monkeypatch):
    cache.set("gen", 1)
    _outage(cache, monkeypatch)
    cache.incr("gen") if cache.fallback.has_key("gen") else cache.add("gen", 1)
    # Back for one call, then down again before the hand-over reaches Redis.
    monkeypatch.undo()
    cache.outage._retry_at = 0.0
    real = cache._carry_over
    calls = []

    def carry_over_once_failing() -> None:
        if not calls:
            calls.append(1)
            _outage(cache, monkeypatch)
            real()
            monkeypatch.undo()
            return
        real()

    monkeypatch.setattr(cache, "_carry_over", carry_over_once_failing)
    cache.get("x")
    assert cache.dirty  # kept
    cache.outage._retry_at = 0.0
    cache.get("x")
    assert not cache.dirty
    assert cache.get("gen") == 2


# --- the API throttle's sliding window (web/api/throttles.py) -----------------------------------


def _windows(cache: FallbackRedisCache, key: str, times: list[float], limit: int = 3) -> list:
    return [
        (w.allowed, w.count, w.oldest)
        for w in (cache.sliding_window(key, now=at, window=60, limit=limit) for at in times)
    ]


def test_the_sliding_window_counts_what_it_lets_in_for_one_window(cache):
    """rest_framework's SimpleRateThrottle rule: at most `limit` requests let in within any
    `window` seconds; refused ones do not count; a time leaves the window after `window` s."""
    times = [1000.0, 1001.0, 1002.0, 1003.0, 1059.0, 1060.0, 1060.5]
    expected = [
        (True, 1, 1000.0),
        (True, 2, 1000.0),
        (True, 3, 1000.0),
        (False, 3, 1000.0),  # refused: not counted
        (False, 3, 1000.0),
        (True, 3, 1001.0),  # 1000.0 left the window (at 1060.0, as SimpleRateThrottle drops it)
        (False, 3, 1001.0),
    ]
    assert _windows(cache, "w", times) == expected
    # The same rule in this process's memory while Redis is down.
    assert _windows(cache, "x", times) == expected  # on Redis, another key
    cache.fallback.clear()
    memory = [cache._sliding_window_in_memory("w", now=at, window=60, limit=3) for at in times]
    assert [(w.allowed, w.count, w.oldest) for w in memory] == expected


def test_the_sliding_window_on_redis_stays_as_large_as_the_limit(cache):
    """One small set per key however many requests come (the list of times rest_framework
    sends back and forth grew with the rate)."""
    for second in range(50):
        cache.sliding_window("w", now=2000.0 + second / 10, window=60, limit=10)
    client = cache._cache.get_client(None, write=True)
    key = cache.make_and_validate_key("w")
    assert client.type(key) == b"zset"
    assert client.zcard(key) == 10
    assert 0 < client.pttl(key) <= 60_000


def test_the_sliding_window_loses_no_count_between_concurrent_callers(cache):
    """Each step is atomic on Redis: callers racing on one key (each with a cache object of
    its own, as threads have) never let in more than the limit; a read of the list of times
    followed by a write of it let two callers count as one."""
    callers = [
        FallbackRedisCache("redis://127.0.0.1:6379/0", {"KEY_PREFIX": cache.key_prefix})
        for _ in range(8)
    ]
    barrier = threading.Barrier(len(callers))

    def calls(caller: FallbackRedisCache) -> list[bool]:
        barrier.wait()
        return [
            caller.sliding_window("w", now=time.time(), window=60, limit=25).allowed
            for _ in range(10)
        ]

    try:
        with ThreadPoolExecutor(max_workers=len(callers)) as pool:
            allowed = [flag for result in pool.map(calls, callers) for flag in result]
    finally:
        for caller in callers:
            for connections in caller._cache._pools.values():
                connections.disconnect()
    assert allowed.count(True) == 25


def test_a_repeated_member_never_lets_a_request_in_uncounted(cache, monkeypatch):
    """Two requests at the same instant whose random tags repeat: the second member added
    nothing, yet the script answered the size before it plus one, and the limit let one more
    in. The count is the set's size after the write, and a repeated member is tagged again."""
    monkeypatch.setattr("core.cache.secrets.token_hex", lambda n: "same")
    allowed = [cache.sliding_window("w", now=4000.0, window=60, limit=2) for _ in range(3)]
    assert [(w.allowed, w.count) for w in allowed] == [(True, 1), (True, 2), (False, 2)]
    client = cache._cache.get_client(None, write=True)
    assert client.zcard(cache.make_and_validate_key("w")) == 2


def test_a_sliding_window_counted_in_memory_is_dropped_on_redis_when_it_is_back(cache, monkeypatch):
    assert _windows(cache, "w", [3000.0, 3001.0], limit=2) == [
        (True, 1, 3000.0),
        (True, 2, 3000.0),
    ]
    _outage(cache, monkeypatch)
    # During the outage this process counts alone, from nothing.
    assert _windows(cache, "w", [3002.0], limit=2) == [(True, 1, 3002.0)]
    assert cache.outage.down
    _redis_back(cache, monkeypatch)
    cache.get("anything")  # hands over: the window on Redis is dropped, not resumed
    assert _windows(cache, "w", [3003.0], limit=2) == [(True, 1, 3003.0)]


def test_cache_objects_of_every_context_share_one_redis_client_and_pool():
    """Django keeps a cache object per context, and each API request runs in a context of its
    own (ApiView.dispatch): every request used to open its own pool and connection to Redis.
    All of them share the process's client now."""
    from django.core.cache import caches

    def fresh() -> tuple[object, object]:
        cache = caches["default"]
        return cache, cache._cache.get_client(None, write=True)

    seen = [contextvars.Context().run(fresh) for _ in range(3)]
    assert len({id(cache) for cache, _client in seen}) == 3  # one cache object per context
    assert len({id(client) for _cache, client in seen}) == 1
    assert len({id(client.connection_pool) for _cache, client in seen}) == 1


def test_a_bump_counts_from_one_and_keeps_the_counter_alive(cache):
    assert cache.bump("gen", 60) == 1
    assert cache.bump("gen", 60) == 2
    assert cache.get("gen") == 2  # a counter as the cache reads it (generations.shared_get_many)
    client = cache._cache.get_client(write=True)
    assert 0 < client.ttl(cache.make_key("gen")) <= 60
    cache.set("gen", ["not a counter"])
    assert cache.bump("gen", 60) == 1  # started again, not an outage
    assert not cache.outage.down


def test_a_bump_during_the_outage_is_carried_over(cache, monkeypatch):
    cache.set("gen", 5)
    _outage(cache, monkeypatch)
    assert cache.bump("gen", 60) == 1  # memory had no generation
    assert cache.bump("gen", 60) == 2
    _redis_back(cache, monkeypatch)
    cache.get("anything")
    assert cache.get("gen") == 6


def test_a_bump_and_a_claim_go_in_one_round_trip(cache, monkeypatch):
    """The commit's generation bump and the doorbell's mark (core/outbox.py): one command."""
    client = cache._cache.get_client(write=True)
    client.script_flush()  # a Redis that has not seen the script: sent whole, then by SHA
    sent = []
    real = type(client).execute_command

    def counting(self, *args, **options):  # type: ignore[no-untyped-def]
        sent.append(args[0])
        return real(self, *args, **options)

    monkeypatch.setattr(type(client), "execute_command", counting)
    assert cache.bump_and_claim("gen", 60, ("x", "1", 10)) == (1, True)
    assert cache.bump_and_claim("gen", 60, ("x", "1", 10)) == (2, False)  # the mark is there
    assert sent == ["EVALSHA", "EVAL", "EVALSHA"]
    assert cache.get("x") == "1"  # as add() would have stored it
    assert 0 < client.ttl(cache.make_key("x")) <= 10
    assert 0 < client.ttl(cache.make_key("gen")) <= 60
    cache.delete("x")
    assert cache.bump_and_claim("gen", 60, ("x", "1", 10)) == (3, True)
    assert cache.bump_and_claim("gen", 60) == (4, False)  # no claim: never the caller's


def test_a_claim_during_the_outage_is_the_callers_and_leaves_no_mark(cache, monkeypatch):
    """A mark in one process's memory would hide other processes' runs: while Redis is
    unreachable every claim is won, nothing is marked, and the bump is carried over."""
    cache.set("gen", 5)
    _outage(cache, monkeypatch)
    assert cache.bump_and_claim("gen", 60, ("x", "1", 10)) == (1, True)
    assert cache.bump_and_claim("gen", 60, ("x", "1", 10)) == (2, True)
    assert cache.fallback.get("x") is None
    _redis_back(cache, monkeypatch)
    cache.get("anything")
    assert cache.get("gen") == 6
    assert cache.get("x") is None


def test_one_redis_client_per_pool_is_kept(cache):
    assert cache._cache.get_client(write=True) is cache._cache.get_client("k", write=True)
    cache.set("x", 1)
    assert cache.get("x") == 1


def test_a_peek_at_the_sliding_window_counts_nothing(cache):
    """What an answer the throttle did not count reports (web/api/throttles.py, budget_peek):
    the window as it stands, by the same rule, on Redis and in memory alike."""
    times = (1030.0, 1030.0, 1060.0, 1061.0)
    expected = [(2, 1000.0), (2, 1000.0), (1, 1001.0), (0, None)]
    _windows(cache, "w", [1000.0, 1001.0])
    on_redis = [cache.sliding_window_peek("w", now=at, window=60) for at in times]
    assert [(w.count, w.oldest) for w in on_redis] == expected
    cache.fallback.clear()
    for at in (1000.0, 1001.0):
        cache._sliding_window_in_memory("w", now=at, window=60, limit=3)
    in_memory = [cache._peek_in_memory("w", now=at, window=60) for at in times]
    assert [(w.count, w.oldest) for w in in_memory] == expected
