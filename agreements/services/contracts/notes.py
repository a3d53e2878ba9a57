"""Notifications in bulk: the set-based notify_tenant the contract and job services share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from core import clock
from core.enums import OutboxChannel
from core.models import Outbox
from core.outbox import delivery_ring_on_commit
from tenants.models import Tenant
from tenants.notify import notification_rows

# --- Notifications in bulk ----------------------------------------------------------------


@dataclass
class Note:
    """One notification to a tenant; `key` identifies the occurrence (see notify_tenant)."""

    kind: str
    tenant: Tenant
    key: str
    payload: dict[str, Any]
    subject: Any = None


def notify_many(notes: Sequence[Note], *, staff: Sequence[Note] = ()) -> list[int | None]:
    """notify_tenant for many tenants at once, in a constant number of queries.

    Writes exactly what tenants.notify.notify_tenant / notify_staff write (the same event,
    recipients, dedupe keys and payloads). Returns, per note, the id of the first outbox
    row queued for it (an e-mail, else a webhook), or None when the tenant has no recipient:
    the delivery reference a termination stores (R14).
    """
    # One implementation of "what notify_tenant writes", shared with notify_tenants.
    _events, rows = notification_rows(
        [(note.kind, note.tenant, note.key, note.payload, note.subject) for note in notes]
    )
    now = clock.now()
    for note in staff:
        rows.append(
            (
                -1,
                Outbox(
                    kind=str(note.kind),
                    channel=OutboxChannel.EMAIL,
                    dedupe_key=f"{note.kind}:{note.key}:staff",
                    payload=note.payload,
                    recipient=settings.TERMS_STAFF_EMAIL,
                    locale="ja",
                    next_attempt_at=now,
                ),
            )
        )
    # A key queued before stays queued once (outbox_add's get_or_create); PostgreSQL refuses
    # one statement touching a row twice, so repeated keys are dropped here first.
    unique: dict[str, tuple[int, Outbox]] = {}
    for index, row in rows:
        unique.setdefault(row.dedupe_key, (index, row))
    if unique:
        Outbox.objects.bulk_create(
            [row for _, row in unique.values()],
            update_conflicts=True,
            unique_fields=["dedupe_key"],
            update_fields=["updated_at"],
        )
        delivery_ring_on_commit()  # as outbox_add does: deliver once this commits
    first: list[int | None] = [None] * len(notes)
    for index, row in unique.values():
        if index >= 0 and first[index] is None:
            first[index] = row.pk
    return first
