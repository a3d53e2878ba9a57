"""The outbox's doorbell: ask a worker to deliver once the writing transaction commits.

Delivery itself (rendering, sending, retries) lives with the recipients in `tenants.delivery`;
core only rings, by the task's name, so that the ground floor never imports what sits on it.
The database knows what is due (docs/jobs.md): a missed ring costs at most the minute tick.
"""

from __future__ import annotations

import logging

from celery import current_app
from django.db import transaction

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


def _ring() -> None:
    if _OUTAGE.skip():
        return
    try:
        with current_app.pool.acquire(block=True, timeout=RING_TIMEOUT_SECONDS) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=RING_TIMEOUT_SECONDS)
            current_app.send_task(DELIVERY_TASK, kwargs={}, retry=False, connection=conn)
    except Exception as exc:  # the minute tick delivers anyway
        _OUTAGE.failed(exc)
        return
    _OUTAGE.succeeded()


def delivery_ring_on_commit() -> None:
    """Ask a worker to deliver the outbox once the current transaction commits (once per commit).

    Enqueuing before the commit could let the worker look before the rows exist; after a
    rollback there is nothing to deliver, and Django drops the callback with the transaction.
    """
    conn = transaction.get_connection()
    if not conn.in_atomic_block:
        _ring()
        return
    if any(callback is _ring for _sids, callback, _robust in conn.run_on_commit):
        return
    transaction.on_commit(_ring, robust=True)
