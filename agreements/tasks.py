"""Celery tasks of the lifecycle: thin bells; the database knows what is due (docs/jobs.md).

`acks_late` + `reject_on_worker_lost` (also the global defaults): a task whose worker dies is
re-queued instead of lost. That is safe only because every job is idempotent by construction
(planned actions with unique keys, claims with SKIP LOCKED, effects committed with their record),
and it is not what recovery relies on: the minute tick re-rings whatever is still due, so a
message stuck in an unacknowledged state (Redis redelivers it only after its visibility timeout)
delays nothing.
"""

from __future__ import annotations

import logging

from celery import shared_task

from core import clock

logger = logging.getLogger(__name__)


@shared_task(
    name="agreements.lifecycle_tick", acks_late=True, reject_on_worker_lost=True, ignore_result=True
)
def lifecycle_tick() -> dict[str, int]:
    """Beat's minute tick: run whatever lifecycle work the database says is due."""
    from agreements.jobs import lifecycle_tick as run  # noqa: PLC0415 -- leaf

    return run()


@shared_task(
    name="agreements.run_job", acks_late=True, reject_on_worker_lost=True, ignore_result=True
)
def run_job(*, job: str) -> dict[str, int]:
    """One job for today (the beat schedule rings each at its own time, the tick every minute)."""
    from agreements.jobs import JOBS, job_run_one  # noqa: PLC0415 -- leaf

    if job not in JOBS:
        logger.error("unknown job %s", job)
        return {}
    return job_run_one(job, clock.today(), record_idle=False)
