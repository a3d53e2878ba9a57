"""Celery wrappers for core: the heartbeat. (Outbox delivery is tenants.tasks.deliver_outbox.)"""

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
