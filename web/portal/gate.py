"""The portal's pending-answer banner: which explicit-consent versions still wait for this
tenant's answer (R4).

It never blocks a page: a tenant keeps every contractual right (contracts, non-renewal,
termination, deletion, receipts, members) before and after the effective date, whatever it
owes. The lookup only tells the layout to show a banner on every page.

One query (ConsentState by tenant and status, index state_tenant_status, joined to the
version by primary key, with the contracts that bind the tenant on the version's effective
date as a subquery) and its result cached per tenant. The cache key carries a stamp made of
the business date (an explicit version turns `outstanding` at its effective date) and a
per-tenant generation that the consent service bumps after every answer, whatever the
channel, and the terms' generation (a version posted, taking effect or withdrawn). A warm
request costs no database query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Exists, OuterRef, Q

from agreements.consent_cache import generation_bump
from agreements.enums import (
    ConsentMode,
    ConsentStatus,
    ContractStatus,
    NonRenewalStatus,
    TerminationStatus,
    VersionStatus,
)
from agreements.models import (
    ConsentState,
    Contract,
    NonRenewalRequest,
    Termination,
)
from core import clock, generations

GATE_STATUSES = (ConsentStatus.OUTSTANDING, ConsentStatus.NO_ANSWER)


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


def _bound_on_effective_date() -> Exists:
    """An active contract of the tenant for the document's product that binds it on the
    version's effective date (R4): begun by then, and no end filed before it (a non-renewal,
    a scheduled termination), as agreements.selectors.consents.bound.filed_end reads it."""
    effective_on = OuterRef(OuterRef("version__effective_on"))
    ends_before = Exists(
        NonRenewalRequest.objects.filter(
            contract_id=OuterRef("pk"),
            status=NonRenewalStatus.ACTIVE,
            end_date__lt=effective_on,
        )
    ) | Exists(
        Termination.objects.filter(
            contract_id=OuterRef("pk"),
            status=TerminationStatus.SCHEDULED,
            end_date__lt=effective_on,
        )
    )
    return Exists(
        Contract.objects.filter(
            Q(start_date__lte=OuterRef("version__effective_on")),
            tenant_id=OuterRef("tenant_id"),
            product_id=OuterRef("document__product_id"),
            status=ContractStatus.ACTIVE,
        ).exclude(ends_before)
    )


def gate_query(tenant_id: int) -> list[GateItem]:
    """The explicit versions still waiting for the tenant's answer, earliest first: only
    those that bind one of its contracts on their effective date."""
    rows = (
        ConsentState.objects.filter(
            tenant_id=tenant_id,
            status__in=GATE_STATUSES,
            version__consent_mode=ConsentMode.EXPLICIT,
            version__status__in=(VersionStatus.SCHEDULED, VersionStatus.EFFECTIVE),
            version__posted_at__isnull=False,
        )
        .filter(_bound_on_effective_date())
        .order_by("version__effective_on", "version_id")
        .values_list(
            "version_id", "document_id", "status", "version__effective_on", "version__title"
        )
    )
    return [GateItem(*row) for row in rows]


def gate_items(tenant_id: int) -> tuple[GateItem, ...]:
    """The cached lookup: at most one query when cold, none when warm. Cached under the
    tenant's generation (its answers) and the terms' (a version posted, taking effect or
    withdrawn changes what is pending for every tenant at once)."""
    return generations.read_through(
        f"portal:gate:{tenant_id}:{clock.today().isoformat()}",
        [generations.tenant_generation(tenant_id), generations.TERMS],
        lambda: tuple(gate_query(tenant_id)),
    )


def gate_invalidate(tenant_id: int) -> None:
    """After an answer: the next request looks again (a new generation: the cached gate no
    longer counts)."""
    generation_bump(tenant_id)
