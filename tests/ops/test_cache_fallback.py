"""The Redis cache's memory fallback hands over what changed when Redis is back.

A tenant who answers during a Redis outage bumps its gate generation in this process's memory
only; Redis still holds the generation (and the cached gate) from before. Without the
hand-over, the gate stays stale on every process until the cached value expires.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

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
    cache.delete_many(["gen", "items:5", "gate", "gone", "untouched", "x", "anything"])
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


def test_one_redis_client_per_pool_is_kept(cache):
    assert cache._cache.get_client(write=True) is cache._cache.get_client("k", write=True)
    cache.set("x", 1)
    assert cache.get("x") == 1
