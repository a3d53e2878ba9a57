from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="agreements.lifecycle_tick", acks_late=True, ignore_result=True)
def lifecycle_tick() -> dict[str, int]:
    """Beat's minute tick: run whatever lifecycle work the database says is due."""
    from agreements.jobs import lifecycle_tick as run  # noqa: PLC0415 -- leaf

    return run()
