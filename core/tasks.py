from __future__ import annotations

import logging
import os
import socket

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="core.heartbeat", acks_late=True, ignore_result=True)
def heartbeat(*, name: str = "beat") -> None:
    """Written by a beat-scheduled task through the worker: proves beat, broker and worker."""
    from core.services import heartbeat_write  # noqa: PLC0415 -- leaf

    heartbeat_write(name=name, info={"host": socket.gethostname(), "pid": os.getpid()})
    if name == "beat":
        # The worker that ran the beat's task is alive too.
        heartbeat_write(name="worker", info={"host": socket.gethostname(), "pid": os.getpid()})


@shared_task(
    name="core.deliver_outbox", acks_late=True, reject_on_worker_lost=True, ignore_result=True
)
def deliver_outbox() -> dict[str, int]:
    """Deliver due outbox messages; rung on commit of whatever queued them, and by the tick.

    Re-running it is harmless: rows are claimed with SKIP LOCKED and a lease, so two runs share
    the work instead of doubling it; a message sent but not recorded is resent with the same
    Message-ID (at least once, DESIGN: Jobs).
    """
    from core.delivery import outbox_deliver_due  # noqa: PLC0415 -- leaf

    # Under the global soft time limit (300 s): stop between batches, the next ring continues.
    return dict(outbox_deliver_due(max_seconds=120))
