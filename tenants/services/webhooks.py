"""Partners' webhook endpoints: registration, secret rotation, disabling."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import timedelta
from typing import cast

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from core import clock
from core.enums import AuditAction, EventKind
from core.errors import Conflict, PermissionDenied
from tenants import selectors
from tenants.delivery.destinations import DestinationRefused, destination_check
from tenants.models import Partner, WebhookEndpoint
from tenants.scope import Scope
from tenants.services.base import audit, invalid, require_write

# A rotated-out webhook secret keeps signing for this long so receivers can switch over.
WEBHOOK_SECRET_GRACE = timedelta(hours=24)
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
    values = [str(k) for k in kinds]
    unknown = sorted(set(values) - set(EventKind.values))
    if unknown:
        raise invalid(
            {"event_kinds": [_("不明なイベント種別: %(kinds)s") % {"kinds": ", ".join(unknown)}]}
        )
    return sorted(set(values))


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
    if WebhookEndpoint.objects.filter(partner=owner, is_active=True).count() >= MAX_WEBHOOKS:
        raise Conflict(
            _("有効なWebhookは%(max)d件までです。不要なものを無効化してください。")
            % {"max": MAX_WEBHOOKS},
            code="webhook_limit",
        )
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
    """A new signing secret, returned once. The previous secret keeps signing (as a second
    `v1=`) for 24 hours so the receiver can switch without rejecting deliveries."""
    locked = _webhook_for_change(scope, endpoint)
    if not locked.is_active:
        raise Conflict(
            _("無効化されたWebhookのシークレットは更新できません。"), code="webhook_disabled"
        )
    secret = _new_webhook_secret()
    locked.previous_secret = locked.secret
    locked.previous_secret_expires_at = clock.now() + WEBHOOK_SECRET_GRACE
    locked.secret = secret
    locked.save(
        update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"]
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
