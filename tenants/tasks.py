"""Celery wrappers for tenants: outbox delivery (a leaf: each task imports its service)."""

from __future__ import annotations

from celery import shared_task

from core.outbox import DELIVERY_TASK, ring_heard


# The name stays "core.deliver_outbox" (core.outbox.DELIVERY_TASK): the beat schedule and
# messages already queued in the broker name the task, not the module.
@shared_task(name=DELIVERY_TASK, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def deliver_outbox() -> dict[str, int]:
    """Deliver due outbox messages; rung on commit of whatever queued them, and by the tick.

    Re-running it is harmless: rows are claimed with SKIP LOCKED and a lease, so two runs share
    the work instead of doubling it; a message sent but not recorded is resent with the same
    Message-ID (at least once, docs/jobs.md).
    """
    from tenants.delivery.outbox import outbox_deliver_due  # noqa: PLC0415 -- leaf

    ring_heard()  # before reading the outbox: a ring from now on queues another run
    # Under the global soft time limit (300 s): stop between batches, the next ring continues.
    return dict(outbox_deliver_due(max_seconds=120))
