"""Operations tasks (loaded through CELERY_IMPORTS; the project package is not an app)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="ops.log_ledger_heads", acks_late=True, ignore_result=True)
def log_ledger_heads() -> int:
    """Daily (beat, 00:05 JST): today's chain heads into the logs, one line per tenant."""
    from agreements.ledger.heads import log_daily_heads  # noqa: PLC0415 -- leaf

    return log_daily_heads()


@shared_task(name="ops.housekeeping", acks_late=True, ignore_result=True)
def housekeeping() -> dict[str, int]:
    """Hourly (beat): drop Idempotency-Key records past their 24 h, expire old invitations."""
    from core.services import idempotency_purge_expired  # noqa: PLC0415 -- leaf
    from tenants.services import invitations_expire  # noqa: PLC0415 -- leaf

    return {
        "idempotency_purged": idempotency_purge_expired(),
        "invitations_expired": invitations_expire(),
    }
