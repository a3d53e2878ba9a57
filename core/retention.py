"""Housekeeping: rows that only served operations, deleted once past their retention.

What goes (settings in terms_site/settings.py; docs/operations.md, "Housekeeping"):
- expired sessions (what Django's `clearsessions` does, in batches);
- job runs older than TERMS_RETENTION_JOB_RUNS_DAYS;
- failed or unreported delivery attempts older than TERMS_RETENTION_DELIVERY_ATTEMPTS_DAYS of
  messages that have since been delivered: a log of retries, nothing more;
- Idempotency-Key records past their expiry (TERMS_IDEMPOTENCY_TTL_HOURS; an API claim also
  replaces an expired record of its key).

What stays, whatever its age: every outbox message (an e-mail that was sent is how a notice
reached a tenant, R3, and deemed ledger rows cite it as `outbox:<id>`; termination notices must
be delivered and recorded, R14), every successful attempt (the evidence that the message left,
which `reconcile` checks), every attempt of a message not delivered (why a notice did not
reach a tenant, and what staff decide a dead letter on), and every record of how a notice
reached a tenant (agreements' NoticeDelivery).

Deletes go a batch at a time, each batch its own short transaction, so a large backlog (the
first run on an old database) neither holds locks for long nor keeps one huge transaction
open; a run stops after a time budget and the next hourly run carries on.
"""

from __future__ import annotations

import time
from datetime import timedelta
from importlib import import_module

from django.conf import settings
from django.db import models, transaction

from core import clock
from core.enums import OutboxStatus
from core.models import Delivery, IdempotencyRecord, JobRun

# A run's share of the hourly task: well inside CELERY_TASK_SOFT_TIME_LIMIT (300 s).
TIME_BUDGET_SECONDS = 120.0
DB_SESSION_ENGINES = (
    "django.contrib.sessions.backends.db",
    "django.contrib.sessions.backends.cached_db",
)


class Budget:
    """The time one housekeeping run may spend deleting."""

    def __init__(self, seconds: float = TIME_BUDGET_SECONDS) -> None:
        self.deadline = time.monotonic() + seconds

    @property
    def left(self) -> bool:
        return time.monotonic() < self.deadline


def delete_in_batches(
    queryset: models.QuerySet, *, batch_size: int | None = None, budget: Budget | None = None
) -> int:
    """Delete the rows of `queryset` `batch_size` at a time, each batch in its own
    transaction; returns how many rows of the queryset's model went."""
    size = batch_size or int(settings.TERMS_HOUSEKEEPING_BATCH_SIZE)
    budget = budget or Budget()
    model = queryset.model
    total = 0
    while budget.left:
        ids = list(queryset.order_by("pk").values_list("pk", flat=True)[:size])
        if not ids:
            break
        with transaction.atomic():
            _count, per_model = model._default_manager.filter(pk__in=ids).delete()
        total += per_model.get(model._meta.label, 0)
        if len(ids) < size:
            break
    return total


def sessions_purge_expired(*, budget: Budget | None = None) -> int:
    """Delete expired sessions (Django's `clearsessions`, batched for the database backends)."""
    if settings.SESSION_ENGINE not in DB_SESSION_ENGINES:
        # Cache and signed-cookie sessions expire by themselves; a file backend cleans up here.
        import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
        return 0
    from django.contrib.sessions.models import Session  # noqa: PLC0415 -- the db backends only

    return delete_in_batches(Session.objects.filter(expire_date__lt=clock.now()), budget=budget)


def job_runs_purge(*, budget: Budget | None = None) -> int:
    """Delete job runs older than TERMS_RETENTION_JOB_RUNS_DAYS."""
    cutoff = clock.now() - timedelta(days=int(settings.TERMS_RETENTION_JOB_RUNS_DAYS))
    return delete_in_batches(JobRun.objects.filter(started_at__lt=cutoff), budget=budget)


def delivery_attempts_purge(*, budget: Budget | None = None) -> int:
    """Delete failed or unreported attempts older than TERMS_RETENTION_DELIVERY_ATTEMPTS_DAYS
    of messages since delivered; the message and its successful attempt stay (module
    docstring)."""
    cutoff = clock.now() - timedelta(days=int(settings.TERMS_RETENTION_DELIVERY_ATTEMPTS_DAYS))
    attempts = Delivery.objects.filter(
        succeeded=False, attempted_at__lt=cutoff, outbox__status=OutboxStatus.SENT
    )
    return delete_in_batches(attempts, budget=budget)


def idempotency_purge_expired(*, budget: Budget | None = None) -> int:
    """Delete Idempotency-Key records past their expiry."""
    expired = IdempotencyRecord.objects.filter(expires_at__lte=clock.now())
    return delete_in_batches(expired, budget=budget)
