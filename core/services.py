"""Writes to the plumbing tables: audit entries, events, outbox messages, heartbeats."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User

from core import clock
from core.enums import OutboxChannel, OutboxStatus
from core.models import AuditEntry, Delivery, Event, Heartbeat, Outbox
from core.outbox import delivery_ring_on_commit
from core.redaction import REDACTED, Scrubber


def heartbeat_write(*, name: str, info: dict[str, Any] | None = None) -> None:
    Heartbeat.objects.update_or_create(
        name=name, defaults={"beat_at": clock.now(), "info": info or {}}
    )


def audit_add(
    *,
    actor: AbstractBaseUser | AnonymousUser | None,
    action: str,
    obj: Any,
    summary: str = "",
    data: dict[str, Any] | None = None,
    tenant_id: int | None = None,
    actor_label: str = "",
) -> AuditEntry:
    """Record a staff (or privileged) action on `obj`; call inside the action's transaction."""
    user = actor if isinstance(actor, User) and actor.is_authenticated else None
    return AuditEntry.objects.create(
        actor=user,
        actor_label=actor_label or (str(getattr(user, "username", "")) if user else "system"),
        action=str(action),
        object_type=obj._meta.label_lower if hasattr(obj, "_meta") else str(type(obj).__name__),
        object_id=getattr(obj, "pk", None),
        tenant_id=tenant_id,
        summary=summary[:500],
        data=data or {},
        at=clock.now(),
    )


def event_add(
    *,
    kind: str,
    tenant_id: int | None,
    partner_id: int | None,
    subject: Any = None,
    payload: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> Event:
    """An event for the partner feed, alone (no message to anyone).

    Tenants are told through tenants.notify, which writes their events and outbox rows together.
    """
    return Event.objects.create(
        kind=str(kind),
        tenant_id=tenant_id,
        partner_id=partner_id,
        subject_type=subject._meta.label_lower if subject is not None else "",
        subject_id=getattr(subject, "pk", None),
        payload=payload or {},
        occurred_at=occurred_at or clock.now(),
    )


def outbox_add(
    *,
    kind: str,
    channel: str,
    dedupe_key: str,
    payload: dict[str, Any],
    recipient: str = "",
    tenant_id: int | None = None,
    partner_id: int | None = None,
    webhook_endpoint_id: int | None = None,
    event: Event | None = None,
    locale: str = "ja",
) -> Outbox | None:
    """Queue a message in the caller's transaction; a repeated dedupe key queues nothing.

    The low-level table write: messages to tenants, their partners and the staff mailbox are
    queued through tenants.notify, which chooses recipients, keys and language.

    Returns the new row, or None when the key already existed (the message is already queued).
    """
    now = clock.now()
    row, created = Outbox.objects.get_or_create(
        dedupe_key=dedupe_key,
        defaults={
            "kind": str(kind),
            "channel": str(channel),
            "payload": payload,
            "recipient": recipient,
            "tenant_id": tenant_id,
            "partner_id": partner_id,
            "webhook_endpoint_id": webhook_endpoint_id,
            "event": event,
            "locale": locale,
            "next_attempt_at": now,
        },
    )
    if created:
        # Deliver once the caller's transaction commits (the minute tick catches the rest).
        delivery_ring_on_commit()
    return row if created else None


def message_id_for(outbox: Outbox, *, domain: str = "terms.optim.example") -> str:
    """A Message-ID derived from the outbox row, so a resend is recognisable as a duplicate."""
    digest = hashlib.sha256(outbox.dedupe_key.encode()).hexdigest()[:16]
    return f"<outbox-{outbox.pk}-{digest}@{domain}>"


def audit_redact(*, tenant_id: int, scrubber: Scrubber) -> int:
    """Scrub the personal data from the tenant's audit entries (R15); returns rows changed.

    What was done, to which object, when and by which staff member stays; the names and
    addresses in the summary, the details and a tenant user's actor label go.
    """
    changed: list[AuditEntry] = []
    for entry in AuditEntry.objects.filter(tenant_id=tenant_id).order_by("pk").iterator():
        summary = scrubber.text(entry.summary)
        data = scrubber.json(entry.data)
        label = REDACTED if scrubber.holds(entry.actor_label) else entry.actor_label
        if (summary, data, label) != (entry.summary, entry.data, entry.actor_label):
            entry.summary, entry.data, entry.actor_label = summary, data, label
            changed.append(entry)
    AuditEntry.objects.bulk_update(changed, ["summary", "data", "actor_label"], batch_size=500)
    return len(changed)


def outbox_redact(*, tenant_id: int, scrubber: Scrubber, keep_recipients: set[str]) -> int:
    """Scrub the tenant's messages, their delivery records and events (R15); returns rows changed.

    E-mail to the tenant's people loses its recipient (and the dedupe key that embeds it); one
    still queued is cancelled, never sent. Messages to `keep_recipients` (the staff mailbox) and
    webhooks to the partner keep going, with their payloads scrubbed. Kind, times, status and
    ids stay: the row still proves a notice was queued and whether it went out.
    """
    keep = {address.lower() for address in keep_recipients}
    undelivered = {OutboxStatus.PENDING, OutboxStatus.FAILED}
    changed_rows: list[Outbox] = []
    for row in Outbox.objects.filter(tenant_id=tenant_id).order_by("pk").iterator():
        before = (row.recipient, row.dedupe_key, row.payload, row.last_error, row.status)
        to_person = row.channel == OutboxChannel.EMAIL and row.recipient.lower() not in keep
        if to_person and row.recipient:
            row.recipient = ""
            # The key embeds the address ("…:email:<address>"); the pk keeps it unique.
            row.dedupe_key = f"redacted:{row.pk}"
        if to_person and row.status in undelivered:
            row.status = OutboxStatus.CANCELLED
            row.lease_until = None
        row.payload = scrubber.json(row.payload)
        row.last_error = scrubber.text(row.last_error)
        if (row.recipient, row.dedupe_key, row.payload, row.last_error, row.status) != before:
            changed_rows.append(row)
    Outbox.objects.bulk_update(
        changed_rows,
        ["recipient", "dedupe_key", "payload", "last_error", "status", "lease_until"],
        batch_size=500,
    )
    changed = len(changed_rows)
    attempts = [
        attempt
        for attempt in Delivery.objects.filter(outbox__tenant_id=tenant_id).exclude(error="")
        if scrubber.holds(attempt.error)
    ]
    for attempt in attempts:
        attempt.error = scrubber.text(attempt.error)
    Delivery.objects.bulk_update(attempts, ["error"], batch_size=500)
    changed += len(attempts)
    events = []
    for event in Event.objects.filter(tenant_id=tenant_id).order_by("pk").iterator():
        payload = scrubber.json(event.payload)
        if payload != event.payload:
            event.payload = payload
            events.append(event)
    Event.objects.bulk_update(events, ["payload"], batch_size=500)
    return changed + len(events)


__all__ = [
    "OutboxChannel",
    "audit_add",
    "audit_redact",
    "event_add",
    "heartbeat_write",
    "message_id_for",
    "outbox_add",
    "outbox_redact",
]
