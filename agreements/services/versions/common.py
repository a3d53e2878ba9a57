"""What the version transitions share: the payload notices and events carry, the bound
tenants told of a revision, and putting the consent projection back when a posted
revision is withdrawn or lapses."""

from __future__ import annotations

from collections.abc import Iterator

from agreements.models import ConsentState, TermsDocument, TermsVersion
from agreements.selectors.versions import tenants_to_notify
from agreements.services.consents.cases import cases_drop_for_version
from agreements.services.consents.projection import consent_state_rebuild

# What the version transitions tell of a version (notice_payloads, below the contract services
# too: a contract created after a notice was posted is told of it, services.notice_newcomers).
from agreements.services.notice_payloads import version_payload as version_payload
from tenants.models import Tenant

# Tenants notified per batch when a revision is posted or withdrawn (one set of queries each).
NOTIFY_BATCH_SIZE = 1000


def projection_restore(version: TermsVersion, *, note: str, cause: str) -> int:
    """Point consent states that follow a withdrawn or lapsed version back at the version in
    force and drop the R6 cases its rejections opened (the ledger rows recorded against it
    stay, R7)."""
    cases_drop_for_version(version=version, note=note, cause=cause)
    affected = list(
        ConsentState.objects.filter(version=version).values_list("tenant_id", flat=True)
    )
    return consent_state_rebuild(tenant_ids=affected) if affected else 0


def bound_tenants(document: TermsDocument, chunk_size: int) -> Iterator[Tenant]:
    # Streamed: a revision may bind 100,000 tenants, which need not all sit in memory at once.
    return tenants_to_notify(document=document).iterator(chunk_size=chunk_size)
