"""The consent gate's lookup: which explicit-consent versions still wait for this tenant.

One indexed query (ConsentState by tenant and status, index state_tenant_status, joined to
the version by primary key) and its result cached per tenant. The cache key carries a stamp
made of the business date (an explicit version turns `outstanding` at its effective date)
and a per-tenant generation that the portal bumps after every answer; a short timeout
bounds how long an answer given elsewhere (the partner API, the console) takes to show.
A warm request costs no database query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.core.cache import cache
from django.db.models import Exists, OuterRef

from agreements.enums import ConsentMode, ConsentStatus, ContractStatus, VersionStatus
from agreements.models import ConsentState, Contract
from terms_site import clock

GATE_STATUSES = (ConsentStatus.OUTSTANDING, ConsentStatus.NO_ANSWER)
CACHE_SECONDS = 120
_GENERATION_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class GateItem:
    version_id: int
    document_id: int
    status: str
    effective_on: date
    title: str

    @property
    def is_outstanding(self) -> bool:
        return self.status == ConsentStatus.OUTSTANDING


def _generation_key(tenant_id: int) -> str:
    return f"portal:gate-gen:{tenant_id}"


def _items_key(tenant_id: int, generation: int, today: date) -> str:
    return f"portal:gate:{tenant_id}:{today.isoformat()}:{generation}"


def gate_query(tenant_id: int) -> list[GateItem]:
    """The waiting explicit versions of a tenant still bound by their product, earliest first."""
    bound = Contract.objects.filter(
        tenant_id=OuterRef("tenant_id"),
        product_id=OuterRef("document__product_id"),
        status=ContractStatus.ACTIVE,
    )
    rows = (
        ConsentState.objects.filter(
            tenant_id=tenant_id,
            status__in=GATE_STATUSES,
            version__consent_mode=ConsentMode.EXPLICIT,
            version__status__in=(VersionStatus.SCHEDULED, VersionStatus.EFFECTIVE),
            version__posted_at__isnull=False,
        )
        .filter(Exists(bound))
        .order_by("version__effective_on", "version_id")
        .values_list(
            "version_id", "document_id", "status", "version__effective_on", "version__title"
        )
    )
    return [GateItem(*row) for row in rows]


def gate_items(tenant_id: int) -> tuple[GateItem, ...]:
    """The cached lookup: at most one query when cold, none when warm."""
    generation = cache.get(_generation_key(tenant_id)) or 0
    key = _items_key(tenant_id, int(generation), clock.today())
    cached = cache.get(key)
    if cached is not None:
        return tuple(cached)
    items = tuple(gate_query(tenant_id))
    cache.set(key, list(items), CACHE_SECONDS)
    return items


def gate_invalidate(tenant_id: int) -> None:
    """After an answer: the next request looks again (a new generation, a new key)."""
    key = _generation_key(tenant_id)
    if not cache.add(key, 1, _GENERATION_SECONDS):
        try:
            cache.incr(key)
        except ValueError:  # expired between add() and incr()
            cache.set(key, 1, _GENERATION_SECONDS)
