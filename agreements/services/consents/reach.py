"""Recording how a revision notice reached a tenant (R3): the portal view and the deliveries
staff record out of band. E-mail needs no record: the outbox already holds it
(agreements.selectors.consents.reach)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from agreements.enums import NoticeRoute, VersionStatus
from agreements.models import NoticeDelivery, TermsVersion
from agreements.rules import minimum_lead_days
from core import clock
from core.enums import AuditAction
from core.errors import Conflict, PermissionDenied, ValidationFailed
from core.services import audit_add
from tenants.authz import Action

if TYPE_CHECKING:
    from tenants.models import Tenant
    from tenants.scope import Scope

# Routes staff may record; e-mail and the portal are recorded by the service itself.
STAFF_ROUTES = (NoticeRoute.POST, NoticeRoute.PHONE, NoticeRoute.PARTNER_RELAY)
_LIVE = (VersionStatus.SCHEDULED, VersionStatus.EFFECTIVE)


def lead_days_for(legal_basis: str) -> int:
    """The minimum lead time of a revision's legal basis, from the settings (R2); the same
    period runs from a late delivery before a silent tenant is deemed to consent (R3)."""
    return minimum_lead_days(
        legal_basis=legal_basis,
        general_days=settings.TERMS_NOTICE_LEAD_DAYS,
        reasonable_days=settings.TERMS_NOTICE_LEAD_DAYS_REASONABLE,
    )


def _add(**fields: object) -> NoticeDelivery | None:
    """Insert one row; None when the tenant × version × route already has one (the earliest
    time counts, so a repeat changes nothing)."""
    try:
        with transaction.atomic():
            return NoticeDelivery.objects.create(**fields)
    except IntegrityError:
        return None


def notice_seen_in_portal(*, scope: Scope, tenant: Tenant, version: TermsVersion) -> bool:
    """The tenant's user opened the notice or review page of a posted version (R3).

    Only the tenant's own members count (staff looking at the page are not the tenant's
    knowledge). Returns True when this was the first portal view recorded.
    """
    if scope.tenant_id != tenant.pk or scope.is_staff or version.posted_at is None:
        return False
    if version.status not in _LIVE:
        return False
    row = _add(tenant=tenant, version=version, route=NoticeRoute.PORTAL, reached_at=clock.now())
    return row is not None


@transaction.atomic
def notice_delivery_record(
    *,
    scope: Scope,
    tenant: Tenant,
    version: TermsVersion,
    route: str,
    reached_on: date,
    note: str,
) -> NoticeDelivery:
    """Staff record an out-of-band delivery of a posted notice (post, phone, a partner's
    confirmed relay) with the day it reached the tenant (R3), audited.

    Refused for a route the service records itself, a day in the future or before the
    posting, a version not posted or no longer live, and without a note saying what proves
    it. The delivery counts from 00:00 JST of `reached_on` (the day is what staff know).
    """
    if not (scope.is_staff and scope.may(Action.DECIDE)):
        raise PermissionDenied(_("この操作は当社スタッフだけが行えます。"), code="staff_only")
    if route not in STAFF_ROUTES:
        raise ValidationFailed(_("到達の方法を選択してください。"), code="route_invalid")
    if not (note or "").strip():
        raise ValidationFailed(
            _("到達を確認した内容（郵送の記録、通話の相手と日時など）を入力してください。"),
            code="note_required",
        )
    if version.posted_at is None or version.status not in _LIVE:
        raise Conflict(_("掲示されていない版のお知らせです。"), code="version_not_posted")
    if reached_on > clock.today() or reached_on < clock.business_date(version.posted_at):
        raise ValidationFailed(
            _("到達日は掲示日から本日までの日付にしてください。"), code="reached_on_invalid"
        )
    reached_at = max(clock.start_of_day(reached_on), version.posted_at)
    row = _add(
        tenant=tenant,
        version=version,
        route=route,
        reached_at=reached_at,
        recorded_by=scope.user,
        note=note.strip()[:500],
    )
    if row is None:
        raise Conflict(
            _("この方法による到達はすでに記録されています。"), code="delivery_already_recorded"
        )
    audit_add(
        actor=scope.user,
        action=AuditAction.CREATE,
        obj=row,
        summary=f"notice of {version.label} reached tenant {tenant.pk} by {route} on {reached_on}",
        data={"route": route, "reached_on": reached_on.isoformat(), "version": version.pk},
        tenant_id=tenant.pk,
    )
    return row
