"""Operations tasks (loaded through CELERY_IMPORTS; the project package is not an app)."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger("terms.ledger")
ops_logger = logging.getLogger("terms.ops")


@shared_task(name="ops.log_ledger_heads", acks_late=True, ignore_result=True)
def log_ledger_heads() -> int:
    """Daily (beat, 00:05 JST): today's chain heads into the logs, one line per tenant."""
    from agreements.ledger.heads import log_daily_heads  # noqa: PLC0415 -- leaf

    return log_daily_heads()


@shared_task(name="ops.housekeeping", acks_late=True, ignore_result=True)
def housekeeping() -> dict[str, int]:
    """Hourly (beat): expired sessions and Idempotency-Key records, job runs and failed delivery
    attempts past their retention go (core.retention says what is kept and why); stale
    invitations expire. Each kind is deleted in short batches within one time budget."""
    from core.retention import (  # noqa: PLC0415 -- leaf
        Budget,
        delivery_attempts_purge,
        idempotency_purge_expired,
        job_runs_purge,
        sessions_purge_expired,
    )
    from tenants.services import invitations_expire  # noqa: PLC0415 -- leaf

    budget = Budget()
    counts = {
        "idempotency_purged": idempotency_purge_expired(budget=budget),
        "invitations_expired": invitations_expire(),
        "sessions_purged": sessions_purge_expired(budget=budget),
        "job_runs_purged": job_runs_purge(budget=budget),
        "delivery_attempts_purged": delivery_attempts_purge(budget=budget),
    }
    if any(counts.values()):
        ops_logger.info("ops.housekeeping", extra=counts)
    return counts


@shared_task(name="ops.ledger_checkpoint", acks_late=True, ignore_result=True)
def ledger_checkpoint() -> int:
    """Daily (beat, 00:10 JST): sign the heads as of 00:00 JST (docs/ledger.md). Without a
    signing key in production this fails, and is logged as an error, every day until fixed."""
    from agreements.enums import CheckpointKind  # noqa: PLC0415 -- leaf
    from agreements.ledger.checkpoints import checkpoint_create  # noqa: PLC0415 -- leaf

    try:
        return checkpoint_create(kind=CheckpointKind.DAILY).number
    except Exception:
        logger.exception("ledger.checkpoint_failed")
        raise
