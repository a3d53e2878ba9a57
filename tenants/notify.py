"""Tell a tenant (and its partner) about something, through the outbox, in the caller's transaction.

One call writes: an Event (the partner's feed), an e-mail outbox row per recipient (the tenant's
admins and contact address, in the tenant's language), and a webhook outbox row per active
endpoint of the tenant's partner. Delivery happens later, at least once, from the outbox.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from itertools import islice
from typing import Any

from django.conf import settings

from core import clock
from core.delivery import delivery_ring_on_commit
from core.enums import OutboxChannel
from core.models import Event, Outbox
from core.services import outbox_add
from tenants.enums import Role
from tenants.models import Membership, Tenant, WebhookEndpoint


def dedupe_key(kind: str, key: str, tenant_id: int, tail: str) -> str:
    """The outbox key of one message of one occurrence to one tenant's recipient.

    It names the tenant: one occurrence (a notice posted to every bound tenant) reaches each
    tenant's admins and each tenant's partner webhook, even when two tenants share an address
    or a partner. Keys longer than the column are shortened with a digest of the whole key.
    """
    full = f"{kind}:{key}:tenant:{tenant_id}:{tail}"
    if len(full) <= 255:
        return full
    return f"{full[:190]}:{hashlib.sha256(full.encode()).hexdigest()}"


def notify_tenant(
    *,
    kind: str,
    tenant: Tenant,
    key: str,
    payload: dict[str, Any],
    subject: Any = None,
    email: bool = True,
    webhook: bool = True,
) -> Event:
    """Record an event for `tenant` and queue its e-mails and webhooks.

    `key` identifies the occurrence (e.g. "version:12:posted"); together with the kind and the
    recipient it makes the outbox rows unique, so calling this twice queues nothing new.
    `payload` must be JSON-serialisable (dates as ISO strings).
    """
    events, rows = notification_rows(
        [(kind, tenant, key, payload, subject)], email=email, webhook=webhook
    )
    for _index, row in rows:
        # One by one through outbox_add: a key queued before stays as it is, and delivery
        # is rung on commit.
        outbox_add(
            kind=row.kind,
            channel=row.channel,
            dedupe_key=row.dedupe_key,
            payload=row.payload,
            recipient=row.recipient,
            tenant_id=row.tenant_id,
            partner_id=row.partner_id,
            webhook_endpoint_id=row.webhook_endpoint_id,
            event=row.event,
            locale=row.locale,
        )
    return events[0]


def notify_staff(*, kind: str, key: str, payload: dict[str, Any]) -> None:
    """Queue an e-mail to the legal/ops mailbox (e.g. a lapsed revision, R2)."""
    outbox_add(
        kind=kind,
        channel=OutboxChannel.EMAIL,
        dedupe_key=f"{kind}:{key}:staff",
        payload=payload,
        recipient=settings.TERMS_STAFF_EMAIL,
        locale="ja",
    )


# --- Many tenants at once -----------------------------------------------------------------

# (tenant, key, payload, subject): one occurrence for one tenant, as notify_tenant takes them.
TenantNote = tuple[Tenant, str, dict[str, Any], Any]


def notification_rows(
    entries: Sequence[tuple[str, Tenant, str, dict[str, Any], Any]],
    *,
    email: bool = True,
    webhook: bool = True,
) -> tuple[list[Event], list[tuple[int, Outbox]]]:
    """Write the events for `entries` (kind, tenant, key, payload, subject) and build their outbox rows.

    The rows are exactly those notify_tenant would queue, entry by entry (same dedupe keys,
    recipients, locale and payloads), but found in three queries whatever the number of
    entries: the events (one INSERT), the admins' addresses, the partners' active endpoints.
    The outbox rows are returned unsaved, each with the index of its entry, so the caller
    chooses how a key queued before is treated.
    """
    if not entries:
        return [], []
    now = clock.now()
    bodies = [
        {"tenant_id": tenant.pk, "tenant_name": tenant.name, **payload}
        for _kind, tenant, _key, payload, _subject in entries
    ]
    events = Event.objects.bulk_create(
        [
            Event(
                kind=str(kind),
                tenant_id=tenant.pk,
                partner_id=tenant.partner_id,
                subject_type=subject._meta.label_lower if subject is not None else "",
                subject_id=getattr(subject, "pk", None),
                payload=body,
                occurred_at=now,
            )
            for (kind, tenant, _key, _payload, subject), body in zip(entries, bodies, strict=True)
        ]
    )
    admins: dict[int, list[str]] = defaultdict(list)
    if email:
        for tenant_id, address in (
            Membership.objects.filter(
                tenant_id__in={tenant.pk for _k, tenant, *_rest in entries}, role=Role.ADMIN
            )
            .exclude(user__email="")
            .order_by("tenant_id", "user_id")
            .values_list("tenant_id", "user__email")
        ):
            admins[tenant_id].append(address)
    endpoints: dict[int, list[WebhookEndpoint]] = defaultdict(list)
    partner_ids = {t.partner_id for _k, t, *_rest in entries if t.partner_id is not None}
    if webhook and partner_ids:
        for endpoint in WebhookEndpoint.objects.filter(
            partner_id__in=partner_ids, is_active=True
        ).order_by("pk"):
            endpoints[endpoint.partner_id].append(endpoint)
    rows: list[tuple[int, Outbox]] = []
    for index, ((kind, tenant, key, _payload, _subject), body, event) in enumerate(
        zip(entries, bodies, events, strict=True)
    ):
        kind = str(kind)
        if email:
            emails = list(admins[tenant.pk])
            if tenant.contact_email:
                emails.append(tenant.contact_email)
            for address in dict.fromkeys(e.lower() for e in emails):
                outbox = Outbox(
                    kind=kind,
                    channel=OutboxChannel.EMAIL,
                    dedupe_key=dedupe_key(kind, key, tenant.pk, f"email:{address}"),
                    payload=body,
                    recipient=address,
                    tenant_id=tenant.pk,
                    partner_id=tenant.partner_id,
                    event=event,
                    locale=tenant.locale,
                    next_attempt_at=now,
                )
                rows.append((index, outbox))
        for endpoint in endpoints.get(tenant.partner_id or 0, []):
            if endpoint.event_kinds and kind not in endpoint.event_kinds:
                continue
            outbox = Outbox(
                kind=kind,
                channel=OutboxChannel.WEBHOOK,
                dedupe_key=dedupe_key(kind, key, tenant.pk, f"webhook:{endpoint.pk}"),
                payload={"event_id": event.pk, "kind": kind, "data": body},
                recipient=endpoint.url,
                tenant_id=tenant.pk,
                partner_id=tenant.partner_id,
                webhook_endpoint_id=endpoint.pk,
                event=event,
                next_attempt_at=now,
            )
            rows.append((index, outbox))
    return events, rows


def notify_tenants(
    *,
    kind: str,
    items: Iterable[TenantNote],
    batch_size: int = 1000,
    email: bool = True,
    webhook: bool = True,
) -> int:
    """notify_tenant for every (tenant, key, payload, subject) in `items`, set-based.

    Writes the same events and outbox rows as calling notify_tenant item by item, in batches
    of `batch_size` tenants with four queries per batch (events, admins, endpoints, outbox)
    whatever the batch holds. A dedupe key queued before is skipped (ON CONFLICT DO NOTHING),
    so a second run queues nothing new. Returns the number of tenants notified.
    """
    count = 0
    queued = False
    iterator = iter(items)
    while batch := list(islice(iterator, batch_size)):
        _events, rows = notification_rows(
            [(kind, tenant, key, payload, subject) for tenant, key, payload, subject in batch],
            email=email,
            webhook=webhook,
        )
        if rows:
            # Unique within the statement too, as item-by-item get_or_create would leave it.
            unique: dict[str, Outbox] = {}
            for _index, row in rows:
                unique.setdefault(row.dedupe_key, row)
            Outbox.objects.bulk_create(list(unique.values()), ignore_conflicts=True)
            queued = True
        count += len(batch)
    if queued:
        # As outbox_add does: deliver after the caller's transaction commits.
        delivery_ring_on_commit()
    return count
