"""The outbox's doorbell: ask a worker to deliver once the writing transaction commits.

Delivery itself (rendering, sending, retries) lives with the recipients in `tenants.delivery`;
core only rings, by the task's name, so that the ground floor never imports what sits on it.
The database knows what is due (docs/jobs.md): a missed ring costs at most the minute tick.
"""

from __future__ import annotations

import logging

from celery import current_app
from django.db import transaction

logger = logging.getLogger(__name__)

# The Celery task that delivers the outbox (tenants.tasks.deliver_outbox). The name is part of
# the beat schedule and of messages already queued, so it keeps its historical "core." prefix.
DELIVERY_TASK = "core.deliver_outbox"


def _ring() -> None:
    try:
        current_app.send_task(DELIVERY_TASK, kwargs={}, retry=False)
    except Exception:  # the minute tick delivers anyway
        logger.warning(
            "could not ring the delivery task; the next tick will deliver", exc_info=True
        )


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
