"""Reads of partners, keys, tenants, memberships, invitations and webhooks, built from a Scope.

An object outside the caller's reach is NotFound, never PermissionDenied: a partner cannot
learn that another partner's tenant exists (docs/security.md: another caller's object → 404).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from core.enums import OutboxChannel
from core.errors import NotFound, PermissionDenied
from core.models import Delivery, Event, Outbox
from tenants.enums import InvitationStatus
from tenants.models import (
    Invitation,
    Membership,
    NotificationContact,
    Partner,
    PartnerAPIKey,
    Tenant,
    WebhookEndpoint,
)
from tenants.rules import CORPORATE_NUMBER_LENGTH, normalize_corporate_number
from tenants.scope import Scope

_MESSAGES = {
    "partner": _("パートナーが見つかりません。"),
    "key": _("APIキーが見つかりません。"),
    "tenant": _("テナントが見つかりません。"),
    "membership": _("メンバーが見つかりません。"),
    "invitation": _("招待が見つかりません。"),
    "webhook": _("Webhookエンドポイントが見つかりません。"),
    "event": _("イベントが見つかりません。"),
    "delivery": _("配信が見つかりません。"),
    "notification_contact": _("通知の連絡先が見つかりません。"),
}


def _not_found(what: str) -> NotFound:
    return NotFound(_MESSAGES[what])


# --- partners ---------------------------------------------------------------------------------


def partner_list(*, scope: Scope) -> QuerySet[Partner]:
    """All partners for staff; a partner sees only itself; nobody else sees partners."""
    qs = Partner.objects.order_by("name", "pk")
    if scope.is_privileged:
        # Sandboxes are the partners' test data, not partners (docs/api.md, "Sandbox").
        return qs.filter(sandbox_of__isnull=True)
    if scope.is_partner:
        return qs.filter(pk=scope.partner_id)
    raise PermissionDenied(_("パートナーの一覧を参照する権限がありません。"))


def partner_get(*, scope: Scope, pk: int | str) -> Partner:
    try:
        return partner_list(scope=scope).get(pk=pk)
    except (Partner.DoesNotExist, ValueError, TypeError):
        raise _not_found("partner") from None
    except PermissionDenied:
        raise _not_found("partner") from None


def partner_key_list(*, scope: Scope, partner: Partner) -> QuerySet[PartnerAPIKey]:
    """The partner's keys, newest first (hashes are never shown, only prefixes)."""
    partner = partner_get(scope=scope, pk=partner.pk)
    return PartnerAPIKey.objects.filter(partner=partner).order_by("-created_at", "-pk")


def partner_key_get(*, scope: Scope, pk: int | str) -> PartnerAPIKey:
    qs = PartnerAPIKey.objects.select_related("partner")
    if not scope.is_privileged:
        if not scope.is_partner:
            raise _not_found("key")
        qs = qs.filter(partner_id=scope.partner_id)
    try:
        return qs.get(pk=pk)
    except (PartnerAPIKey.DoesNotExist, ValueError, TypeError):
        raise _not_found("key") from None


# --- tenants ----------------------------------------------------------------------------------


def _search_q(search: str) -> Q:
    """Name (partial, case-insensitive), 法人番号 (as typed, full-width too), id or external ref."""
    term = search.strip()
    q = Q(name__icontains=term) | Q(external_ref=term)
    digits = normalize_corporate_number(term)
    if digits.isascii() and digits.isdigit():
        if len(digits) == CORPORATE_NUMBER_LENGTH:
            q |= Q(corporate_number=digits)
        elif len(digits) <= 18:  # fits a bigint primary key
            q |= Q(pk=int(digits))
    return q


def tenant_list(
    *,
    scope: Scope,
    updated_since: datetime | None = None,
    search: str | None = None,
    external_ref: str | None = None,
    corporate_number: str | None = None,
) -> QuerySet[Tenant]:
    """Tenants in reach. With `updated_since`, changes at or after that instant oldest first (a
    feed: a change at the very instant of the last one seen is not lost, which matters on a
    sandbox's clock, standing still between advances);
    otherwise by name. `external_ref` and `corporate_number` match exactly (tenant_lookup)."""
    qs = scope.tenants(Tenant.objects.select_related("partner"))
    if scope.is_privileged:
        qs = qs.filter(partner__sandbox_of__isnull=True)  # staff lists and counts: live only
    if search and search.strip():
        qs = qs.filter(_search_q(search))
    qs = qs.filter(_identifier_q(external_ref=external_ref, corporate_number=corporate_number))
    if updated_since is not None:
        return qs.filter(updated_at__gte=updated_since).order_by("updated_at", "pk")
    return qs.order_by("name", "pk")


def _identifier_q(*, external_ref: str | None, corporate_number: str | None) -> Q:
    q = Q()
    if external_ref:
        q &= Q(external_ref=external_ref)
    if corporate_number:
        q &= Q(corporate_number=normalize_corporate_number(corporate_number))
    return q


def tenant_lookup(
    *, scope: Scope, external_ref: str | None = None, corporate_number: str | None = None
) -> QuerySet[Tenant]:
    """The tenants in the caller's reach with this partner-side identifier and/or 法人番号
    (typed as people type it), by id. A partner's identifiers are unique among its tenants,
    so a partner finds at most one; a product reaches the tenants with a contract for it, and
    those may belong to several partners (each with its own `external_ref`); staff all."""
    if not external_ref and not corporate_number:
        return Tenant.objects.none()
    q = _identifier_q(external_ref=external_ref, corporate_number=corporate_number)
    return scope.tenants(Tenant.objects.filter(q)).order_by("pk")


def tenant_get(*, scope: Scope, pk: int | str) -> Tenant:
    """The tenant if the caller may see it, else NotFound."""
    try:
        return scope.tenants(Tenant.objects.select_related("partner")).get(pk=pk)
    except (Tenant.DoesNotExist, ValueError, TypeError):
        raise _not_found("tenant") from None


def tenant_same_corporate_number(*, scope: Scope, tenant: Tenant) -> list[Tenant]:
    """Staff only: the other tenants with this tenant's 法人番号 (under another partner, or
    direct), so staff notice one company held twice. Empty for everyone else: a partner must
    not learn that a company is another partner's customer (docs/security.md)."""
    if not scope.is_privileged or not tenant.corporate_number:
        return []
    return list(
        Tenant.objects.filter(corporate_number=tenant.corporate_number)
        .exclude(pk=tenant.pk)
        .select_related("partner")
        .order_by("pk")
    )


# --- memberships and invitations --------------------------------------------------------------


def membership_list(*, scope: Scope, tenant: Tenant) -> QuerySet[Membership]:
    """The tenant's members, admins first."""
    tenant = tenant_get(scope=scope, pk=tenant.pk)
    return (
        Membership.objects.filter(tenant=tenant)
        .select_related("user")
        .order_by("role", "user__email", "pk")  # "admin" sorts before "viewer"
    )


def membership_get(*, scope: Scope, pk: int | str) -> Membership:
    qs = scope.owned(Membership.objects.select_related("user", "tenant"))
    try:
        return qs.get(pk=pk)
    except (Membership.DoesNotExist, ValueError, TypeError):
        raise _not_found("membership") from None


def memberships_for_user(user: Any) -> QuerySet[Membership]:
    """The user's memberships in active tenants, for the portal's tenant switcher."""
    if user is None or not getattr(user, "is_authenticated", False):
        return Membership.objects.none()
    return (
        Membership.objects.filter(user=user, tenant__is_active=True)
        .select_related("tenant")
        .order_by("tenant__name", "tenant_id")
    )


def invitation_list(
    *, scope: Scope, tenant: Tenant, status: str | None = InvitationStatus.PENDING
) -> QuerySet[Invitation]:
    tenant = tenant_get(scope=scope, pk=tenant.pk)
    qs = Invitation.objects.filter(tenant=tenant).order_by("-created_at", "-pk")
    return qs.filter(status=status) if status else qs


def notification_contact_list(*, scope: Scope, tenant: Tenant) -> QuerySet[NotificationContact]:
    """The tenant's further notification contacts (beside its admins and contact address)."""
    tenant = tenant_get(scope=scope, pk=tenant.pk)
    return NotificationContact.objects.filter(tenant=tenant).order_by("created_at", "pk")


def notification_contact_get(*, scope: Scope, tenant: Tenant, pk: int | str) -> NotificationContact:
    try:
        return notification_contact_list(scope=scope, tenant=tenant).get(pk=pk)
    except (NotificationContact.DoesNotExist, ValueError, TypeError):
        raise _not_found("notification_contact") from None


def invitation_get(*, scope: Scope, pk: int | str) -> Invitation:
    qs = scope.owned(Invitation.objects.select_related("tenant"))
    try:
        return qs.get(pk=pk)
    except (Invitation.DoesNotExist, ValueError, TypeError):
        raise _not_found("invitation") from None


# --- webhooks ---------------------------------------------------------------------------------


def webhook_list(*, scope: Scope, partner: Partner | None = None) -> QuerySet[WebhookEndpoint]:
    """A partner's endpoints (staff: any partner's, or all)."""
    qs = WebhookEndpoint.objects.select_related("partner").order_by("pk")
    if scope.is_privileged:
        return qs.filter(partner=partner) if partner is not None else qs
    if not scope.is_partner or (partner is not None and partner.pk != scope.partner_id):
        raise _not_found("webhook")
    return qs.filter(partner_id=scope.partner_id)


def webhook_get(*, scope: Scope, pk: int | str) -> WebhookEndpoint:
    qs = WebhookEndpoint.objects.select_related("partner")
    if not scope.is_privileged:
        if not scope.is_partner:
            raise _not_found("webhook")
        qs = qs.filter(partner_id=scope.partner_id)
    try:
        return qs.get(pk=pk)
    except (WebhookEndpoint.DoesNotExist, ValueError, TypeError):
        raise _not_found("webhook") from None


def webhook_deliveries(*, scope: Scope, endpoint: WebhookEndpoint) -> QuerySet[Outbox]:
    """The messages queued for one endpoint (one per event), newest first, each with its
    attempts (`attempt_list`, oldest first; two queries per page)."""
    found = webhook_get(scope=scope, pk=endpoint.pk)
    return (
        Outbox.objects.filter(channel=OutboxChannel.WEBHOOK, webhook_endpoint_id=found.pk)
        .prefetch_related(
            Prefetch(
                "deliveries",
                queryset=Delivery.objects.order_by("attempt"),
                to_attr="attempt_list",
            )
        )
        .order_by("-id")
    )


def webhook_delivery_get(*, scope: Scope, endpoint: WebhookEndpoint, pk: int | str) -> Outbox:
    """One message of the endpoint's (NotFound for another endpoint's, or another partner's)."""
    try:
        return webhook_deliveries(scope=scope, endpoint=endpoint).get(pk=pk)
    except (Outbox.DoesNotExist, ValueError, TypeError):
        raise _not_found("delivery") from None


# --- events -----------------------------------------------------------------------------------


def event_feed(
    *,
    scope: Scope,
    after: int | None = None,
    tenant_id: int | None = None,
    kinds: Iterable[str] = (),
) -> QuerySet[Event]:
    """Events of the caller's tenants, oldest first: a partner its own, staff all live ones.

    Staff lists leave sandboxes out (docs/api.md, "Sandbox"): neither a sandbox partner's
    events nor the product's events about a sandbox tenant (those carry no partner) are in
    the staff feed; `event_get` still finds one by id. `after` continues a feed from the last
    event id the caller has seen (uses the (partner_id, id) index). `tenant_id` names one of
    the caller's tenants: another partner's, or one that does not exist, is NotFound, as in
    every list filtered by tenant (the same answer for both, docs/api.md "Filters").
    """
    qs = _events_seen_by(scope)
    if not scope.is_partner:
        qs = qs.exclude(
            partner_id__in=Partner.objects.filter(sandbox_of__isnull=False).values("pk")
        ).exclude(
            tenant_id__in=Tenant.objects.filter(partner__sandbox_of__isnull=False).values("pk")
        )
    if after is not None:
        qs = qs.filter(id__gt=after)
    if tenant_id is not None:
        tenant_get(scope=scope, pk=tenant_id)
        qs = qs.filter(tenant_id=tenant_id)
    kinds = list(kinds)
    if kinds:
        qs = qs.filter(kind__in=kinds)
    return qs.order_by("id")


def _events_seen_by(scope: Scope) -> QuerySet[Event]:
    """A partner's own events, or for staff every event."""
    if scope.is_partner:
        return Event.objects.filter(partner_id=scope.partner_id)
    if not scope.is_privileged:
        raise PermissionDenied(_("イベントはパートナーと当社スタッフが参照できます。"))
    return Event.objects.all()


def event_get(*, scope: Scope, pk: int | str) -> Event:
    """One event the caller may read (NotFound for another partner's); for staff also a
    sandbox's, as a sandbox row's own page stays open."""
    try:
        return _events_seen_by(scope).get(pk=pk)
    except (Event.DoesNotExist, ValueError, TypeError):
        raise _not_found("event") from None


def sandbox_instant(partner_id: int) -> datetime | None:
    """A sandbox partner's clock, read fresh (keys are cached, the clock moves); None for a
    live partner (docs/api.md, "Sandbox")."""
    return (
        Partner.objects.filter(pk=partner_id, sandbox_of__isnull=False)
        .values_list("sandbox_now", flat=True)
        .first()
    )
