"""How a revision notice reached each tenant (R3), read set-based.

Two sources, one answer: the outbox (an e-mail about the version to one of the tenant's
recipients that was sent; a dead-lettered or cancelled message never reached anyone) and
NoticeDelivery rows (the portal, and deliveries staff recorded). The posting on the website
alone is not a route, and neither is a partner fetching the notice through the API.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from agreements.enums import NoticeRoute
from agreements.ledger.rows import format_instant
from agreements.models import NoticeDelivery, TermsVersion
from agreements.selectors.consents import per_tenant
from core.enums import EventKind, OutboxChannel, OutboxStatus
from core.lookups import Ids
from core.models import Outbox

# Messages that carry the notice itself: the posting and the reminders quoting it.
NOTICE_KINDS = (EventKind.NOTICE_POSTED, EventKind.CONSENT_REMINDER)
_VERSION_LABEL = TermsVersion._meta.label_lower


@dataclass(frozen=True)
class Reach:
    """The earliest route by which the notice reached a tenant."""

    route: NoticeRoute
    reached_at: datetime
    ref: str  # "outbox:12" or "delivery:7": the record the citation points to

    @property
    def citation(self) -> str:
        """What a deemed ledger row cites: route, instant (UTC) and record; no personal data."""
        return f"{self.route.value}@{format_instant(self.reached_at)}#{self.ref}"


def notice_reach(
    *, version: TermsVersion, tenant_ids: Iterable[int] | None = None, before: datetime | None
) -> dict[int, Reach]:
    """The earliest route per tenant by which `version`'s notice reached it (before `before`
    when given): two queries whatever the number of tenants."""
    ids = list(tenant_ids) if tenant_ids is not None else None
    found: dict[int, Reach] = {}

    def keep(tenant_id: int, reach: Reach) -> None:
        current = found.get(tenant_id)
        if current is None or reach.reached_at < current.reached_at:
            found[tenant_id] = reach

    mails = Outbox.objects.filter(
        channel=OutboxChannel.EMAIL,
        status=OutboxStatus.SENT,
        sent_at__isnull=False,
        tenant_id__isnull=False,
        event__kind__in=NOTICE_KINDS,
        event__subject_type=_VERSION_LABEL,
        event__subject_id=version.pk,
    )
    rows = NoticeDelivery.objects.filter(version=version)
    if ids is not None:
        mails = mails.filter(tenant_id__any_of=Ids.of(ids))
    if before is not None:
        mails = mails.filter(sent_at__lt=before)
        rows = rows.filter(reached_at__lt=before)
    for tenant_id, pk, sent_at in mails.values_list("tenant_id", "pk", "sent_at"):
        keep(int(tenant_id), Reach(NoticeRoute.EMAIL, sent_at, f"outbox:{pk}"))
    delivered = (
        # A batch's tenants one by one through the (version, tenant) index (per_tenant.py).
        per_tenant.deliveries(version_id=version.pk, tenant_ids=ids, before=before)
        if ids is not None
        else rows.values_list("tenant_id", "pk", "route", "reached_at")
    )
    for tenant_id, pk, route, reached_at in delivered:
        keep(tenant_id, Reach(NoticeRoute(route), reached_at, f"delivery:{pk}"))
    return found
