"""Who is bound, kept on the consent projection (R1): `ConsentState.bound` says whether the
tenant is bound by the row's document now (an active contract for the product, and the option
for individual rules), so the dashboard's numbers are one GROUP BY on an index
(web.console.selectors). Moved here, not computed per render: contracts start and end
(services.contracts), a notice opens rows (consent_states_open), the effective date writes
them (consents.effective) and a rebuild recomputes them.

A module of its own, below both the contract and the consent services, which import it.
"""

from __future__ import annotations

from collections.abc import Iterable

from agreements.enums import ConsentStatus, VersionStatus
from agreements.models import ConsentState, Contract, TermsDocument, TermsVersion
from agreements.selectors.consents.bound import bound_tenants_q
from agreements.selectors.consents.statuses import latest_posted
from tenants.models import Tenant


def consent_states_bound_sync(*, tenant_ids: Iterable[int]) -> int:
    """After contracts of `tenant_ids` started or ended: their rows' `bound` flags, and a
    `no_answer` row (which reads as no row at all) for a newly bound tenant of a document
    whose latest notice is on the dashboard. Set-based: a few queries per document of the
    tenants' products, whatever the number of tenants. Returns the rows created."""
    ids = sorted(set(tenant_ids))
    if not ids:
        return 0
    products = Contract.objects.filter(tenant_id__in=ids).values("product_id")
    created = 0
    for document in TermsDocument.objects.filter(product_id__in=products).order_by("pk"):
        bound = set(
            Tenant.objects.filter(bound_tenants_q(document=document, on_date=None))
            .filter(pk__in=ids)
            .values_list("pk", flat=True)
        )
        rows = ConsentState.objects.filter(document=document, tenant_id__in=ids)
        rows.filter(tenant_id__in=bound, bound=False).update(bound=True)
        rows.exclude(tenant_id__in=bound).filter(bound=True).update(bound=False)
        if bound:
            created += _open_missing(document, bound)
    return created


def _open_missing(document: TermsDocument, bound: set[int]) -> int:
    versions = list(
        TermsVersion.objects.filter(
            document=document, status__in=[VersionStatus.SCHEDULED, VersionStatus.EFFECTIVE]
        ).order_by("-effective_on", "-pk")
    )
    live = latest_posted(versions)
    if live is None:
        return 0
    # Only a version the projection already follows (its notice opened rows): a document
    # known only from imported history has no rows and gets none.
    if not live.states.exists():
        return 0
    have = set(
        ConsentState.objects.filter(document=document, tenant_id__in=bound).values_list(
            "tenant_id", flat=True
        )
    )
    missing = sorted(bound - have)
    ConsentState.objects.bulk_create(
        [
            ConsentState(
                tenant_id=tenant_id,
                document=document,
                version=live,
                status=ConsentStatus.NO_ANSWER,
                bound=True,
            )
            for tenant_id in missing
        ],
        ignore_conflicts=True,
    )
    return len(missing)
