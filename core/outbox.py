"""The outbox's doorbell: ask a worker to deliver once the writing transaction commits.

Delivery itself (rendering, sending, retries) lives with the recipients in `tenants.delivery`;
core only rings, by the task's name, so that the ground floor never imports what sits on it.
The database knows what is due (docs/jobs.md): a missed ring costs at most the minute tick.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from celery import current_app
from django.core.cache import caches
from django.db import transaction

from core import generations
from core.cache import FallbackRedisCache
from core.degrade import Outage

logger = logging.getLogger(__name__)

# The Celery task that delivers the outbox (tenants.tasks.deliver_outbox). The name is part of
# the beat schedule and of messages already queued, so it keeps its historical "core." prefix.
DELIVERY_TASK = "core.deliver_outbox"


# While the broker is down, rings are skipped (the rows wait in the database for the tick) and
# the outage is logged once a minute, not once per committed answer.
_OUTAGE = Outage("outbox.doorbell", log=logger, fallback="the next tick delivers")
# One connection attempt, this long at most: a request must not wait for a broker that is down
# (Celery's own publishing retries for several seconds).
RING_TIMEOUT_SECONDS = 1.0


# A ring sent and not yet heard: while a delivery run is queued and has not started, another
# ring adds nothing (the run reads the outbox after it starts, so it finds every row committed
# before then), and a busy minute of answers would otherwise queue a run per answer. The run
# clears the mark as it starts (`ring_heard`); the mark's lifetime bounds what a ring lost on
# its way costs (the minute tick delivers regardless).
_PENDING = "outbox:ring-pending"
RING_PENDING_SECONDS = 10


def _ring(claimed: Callable[[], bool | None] = lambda: None) -> None:
    """Ring unless a run is pending. `claimed()` is whether the commit's generation bumps
    already claimed the pending mark for this ring (None: they did not; claim it here)."""
    won = claimed()
    if _OUTAGE.skip():
        if won:
            ring_heard()  # the mark was taken for a ring that will not go
        return
    if won is None:
        won = _ring_claim()
    if not won:
        return  # a run is queued and has not started: it will see this commit's rows
    try:
        with current_app.pool.acquire(block=True, timeout=RING_TIMEOUT_SECONDS) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=RING_TIMEOUT_SECONDS)
            current_app.send_task(DELIVERY_TASK, kwargs={}, retry=False, connection=conn)
    except Exception as exc:  # the minute tick delivers anyway
        ring_heard()
        _OUTAGE.failed(exc)
        return
    _OUTAGE.succeeded()


def _ring_claim() -> bool:
    """Mark a ring as pending; False when one already is. Without a shared cache (or while
    it is unreachable) every ring goes: a per-process mark would hide other processes' runs."""
    backend = caches["default"]
    if not isinstance(backend, FallbackRedisCache) or backend.outage.down:
        return True
    # A string, not a number: a number added during an outage would be carried over to Redis
    # as a counter (core/cache.py) and hold the mark for the cache's default lifetime.
    return bool(backend.add(_PENDING, "1", RING_PENDING_SECONDS))


def ring_heard() -> None:
    """A delivery run has started (or a ring failed): the next ring sends again."""
    backend = caches["default"]
    if isinstance(backend, FallbackRedisCache) and not backend.outage.down:
        backend.delete(_PENDING)


def delivery_ring_on_commit() -> None:
    """Ask a worker to deliver the outbox once the current transaction commits (once per commit).

    Enqueuing before the commit could let the worker look before the rows exist; after a
    rollback there is nothing to deliver, and Django drops the callback with the transaction.
    """
    conn = transaction.get_connection()
    if not conn.in_atomic_block:
        _ring()
        return
    if any(
        getattr(callback, "func", None) is _ring for _sids, callback, _robust in conn.run_on_commit
    ):
        return
    # The pending mark is claimed in the round trip of the commit's generation bumps, if any
    # (one round trip after the commit instead of two), unless the broker is known down.
    claimed = (
        generations.claim_with_commit_bumps(_PENDING, "1", RING_PENDING_SECONDS)
        if not _OUTAGE.down
        else lambda: None
    )
    transaction.on_commit(functools.partial(_ring, claimed), robust=True)
