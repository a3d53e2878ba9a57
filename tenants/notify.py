"""Tell a tenant (and its partner) about something, through the outbox, in the caller's transaction.

One call writes: an Event (the partner's feed), an e-mail outbox row per recipient (the tenant's
admins and contact address, in the tenant's language), and a webhook outbox row per active
endpoint of the tenant's partner. Delivery happens later, at least once, from the outbox.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from core.enums import OutboxChannel
from core.models import Event
from core.services import event_add, outbox_add
from tenants.enums import Role
from tenants.models import Membership, Tenant, WebhookEndpoint


def tenant_recipients(tenant: Tenant) -> list[str]:
    """The tenant's admins and its contact address, deduplicated, in a stable order."""
    emails = list(
        Membership.objects.filter(tenant=tenant, role=Role.ADMIN)
        .exclude(user__email="")
        .order_by("user_id")
        .values_list("user__email", flat=True)
    )
    if tenant.contact_email:
        emails.append(tenant.contact_email)
    return list(dict.fromkeys(e.lower() for e in emails))


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
    body = {"tenant_id": tenant.pk, "tenant_name": tenant.name, **payload}
    event = event_add(
        kind=kind, tenant_id=tenant.pk, partner_id=tenant.partner_id, subject=subject, payload=body
    )
    if email:
        for address in tenant_recipients(tenant):
            outbox_add(
                kind=kind,
                channel=OutboxChannel.EMAIL,
                dedupe_key=f"{kind}:{key}:email:{address}",
                payload=body,
                recipient=address,
                tenant_id=tenant.pk,
                partner_id=tenant.partner_id,
                event=event,
                locale=tenant.locale,
            )
    if webhook and tenant.partner_id is not None:
        for endpoint in WebhookEndpoint.objects.filter(
            partner_id=tenant.partner_id, is_active=True
        ):
            if endpoint.event_kinds and kind not in endpoint.event_kinds:
                continue
            outbox_add(
                kind=kind,
                channel=OutboxChannel.WEBHOOK,
                dedupe_key=f"{kind}:{key}:webhook:{endpoint.pk}",
                payload={"event_id": event.pk, "kind": kind, "data": body},
                recipient=endpoint.url,
                tenant_id=tenant.pk,
                partner_id=tenant.partner_id,
                webhook_endpoint_id=endpoint.pk,
                event=event,
            )
    return event


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
