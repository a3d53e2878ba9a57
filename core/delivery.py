"""Outbox delivery: e-mail and signed webhooks, at least once, with backoff and dead letters.

The outbox row is its own planned action: a batch is claimed with `FOR UPDATE SKIP LOCKED` and a
lease, an in-flight `Delivery` row is written for every message in the same transaction, the
messages are sent outside any transaction (a mail server cannot roll back), and the outcome is
recorded in one more transaction. A worker that dies between sending and recording leaves its
rows leased and its in-flight attempts open; once the lease runs out the next tick sends them
again with the same Message-ID (derived from the outbox row), so a duplicate is recognisable,
and `reconcile` counts the interrupted attempts.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.db.models import F, Max, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from core import clock
from core.enums import AuditAction, EventKind, OutboxChannel, OutboxStatus
from core.errors import PermissionDenied
from core.models import Delivery, Outbox
from core.services import audit_add, message_id_for

if TYPE_CHECKING:
    from tenants.scope import Scope

logger = logging.getLogger(__name__)

DELIVERY_TASK = "core.deliver_outbox"
DEFAULT_BATCH = 100
# First retry after a minute, doubling up to six hours: a mail server or a partner's endpoint
# that is down for a day gets eight spaced attempts, not a flood.
BACKOFF_BASE_SECONDS = 60
BACKOFF_CAP_SECONDS = 6 * 3600
WEBHOOK_TIMEOUT_SECONDS = 10
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def max_attempts() -> int:
    return int(settings.TERMS_OUTBOX_MAX_ATTEMPTS)


def delivery_batch_size() -> int:
    return int(getattr(settings, "TERMS_OUTBOX_BATCH_SIZE", DEFAULT_BATCH))


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff after the `attempts`-th failed attempt (1 → 1 min, 2 → 2 min, ...)."""
    base = int(getattr(settings, "TERMS_OUTBOX_BACKOFF_SECONDS", BACKOFF_BASE_SECONDS))
    seconds = min(base * 2 ** max(attempts - 1, 0), BACKOFF_CAP_SECONDS)
    return timedelta(seconds=seconds)


# --- ringing the delivery task ------------------------------------------------------------


def _ring() -> None:
    # Imported here: core.tasks imports this module's functions inside its task bodies.
    from celery import current_app  # noqa: PLC0415 -- avoid loading Celery for every import

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


# --- rendering ----------------------------------------------------------------------------


def template_name(kind: str) -> str:
    return kind.replace(".", "_")


def _parse_value(value: Any) -> Any:
    if isinstance(value, str):
        if ISO_DATE.match(value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                return value
        if ISO_DATETIME.match(value):
            try:
                return datetime.fromisoformat(value).astimezone(clock.TOKYO)
            except ValueError:
                return value
    if isinstance(value, dict):
        return {k: _parse_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_parse_value(v) for v in value]
    return value


def portal_links(payload: dict[str, Any]) -> dict[str, str]:
    """Absolute links for a message: the portal pages a tenant acts on, the public notice.

    Paths come from the URL configuration by name, so a moved page cannot leave e-mails
    pointing at nothing.
    """
    base = settings.TERMS_PORTAL_BASE_URL.rstrip("/")
    home = f"{base}{reverse('portal:home')}"
    links = {"portal": home, "consents": home}
    if payload.get("contract_id"):
        links["contract"] = f"{base}{reverse('portal:contract', args=[payload['contract_id']])}"
    else:
        links["contract"] = f"{base}{reverse('portal:contracts')}"
    if payload.get("version_id"):
        links["notice"] = f"{base}{reverse('public:notice-detail', args=[payload['version_id']])}"
        links["version"] = f"{base}{reverse('portal:review', args=[payload['version_id']])}"
    if payload.get("deletion_id"):
        links["deletion"] = links["contract"]
    if payload.get("invitation_url"):
        links["invitation"] = str(payload["invitation_url"])
    links["console"] = f"{base}/console/"
    return links


MONTHS_EN = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def format_date(value: date, locale: str) -> str:
    """A business date as people write it: 2025年2月28日 / 28 February 2025."""
    if locale == "ja":
        return f"{value.year}年{value.month}月{value.day}日"
    return f"{value.day} {MONTHS_EN[value.month - 1]} {value.year}"


def format_instant(value: datetime, locale: str) -> str:
    local = value.astimezone(clock.TOKYO)
    if locale == "ja":
        return f"{format_date(local.date(), locale)} {local:%H:%M}（日本時間）"
    return f"{format_date(local.date(), locale)}, {local:%H:%M} JST"


def _formatted_dates(payload: dict[str, Any], locale: str) -> dict[str, str]:
    formatted = {}
    for key, value in payload.items():
        if isinstance(value, datetime):
            formatted[key] = format_instant(value, locale)
        elif isinstance(value, date):
            formatted[key] = format_date(value, locale)
    return formatted


def email_context(outbox: Outbox, locale: str) -> dict[str, Any]:
    """What every e-mail template sees: `p` (payload, ISO dates parsed), `d` (those dates
    written out in the message's language), `links` (absolute portal and notice URLs)."""
    payload = _parse_value(outbox.payload)
    if "data" in payload and isinstance(payload["data"], dict):
        payload = {**payload["data"], **payload}
    kind_label = (
        str(EventKind(outbox.kind).label) if outbox.kind in EventKind.values else outbox.kind
    )
    return {
        "p": payload,
        "d": _formatted_dates(payload, locale),
        "links": portal_links(outbox.payload),
        "kind": outbox.kind,
        "kind_label": kind_label,
        "locale": locale,
        "recipient": outbox.recipient,
    }


def email_render(outbox: Outbox) -> tuple[str, str, str]:
    """Subject, plain text and HTML of an outbox e-mail, in the row's language.

    Templates: `templates/emails/<locale>/<kind with dots as underscores>.{txt,html}`, falling
    back to `generic`; the plain-text template's first line is the subject.
    """
    locale = outbox.locale if outbox.locale in {"ja", "en"} else "ja"
    context = email_context(outbox, locale)
    name = template_name(outbox.kind)
    with translation.override(locale):
        text = render_to_string(
            [f"emails/{locale}/{name}.txt", f"emails/{locale}/generic.txt"], context
        )
        html = render_to_string(
            [f"emails/{locale}/{name}.html", f"emails/{locale}/generic.html"], context
        )
    subject, _, body = text.lstrip().partition("\n")
    body = re.sub(r"\n{3,}", "\n\n", body.strip())  # blocks left empty by a condition
    return subject.strip(), body + "\n", html


def email_message(outbox: Outbox, *, connection_: Any = None) -> EmailMultiAlternatives:
    subject, text, html = email_render(outbox)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[outbox.recipient],
        connection=connection_,
        headers={
            "Message-ID": message_id_for(outbox),
            "X-Terms-Outbox": str(outbox.pk),
            "X-Terms-Kind": outbox.kind,
        },
    )
    message.attach_alternative(html, "text/html")
    return message


# --- webhooks -----------------------------------------------------------------------------


@dataclass
class SendResult:
    ok: bool
    status_code: int | None = None
    error: str = ""
    duration_ms: int = 0
    permanent: bool = False  # no point retrying (endpoint gone or disabled)


def webhook_body(outbox: Outbox) -> bytes:
    """The exact bytes POSTed (and signed): the event envelope queued with the outbox row."""
    return json.dumps(
        outbox.payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")
    ).encode()


def webhook_post(outbox: Outbox, endpoint: Any) -> SendResult:
    """POST the event to the partner's endpoint, signed over timestamp and body (each attempt
    signed afresh; the event id header stays the same so receivers can deduplicate)."""
    # The signing scheme belongs to the tenants app, which also documents verification.
    from tenants.webhooks import webhook_headers  # noqa: PLC0415 -- leaf

    started = time.monotonic()
    if endpoint is None or not endpoint.is_active:
        return SendResult(ok=False, error="endpoint disabled or removed", permanent=True)
    body = webhook_body(outbox)
    headers = webhook_headers(
        body=body,
        endpoint=endpoint,
        event_id=outbox.payload.get("event_id", outbox.event_id or outbox.pk),
        kind=outbox.kind,
    )
    request = urllib.request.Request(endpoint.url, data=body, headers=headers, method="POST")  # noqa: S310 -- URLs are validated at registration
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:  # noqa: S310
            code = response.status
    except urllib.error.HTTPError as exc:
        code = exc.code
    except (urllib.error.URLError, OSError) as exc:
        return SendResult(ok=False, error=f"{type(exc).__name__}: {exc}", duration_ms=_ms(started))
    ok = 200 <= code < 300
    return SendResult(
        ok=ok, status_code=code, error="" if ok else f"HTTP {code}", duration_ms=_ms(started)
    )


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


# --- delivering a batch -------------------------------------------------------------------


def _claim(*, limit: int) -> list[Outbox]:
    now = clock.now()
    due = Q(status__in=[OutboxStatus.PENDING, OutboxStatus.FAILED], next_attempt_at__lte=now) & (
        Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    )
    queryset = Outbox.objects.filter(due).order_by("next_attempt_at", "id")
    if connection.features.has_select_for_update_skip_locked:
        queryset = queryset.select_for_update(skip_locked=True)
    # On SQLite the IMMEDIATE transaction holds the write lock: no one claims in between.
    rows = list(queryset[:limit])
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


class _Sends:
    in_process = 0  # e-mails this process has handed to the backend (for the fault hook)


def _fault_point() -> None:
    """Test hook (fault drills only): stop this process after a set number of sends.

    Off unless settings.TERMS_FAULT_HOOK is set, which only the fault-test settings do.
    `kill_self` SIGKILLs this process (a prefork child), `kill_parent` its parent (the
    worker's main process), `pause` blocks until the drill has restarted a server.
    """
    hook = getattr(settings, "TERMS_FAULT_HOOK", "")
    if not hook:
        return
    _Sends.in_process += 1
    if _Sends.in_process != int(getattr(settings, "TERMS_FAULT_AFTER_SENDS", 0)):
        return
    marker_dir = settings.TERMS_FAULT_DIR
    marker = os.path.join(marker_dir, "fired")
    try:
        # O_EXCL: the hook fires once per drill, not again in the restarted worker.
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return
    logger.warning("fault hook %s after %s sends (pid %s)", hook, _Sends.in_process, os.getpid())
    if hook == "kill_self":
        os.kill(os.getpid(), signal.SIGKILL)
    elif hook == "kill_parent":
        os.kill(os.getppid(), signal.SIGKILL)
        time.sleep(30)  # the drill kills what is left of the worker
    elif hook == "pause":
        resume = os.path.join(marker_dir, "resume")
        deadline = time.monotonic() + 120
        while not os.path.exists(resume) and time.monotonic() < deadline:
            time.sleep(0.05)


def outbox_deliver_batch(*, limit: int | None = None) -> Counter[str]:
    """Deliver one batch of due outbox rows; constant queries whatever the batch size."""
    counts: Counter[str] = Counter()
    limit = limit or delivery_batch_size()
    now = clock.now()
    with transaction.atomic():
        rows = _claim(limit=limit)
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
                Delivery(outbox_id=row.id, attempt=last.get(row.id, 0) + 1, attempted_at=now)
                for row in rows
            ]
        )
    by_outbox = {attempt.outbox_id: attempt for attempt in attempts}
    endpoint_ids = {row.webhook_endpoint_id for row in rows if row.webhook_endpoint_id}
    endpoints: dict[int, Any] = {}
    if endpoint_ids:
        endpoint_model = apps.get_model("tenants", "WebhookEndpoint")
        endpoints = endpoint_model.objects.in_bulk(list(endpoint_ids))

    mail = get_connection()
    try:
        for row in rows:
            result = _send_one(row, endpoints=endpoints, mail=mail)
            attempt = by_outbox[row.id]
            attempt.succeeded = result.ok
            attempt.status_code = result.status_code
            attempt.error = result.error[:2000]
            attempt.duration_ms = result.duration_ms
            _apply_result(row, result)
            counts[f"{row.channel}.{'sent' if result.ok else row.status}"] += 1
            if result.ok and row.channel == OutboxChannel.EMAIL:
                _fault_point()
    finally:
        mail.close()
    with transaction.atomic():
        Outbox.objects.bulk_update(
            rows,
            ["status", "sent_at", "message_id", "last_error", "next_attempt_at", "lease_until"],
        )
        Delivery.objects.bulk_update(
            list(by_outbox.values()), ["succeeded", "status_code", "error", "duration_ms"]
        )
    return counts


def _send_one(row: Outbox, *, endpoints: dict[int, Any], mail: Any) -> SendResult:
    started = time.monotonic()
    try:
        if row.channel == OutboxChannel.WEBHOOK:
            return webhook_post(row, endpoints.get(row.webhook_endpoint_id or 0))
        if not row.recipient:
            return SendResult(ok=False, error="no recipient", permanent=True)
        message = email_message(row, connection_=mail)
        mail.send_messages([message])
        return SendResult(ok=True, duration_ms=_ms(started))
    except Exception as exc:  # any failure is retried with backoff
        logger.warning("outbox %s: delivery failed: %s", row.pk, exc)
        return SendResult(ok=False, error=f"{type(exc).__name__}: {exc}", duration_ms=_ms(started))


def _apply_result(row: Outbox, result: SendResult) -> None:
    now = clock.now()
    row.lease_until = None
    if row.channel == OutboxChannel.EMAIL:
        row.message_id = message_id_for(row)
    if result.ok:
        row.status = OutboxStatus.SENT
        row.sent_at = now
        row.last_error = ""
        return
    row.last_error = result.error[:2000]
    if result.permanent or row.attempts >= max_attempts():
        row.status = OutboxStatus.DEAD
    else:
        row.status = OutboxStatus.FAILED
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
def outbox_retry(*, scope: Scope, ids: list[int]) -> int:
    """Queue failed or dead messages for another attempt now (staff only); audited per row."""
    if not scope.is_privileged:
        raise PermissionDenied("only staff may retry deliveries")
    rows = list(
        Outbox.objects.select_for_update()
        .filter(id__in=ids, status__in=[OutboxStatus.FAILED, OutboxStatus.DEAD])
        .order_by("id")
    )
    now = clock.now()
    for row in rows:
        previous = row.status
        row.status = OutboxStatus.PENDING
        row.attempts = 0  # a fresh allowance before the next dead letter
        row.next_attempt_at = now
        row.lease_until = None
        row.save(
            update_fields=["status", "attempts", "next_attempt_at", "lease_until", "updated_at"]
        )
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
