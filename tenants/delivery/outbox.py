"""Outbox delivery: e-mail and signed webhooks, at least once, with backoff and dead letters.

The outbox row is its own planned action: a batch is claimed with `FOR UPDATE SKIP LOCKED` and a
lease, an in-flight `Delivery` row is written for every message in the same transaction, the
messages are sent outside any transaction (a mail server cannot roll back), and the outcome is
recorded in one more transaction. A worker that dies between sending and recording leaves its
rows leased and its in-flight attempts open; once the lease runs out the next tick sends them
again with the same Message-ID (derived from the outbox row), so a duplicate is recognisable,
and `reconcile` counts the interrupted attempts.

A message that has been sent or given up on (dead letter) keeps no secret: the outcome's
transaction masks them in its payload (`core.masking`: an invitation's link loses its token),
and such a message cannot be retried (the invitation is sent again instead).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.console import EmailBackend as ConsoleBackend
from django.core.mail.backends.dummy import EmailBackend as DummyBackend
from django.db import connection, transaction
from django.db.models import Exists, F, Max, OuterRef, Q, Subquery

from core import clock, sandbox
from core.enums import AuditAction, OutboxChannel, OutboxStatus
from core.errors import PermissionDenied
from core.masking import holds_masked_secret, mask_secrets
from core.models import Delivery, Outbox
from core.outbox import delivery_ring_on_commit
from core.services import audit_add, message_id_for
from tenants.delivery.email import email_message
from tenants.delivery.faults import fault_point
from tenants.delivery.webhooks import SendResult, WebhookBatch, elapsed_ms
from tenants.models import Partner, Tenant, WebhookEndpoint
from tenants.scope import Scope

logger = logging.getLogger(__name__)

DEFAULT_BATCH = 100
# First retry after a minute, doubling up to six hours: a mail server or a partner's endpoint
# that is down for a day gets eight spaced attempts, not a flood.
BACKOFF_BASE_SECONDS = 60
BACKOFF_CAP_SECONDS = 6 * 3600


# Mail backends that print, drop or file a message instead of handing it to a mail server
# (filebased is a console backend writing to a file). What they took is recorded as logged,
# never as sent: a sent e-mail is evidence that a notice reached a tenant (R3, R14).
# Production refuses them at start (terms_site/production.py); locmem stays "sent" because it
# is the mailbox the test suite reads, and production refuses it too.
LOGGING_ONLY_BACKENDS = (ConsoleBackend, DummyBackend)
LOGGED_ONLY_NOTE = "logged by the development mail backend, not delivered"


def delivers_nothing(mail: Any) -> bool:
    return isinstance(mail, LOGGING_ONLY_BACKENDS)


# Outcomes after which a message is never sent again (its secrets are masked).
FINAL = (OutboxStatus.SENT, OutboxStatus.DEAD, OutboxStatus.LOGGED)


def max_attempts() -> int:
    return int(settings.TERMS_OUTBOX_MAX_ATTEMPTS)


def delivery_batch_size() -> int:
    return int(getattr(settings, "TERMS_OUTBOX_BATCH_SIZE", DEFAULT_BATCH))


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff after the `attempts`-th failed attempt (1 → 1 min, 2 → 2 min, ...)."""
    base = int(getattr(settings, "TERMS_OUTBOX_BACKOFF_SECONDS", BACKOFF_BASE_SECONDS))
    seconds = min(base * 2 ** max(attempts - 1, 0), BACKOFF_CAP_SECONDS)
    return timedelta(seconds=seconds)


def _due_by_clock(now: datetime) -> Q:
    """Rows whose attempt is due by the clock they were queued on. Inside a sandbox run, that
    sandbox's rows by its clock; otherwise every row due by now, and a sandbox's rows due by
    their sandbox's clock (queued at a sandbox instant, they go out as in production, at once)
    (docs/api.md, "Sandbox")."""
    sandbox_id = sandbox.current()
    if sandbox_id is not None:
        return Q(partner_id=sandbox_id, next_attempt_at__lte=now)
    by_sandbox_clock = Partner.objects.filter(
        pk=OuterRef("partner_id"),
        sandbox_of__isnull=False,
        sandbox_now__gte=OuterRef("next_attempt_at"),
    )
    return Q(next_attempt_at__lte=now) | Q(Exists(by_sandbox_clock))


def claim(*, limit: int) -> list[Outbox]:
    """Lease up to `limit` due rows (pending, or failed and due again, and not leased)."""
    now = clock.now()
    due = (
        Q(status__in=[OutboxStatus.PENDING, OutboxStatus.FAILED])
        & _due_by_clock(now)
        & (Q(lease_until__isnull=True) | Q(lease_until__lt=now))
    )
    queryset = (
        Outbox.objects.filter(due)
        # A sandbox's row backs off on its sandbox's clock (read with the claim: no query).
        .annotate(
            sandbox_clock=Subquery(
                Partner.objects.filter(pk=OuterRef("partner_id"), sandbox_of__isnull=False).values(
                    "sandbox_now"
                )[:1]
            )
        )
        .order_by("next_attempt_at", "id")
    )
    if connection.features.has_select_for_update_skip_locked:
        queryset = queryset.select_for_update(skip_locked=True)
    # On SQLite the IMMEDIATE transaction holds the write lock: no one claims in between.
    rows: list[Outbox] = list(queryset[:limit])
    if not rows:
        return []
    lease = now + timedelta(seconds=int(settings.TERMS_JOB_LEASE_SECONDS))
    Outbox.objects.filter(id__in=[row.id for row in rows]).update(
        lease_until=lease, attempts=F("attempts") + 1
    )
    for row in rows:
        row.lease_until = lease
        row.attempts += 1
    return rows


def outbox_deliver_batch(*, limit: int | None = None) -> Counter[str]:
    """Deliver one batch of due outbox rows; constant queries whatever the batch size."""
    counts: Counter[str] = Counter()
    limit = limit or delivery_batch_size()
    now = clock.now()
    with transaction.atomic():
        rows = claim(limit=limit)
        if not rows:
            return counts
        ids = [row.id for row in rows]
        last = dict(
            Delivery.objects.filter(outbox_id__in=ids)
            .values("outbox_id")
            .annotate(last=Max("attempt"))
            .values_list("outbox_id", "last")
        )
        # Written before sending: an attempt that never reports back is evidence that the
        # message may have left without being recorded (reconcile counts these).
        attempts = Delivery.objects.bulk_create(
            [
                Delivery(
                    outbox_id=row.id,
                    attempt=last.get(row.id, 0) + 1,
                    attempted_at=row_clock(row, now),
                )
                for row in rows
            ]
        )
    by_outbox = {attempt.outbox_id: attempt for attempt in attempts}
    hooks = [row for row in rows if row.channel == OutboxChannel.WEBHOOK]
    mails = [row for row in rows if row.channel != OutboxChannel.WEBHOOK]
    endpoint_ids = {row.webhook_endpoint_id for row in hooks if row.webhook_endpoint_id}
    endpoints: dict[int, WebhookEndpoint] = {}
    if endpoint_ids:
        endpoints = WebhookEndpoint.objects.in_bulk(list(endpoint_ids))

    # Webhooks go out on their own threads while e-mail is sent here, and the e-mails are
    # recorded before waiting for them: a slow partner endpoint never holds up a notice.
    webhooks = WebhookBatch(hooks, endpoints)
    results: dict[int, SendResult] = {}
    try:
        if mails:
            mail = get_connection()
            logged_only = delivers_nothing(mail)
            sandboxed = _sandbox_mails(mails)
            try:
                for row in mails:
                    if row.id in sandboxed:
                        # A sandbox's customers are test data: nobody is e-mailed (logged).
                        results[row.id] = SendResult(ok=False, error=SANDBOX_NOTE, logged_only=True)
                        continue
                    results[row.id] = _send_one(row, mail=mail, logged_only=logged_only)
                    if results[row.id].ok:
                        fault_point()
            finally:
                mail.close()
            _record(mails, results, by_outbox, counts)
    finally:
        results.update(webhooks.results())
    if hooks:
        _record(hooks, results, by_outbox, counts)
    return counts


def _record(
    rows: list[Outbox],
    results: dict[int, SendResult],
    by_outbox: dict[int, Delivery],
    counts: Counter[str],
) -> None:
    """Store the outcome of each row's attempt; an untried row gives its claim back."""
    untried: list[int] = []
    scrubbed: list[Outbox] = []
    for row in rows:
        result = results[row.id]
        if result.untried:
            untried.append(by_outbox[row.id].pk)
            _give_back(row)
            counts[f"{row.channel}.deferred"] += 1
            continue
        attempt = by_outbox[row.id]
        attempt.succeeded = result.ok
        attempt.status_code = result.status_code
        attempt.error = result.error[:2000]
        attempt.duration_ms = result.duration_ms
        _apply_result(row, result)
        if row.status in FINAL and _scrub(row):
            scrubbed.append(row)
        counts[f"{row.channel}.{row.status}"] += 1
    by_id = {row.id: row for row in rows}
    for row in rows:
        # Back off together with the row whose failure stopped the endpoint's batch.
        wait_for = results[row.id].wait_for
        if wait_for is not None and wait_for in by_id:
            row.next_attempt_at = by_id[wait_for].next_attempt_at
    skipped = set(untried)
    tried = [by_outbox[row.id] for row in rows if by_outbox[row.id].pk not in skipped]
    with transaction.atomic():
        Outbox.objects.bulk_update(
            rows,
            [
                "status",
                "sent_at",
                "message_id",
                "last_error",
                "next_attempt_at",
                "lease_until",
                "attempts",
            ],
        )
        Delivery.objects.bulk_update(tried, ["succeeded", "status_code", "error", "duration_ms"])
        if scrubbed:
            Outbox.objects.bulk_update(scrubbed, ["payload"])
        if untried:
            # Nothing was sent: the in-flight record would read as an interrupted attempt.
            Delivery.objects.filter(pk__in=untried).delete()


def _scrub(row: Outbox) -> bool:
    """Mask the secrets of a message that will not be sent again; whether any were there."""
    masked = mask_secrets(row.payload)
    if masked == row.payload:
        return False
    row.payload = masked
    return True


def _give_back(row: Outbox) -> None:
    row.lease_until = None
    row.attempts = max(row.attempts - 1, 0)


SANDBOX_NOTE = "sandbox: not sent"


def _sandbox_mails(rows: list[Outbox]) -> set[int]:
    """The e-mails among `rows` that concern a sandbox's partner or tenant (two queries)."""
    partners = {row.partner_id for row in rows if row.partner_id}
    tenants = {row.tenant_id for row in rows if row.tenant_id}
    sandbox_partners = set(
        Partner.objects.filter(pk__in=partners, sandbox_of__isnull=False).values_list(
            "pk", flat=True
        )
    )
    sandbox_tenants = set(
        Tenant.objects.filter(pk__in=tenants, partner__sandbox_of__isnull=False).values_list(
            "pk", flat=True
        )
    )
    return {
        row.id
        for row in rows
        if row.partner_id in sandbox_partners or row.tenant_id in sandbox_tenants
    }


def _send_one(row: Outbox, *, mail: Any, logged_only: bool = False) -> SendResult:
    started = time.monotonic()
    try:
        if not row.recipient:
            return SendResult(ok=False, error="no recipient", permanent=True)
        message = email_message(row, connection_=mail)
        mail.send_messages([message])
        if logged_only:
            return SendResult(
                ok=False, error=LOGGED_ONLY_NOTE, logged_only=True, duration_ms=elapsed_ms(started)
            )
        return SendResult(ok=True, duration_ms=elapsed_ms(started))
    except Exception as exc:  # any failure is retried with backoff
        logger.warning("outbox %s: delivery failed: %s", row.pk, exc)
        return SendResult(
            ok=False, error=f"{type(exc).__name__}: {exc}", duration_ms=elapsed_ms(started)
        )


def row_clock(row: Outbox, now: datetime) -> datetime:
    """The instant a row's delivery is recorded at: its sandbox's clock for a sandbox's row
    (read with the claim), whichever worker delivers it, so a sandbox caller reads its
    deliveries on the clock of the rest of its data (docs/api.md, "Sandbox"); else now.
    Inside a run for the sandbox (an advance delivering each attempt at the sandbox instant
    it falls due: agreements.jobs.sandbox.sandbox_deliver) that instant is `now`."""
    if sandbox.current() is not None and sandbox.current() == row.partner_id:
        return now
    return getattr(row, "sandbox_clock", None) or now


def _apply_result(row: Outbox, result: SendResult) -> None:
    now = row_clock(row, clock.now())
    row.lease_until = None
    if row.channel == OutboxChannel.EMAIL:
        row.message_id = message_id_for(row)
    if result.ok:
        row.status = OutboxStatus.SENT
        row.sent_at = now
        row.last_error = ""
        return
    if result.logged_only:
        # Final (sending it again would only print it again), with no sent_at: nothing reached
        # anyone, so no deadline may run from it.
        row.status = OutboxStatus.LOGGED
        row.last_error = result.error
        return
    row.last_error = result.error[:2000]
    if result.permanent or row.attempts >= max_attempts():
        row.status = OutboxStatus.DEAD
    else:
        row.status = OutboxStatus.FAILED
        # Due again after the backoff by the clock the row waits on: a sandbox's, or now. On
        # real time a sandbox row, whose clock is ahead, would be due again at once.
        row.next_attempt_at = now + retry_delay(row.attempts)


def outbox_deliver_due(
    *, limit: int | None = None, max_batches: int = 10_000, max_seconds: float | None = None
) -> Counter[str]:
    """Deliver due outbox rows batch by batch until none is due (or `max_seconds` have passed).

    Tasks pass a budget below Celery's soft time limit: a batch cut off mid-way would be sent
    again after its lease, so stopping between batches and leaving the rest to the next ring
    or tick is cheaper than being interrupted.
    """
    counts: Counter[str] = Counter()
    started = time.monotonic()
    for _ in range(max_batches):
        batch = outbox_deliver_batch(limit=limit)
        if not batch:
            break
        counts.update(batch)
        if max_seconds is not None and time.monotonic() - started > max_seconds:
            break
    return counts


# --- staff --------------------------------------------------------------------------------


@transaction.atomic
def outbox_requeue(row: Outbox, *, now: datetime) -> str:
    """Put one locked message back in the queue for an attempt now, with a fresh allowance of
    attempts before the next dead letter; returns the status it had."""
    previous = str(row.status)
    row.status = OutboxStatus.PENDING
    row.attempts = 0
    row.next_attempt_at = now
    row.lease_until = None
    row.save(update_fields=["status", "attempts", "next_attempt_at", "lease_until", "updated_at"])
    return previous


def outbox_retry(*, scope: Scope, ids: list[int]) -> int:
    """Queue failed or dead messages for another attempt now (staff only); audited per row.

    A dead letter whose secret was masked (an invitation without its link) is left as it is:
    sent again it would carry no link; the invitation is sent again instead."""
    if not scope.is_privileged:
        raise PermissionDenied("only staff may retry deliveries")
    rows = list(
        Outbox.objects.select_for_update()
        .filter(id__in=ids, status__in=[OutboxStatus.FAILED, OutboxStatus.DEAD])
        .order_by("id")
    )
    rows = [row for row in rows if not holds_masked_secret(row.payload)]
    now = clock.now()
    for row in rows:
        previous = outbox_requeue(row, now=now)
        audit_add(
            actor=scope.user,
            action=AuditAction.RETRY,
            obj=row,
            summary=f"retry {row.kind} to {row.recipient or row.webhook_endpoint_id}",
            data={"previous_status": previous, "last_error": row.last_error[:500]},
            tenant_id=row.tenant_id,
        )
    if rows:
        delivery_ring_on_commit()
    return len(rows)
