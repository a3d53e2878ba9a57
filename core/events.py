"""The one shape of an event, as the feed, `GET /events/{id}` and webhook deliveries show it.

    {"id": 981, "kind": "consent.answer_recorded", "api_version": "2026-12-01",
     "occurred_at": "2025-03-10T14:05:00+09:00",
     "tenant": {"id": 42, "name": "…"}, "subject": {"type": "contract", "id": 7},
     "data": {...}}

`tenant` and `subject` are null when the event has none; instants are RFC 3339 in Japan time
(clock.api_instant). A webhook delivery's body is this envelope, queued with the outbox row.
"""

from __future__ import annotations

from typing import Any

from core import clock
from core.enums import EVENT_API_VERSION
from core.models import Event


def subject_type_name(subject_type: str) -> str:
    """The API name of a stored subject type: "agreements.contract" → "contract"."""
    return subject_type.rpartition(".")[2]


def event_envelope(event: Event) -> dict[str, Any]:
    payload = event.payload if isinstance(event.payload, dict) else {}
    tenant = (
        {"id": event.tenant_id, "name": payload.get("tenant_name", "")}
        if event.tenant_id is not None
        else None
    )
    subject = (
        {"type": subject_type_name(event.subject_type), "id": event.subject_id}
        if event.subject_type and event.subject_id is not None
        else None
    )
    return {
        "id": event.pk,
        "kind": str(event.kind),
        "api_version": EVENT_API_VERSION,
        "occurred_at": clock.api_instant(event.occurred_at),
        "tenant": tenant,
        "subject": subject,
        "data": payload,
    }
