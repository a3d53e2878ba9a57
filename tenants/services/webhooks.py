"""Partners' webhook endpoints: register, update, delete, disable and enable, rotate the secret,
send a test event, resend a delivery."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from core import clock
from core.enums import SUBSCRIBABLE_EVENT_KINDS, AuditAction, EventKind, OutboxChannel, OutboxStatus
from core.errors import Conflict, PermissionDenied
from core.events import event_envelope
from core.masking import holds_masked_secret
from core.models import Outbox
from core.outbox import delivery_ring_on_commit
from core.services import event_add, outbox_add
from tenants import selectors
from tenants.delivery.destinations import DestinationRefused, destination_check
from tenants.delivery.outbox import outbox_requeue
from tenants.models import Partner, WebhookEndpoint
from tenants.scope import Scope
from tenants.services.base import audit, invalid, require_write
from tenants.webhooks import earlier_secrets_live

# A rotated-out webhook secret keeps signing for this long so receivers can switch over.
WEBHOOK_SECRET_GRACE = timedelta(hours=24)
# Secrets that sign a delivery at once: the current one and up to four rotated away within
# the last 24 hours (each a `v1=` in X-Terms-Signature).
MAX_SIGNING_SECRETS = 5
MAX_WEBHOOKS = 10  # active endpoints per partner
WEBHOOK_SECRET_PREFIX = "whsec_"  # noqa: S105 -- a label, not a secret


def _clean_webhook_url(url: str) -> str:
    value = (url or "").strip()
    try:
        URLValidator(schemes=["http", "https"])(value)
    except DjangoValidationError:
        raise invalid({"url": [_("URLの形式が正しくありません。")]}) from None
    if len(value) > 500:
        raise invalid({"url": [_("URLは500文字以内で入力してください。")]})
    parts = urlsplit(value)
    if parts.username is not None or parts.password is not None:
        # docs/api.md, Webhooks: user@host hides where the request goes.
        raise invalid({"url": [_("URLにユーザー名やパスワードを含めることはできません。")]})
    try:
        port = parts.port  # ValueError beyond 65535
    except ValueError:
        port = -1
    if port is not None and not 1 <= port <= 65535:
        # Port 0 is no port a receiver listens on (it was read as the scheme's default).
        raise invalid({"url": [_("ポート番号は1から65535までで指定してください。")]})
    try:
        destination_check(value)
    except DestinationRefused as exc:
        if exc.code == "https_required":
            raise invalid({"url": [_("https のURLを指定してください。")]}, code=exc.code) from None
        if exc.code == "address_forbidden":
            # Loopback, private, link-local (cloud metadata), multicast or reserved: the
            # service would be posting into its own network (docs/security.md, webhooks).
            raise invalid(
                {
                    "url": [
                        _(
                            "このURLの宛先はインターネット上の公開アドレスではないため登録できません。"
                        )
                    ]
                },
                code=exc.code,
            ) from None
        if exc.code != "unresolvable":
            raise invalid({"url": [_("URLの形式が正しくありません。")]}) from None
        # A name that does not resolve yet is accepted: every delivery checks it again and
        # connects only to a public address it resolved to.
    return value


def _clean_event_kinds(kinds: Iterable[str]) -> list[str]:
    """The kinds an endpoint subscribes to: only kinds that reach a partner. A kind that never
    does (or no kind at all) is refused, rather than accepted and then never delivered."""
    values = [str(k) for k in kinds]
    unknown = sorted(set(values) - set(SUBSCRIBABLE_EVENT_KINDS))
    if unknown:
        raise invalid(
            {
                "event_kinds": [
                    _("購読できないイベント種別です: %(kinds)s") % {"kinds": ", ".join(unknown)}
                ]
            },
            code="event_kind_not_subscribable",
        )
    return sorted(set(values))


def _check_limit(partner_id: int) -> None:
    """Refuse one more active endpoint beyond MAX_WEBHOOKS (the caller holds the partner lock)."""
    if (
        WebhookEndpoint.objects.filter(partner_id=partner_id, is_active=True).count()
        >= MAX_WEBHOOKS
    ):
        raise Conflict(
            _("有効なWebhookは%(max)d件までです。不要なものを無効化してください。")
            % {"max": MAX_WEBHOOKS},
            code="webhook_limit",
        )


def _new_webhook_secret() -> str:
    return WEBHOOK_SECRET_PREFIX + secrets.token_urlsafe(32)


def _webhook_owner(scope: Scope, partner: Partner | None) -> Partner:
    if scope.is_privileged:
        if partner is None:
            raise invalid({"partner": [_("パートナーを指定してください。")]})
        return selectors.partner_get(scope=scope, pk=partner.pk)
    if not scope.is_partner:
        raise PermissionDenied(_("Webhookを登録する権限がありません。"))
    require_write(scope)
    if partner is not None and partner.pk != scope.partner_id:
        raise PermissionDenied(
            _("他のパートナーのWebhookは登録できません。"), code="partner_mismatch"
        )
    return Partner.objects.get(pk=cast(int, scope.partner_id))


@transaction.atomic
def webhook_register(
    *, scope: Scope, url: str, event_kinds: Iterable[str] = (), partner: Partner | None = None
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint for the partner's events (all kinds when `event_kinds` is empty).
    https is required unless DEBUG. Returns the endpoint and its signing secret, shown once."""
    owner = _webhook_owner(scope, partner)
    clean_url = _clean_webhook_url(url)
    kinds = _clean_event_kinds(event_kinds)
    # Every event fans out to every endpoint: bound the fan-out per partner. The partner row
    # lock makes the count exact under concurrent registrations.
    Partner.objects.select_for_update().filter(pk=owner.pk).first()
    _check_limit(owner.pk)
    secret = _new_webhook_secret()
    endpoint = WebhookEndpoint.objects.create(
        partner=owner, url=clean_url, secret=secret, event_kinds=kinds
    )
    audit(
        scope,
        action=AuditAction.CREATE,
        obj=endpoint,
        summary=clean_url,
        data={"partner_id": owner.pk, "event_kinds": kinds},
    )
    return endpoint, secret


def _webhook_for_change(scope: Scope, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    found = selectors.webhook_get(scope=scope, pk=endpoint.pk)
    require_write(scope)
    return WebhookEndpoint.objects.select_for_update().get(pk=found.pk)


@transaction.atomic
def webhook_rotate_secret(
    *, scope: Scope, endpoint: WebhookEndpoint
) -> tuple[WebhookEndpoint, str]:
    """A new signing secret, returned once. The secret it replaces keeps signing (as another
    `v1=`) for 24 hours so the receiver can switch without rejecting deliveries; a secret
    rotated away earlier keeps signing until its own expiry, whatever rotations follow. At
    most MAX_SIGNING_SECRETS sign at once: a rotation beyond is refused (409
    `secret_rotation_limit`) until the oldest expires."""
    locked = _webhook_for_change(scope, endpoint)
    if not locked.is_active:
        raise Conflict(
            _("無効化されたWebhookのシークレットは更新できません。"), code="webhook_disabled"
        )
    now = clock.now()
    earlier = [
        {"secret": secret, "expires_at": until.isoformat()}
        for secret, until in earlier_secrets_live(locked, at=now)
    ]
    expires = locked.previous_secret_expires_at
    if locked.previous_secret and expires is not None and now < expires:
        earlier.insert(0, {"secret": locked.previous_secret, "expires_at": expires.isoformat()})
    if len(earlier) + 2 > MAX_SIGNING_SECRETS:
        raise Conflict(
            _(
                "署名に使われているシークレットが上限（%(n)s個）に達しています。最も古いシークレットの期限（%(at)s）の後に、もう一度お試しください。"
            )
            % {
                "n": MAX_SIGNING_SECRETS,
                "at": clock.api_instant(datetime.fromisoformat(earlier[-1]["expires_at"])),
            },
            code="secret_rotation_limit",
        )
    secret = _new_webhook_secret()
    locked.earlier_secrets = earlier
    locked.previous_secret = locked.secret
    locked.previous_secret_expires_at = now + WEBHOOK_SECRET_GRACE
    locked.secret = secret
    locked.save(
        update_fields=[
            "secret",
            "previous_secret",
            "previous_secret_expires_at",
            "earlier_secrets",
            "updated_at",
        ]
    )
    audit(scope, action=AuditAction.UPDATE, obj=locked, summary="secret rotated")
    return locked, secret


@transaction.atomic
def webhook_disable(*, scope: Scope, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Stop deliveries to the endpoint; disabling a disabled endpoint changes nothing."""
    locked = _webhook_for_change(scope, endpoint)
    if not locked.is_active:
        return locked
    locked.is_active = False
    locked.disabled_at = clock.now()
    locked.save(update_fields=["is_active", "disabled_at", "updated_at"])
    audit(scope, action=AuditAction.UPDATE, obj=locked, summary="disabled")
    return locked


def _require_active(endpoint: WebhookEndpoint) -> None:
    if not endpoint.is_active:
        raise Conflict(
            _("無効化されたWebhookです。先に有効化してください。"), code="webhook_disabled"
        )


@transaction.atomic
def webhook_enable(*, scope: Scope, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Resume deliveries to a disabled endpoint, with its secret kept; its URL is checked again
    (https, public address) and the active-endpoint limit applies. Enabling an active endpoint
    changes nothing. Messages given up on while it was disabled can be resent one by one."""
    found = selectors.webhook_get(scope=scope, pk=endpoint.pk)
    require_write(scope)
    Partner.objects.select_for_update().filter(pk=found.partner_id).first()
    locked = WebhookEndpoint.objects.select_for_update().get(pk=found.pk)
    if locked.is_active:
        return locked
    _clean_webhook_url(locked.url)
    _check_limit(locked.partner_id)
    locked.is_active = True
    locked.disabled_at = None
    locked.save(update_fields=["is_active", "disabled_at", "updated_at"])
    audit(scope, action=AuditAction.UPDATE, obj=locked, summary="enabled")
    return locked


@transaction.atomic
def webhook_update(
    *,
    scope: Scope,
    endpoint: WebhookEndpoint,
    url: str | None = None,
    event_kinds: Iterable[str] | None = None,
) -> WebhookEndpoint:
    """Change the URL (checked as at registration) and/or the subscribed kinds (empty: all).
    Messages already queued keep the URL they were queued for only as a label: each delivery
    posts to the endpoint's URL at the time of the attempt."""
    locked = _webhook_for_change(scope, endpoint)
    changes: dict[str, Any] = {}
    if url is not None:
        clean_url = _clean_webhook_url(url)
        if clean_url != locked.url:
            changes["url"] = [locked.url, clean_url]
            locked.url = clean_url
    if event_kinds is not None:
        kinds = _clean_event_kinds(event_kinds)
        if kinds != sorted(locked.event_kinds or []):
            changes["event_kinds"] = [locked.event_kinds, kinds]
            locked.event_kinds = kinds
    if not changes:
        return locked
    locked.save(update_fields=[*sorted(changes), "updated_at"])
    audit(
        scope,
        action=AuditAction.UPDATE,
        obj=locked,
        summary=", ".join(sorted(changes)),
        data={"changes": changes},
    )
    return locked


@transaction.atomic
def webhook_delete(*, scope: Scope, endpoint: WebhookEndpoint) -> None:
    """Remove the endpoint and its secrets. Its messages stay as records (their attempts
    included); any not yet delivered are given up on at their next attempt."""
    locked = _webhook_for_change(scope, endpoint)
    audit(
        scope,
        action=AuditAction.REMOVE,
        obj=locked,
        summary=locked.url,
        data={"partner_id": locked.partner_id, "event_kinds": locked.event_kinds},
    )
    locked.delete()


@transaction.atomic
def webhook_send_test(*, scope: Scope, endpoint: WebhookEndpoint) -> Outbox:
    """Queue a `webhook.test` event to this endpoint only (whatever kinds it subscribes to),
    signed and delivered like any other; the event is in the partner's feed. Returns the
    queued message, whose attempts `webhook_deliveries` lists."""
    locked = _webhook_for_change(scope, endpoint)
    _require_active(locked)
    event = event_add(
        kind=EventKind.WEBHOOK_TEST,
        tenant_id=None,
        partner_id=locked.partner_id,
        subject=locked,
        payload={"webhook_id": locked.pk, "url": locked.url},
    )
    row = outbox_add(
        kind=EventKind.WEBHOOK_TEST,
        channel=OutboxChannel.WEBHOOK,
        dedupe_key=f"{EventKind.WEBHOOK_TEST}:{event.pk}:webhook:{locked.pk}",
        payload=event_envelope(event),
        recipient=locked.url,
        partner_id=locked.partner_id,
        webhook_endpoint_id=locked.pk,
        event=event,
    )
    audit(scope, action=AuditAction.CREATE, obj=locked, summary=f"test event {event.pk}")
    return cast(Outbox, row)  # a new event's key is new: the row was created


# A message that may be sent again on request: delivered, waiting for a retry, or given up on.
RESENDABLE = (OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.DEAD)


@transaction.atomic
def webhook_delivery_resend(*, scope: Scope, endpoint: WebhookEndpoint, delivery: Outbox) -> Outbox:
    """Queue one message of the endpoint for another attempt now (same event id and body,
    signed afresh), with a fresh allowance of attempts. A message still queued is a 409
    (`delivery_pending`); so is one to a disabled endpoint (`webhook_disabled`)."""
    found = selectors.webhook_delivery_get(scope=scope, endpoint=endpoint, pk=delivery.pk)
    locked_endpoint = _webhook_for_change(scope, endpoint)
    _require_active(locked_endpoint)
    row = Outbox.objects.select_for_update().get(pk=found.pk)
    if row.status not in RESENDABLE or holds_masked_secret(row.payload):
        raise Conflict(
            _("この配信はまだ送信待ちか、再送できない状態です。"), code="delivery_pending"
        )
    previous = outbox_requeue(row, now=clock.now())
    audit(
        scope,
        action=AuditAction.RETRY,
        obj=row,
        tenant_id=row.tenant_id,
        summary=f"resend {row.kind} to webhook {locked_endpoint.pk}",
        data={"previous_status": previous},
    )
    delivery_ring_on_commit()
    found.status = row.status
    found.attempts = row.attempts
    found.next_attempt_at = row.next_attempt_at
    return found
