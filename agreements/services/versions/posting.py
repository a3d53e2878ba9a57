"""Posting a scheduled version's revision notice on its notice date (R2): posted once, the
bound tenants told set-based, the consent projection opened."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from itertools import islice

from django.conf import settings
from django.db import transaction

from agreements.enums import VersionStatus
from agreements.models import TermsVersion
from agreements.selectors.consents.binding import binding_versions_for_tenants
from agreements.services.consents.projection import consent_states_open
from agreements.services.notice_payloads import binding_facts, version_gate_from, version_payload
from agreements.services.versions.common import NOTIFY_BATCH_SIZE, bound_tenants
from core import clock, generations
from core.enums import EventKind
from tenants.models import Tenant
from tenants.notify import Note, notify


@transaction.atomic
def notice_post(*, version: TermsVersion) -> bool:
    """Post a scheduled version's notice: set posted_at once and tell bound tenants.

    Returns False when the notice was already posted (or the version is no longer
    scheduled); the conditional UPDATE makes a concurrent second run a no-op.
    """
    now = clock.now()
    updated = TermsVersion.objects.filter(
        pk=version.pk, status=VersionStatus.SCHEDULED, posted_at__isnull=True
    ).update(posted_at=now, updated_at=now)
    if updated != 1:
        return False
    generations.bump_on_commit(generations.TERMS)  # a posted version: a pending one to report
    posted = TermsVersion.objects.select_related("document", "document__product").get(pk=version.pk)
    # R4: an explicit-consent notice says whether silence may limit use, and from when.
    payload = {**version_payload(posted), "gate_from": version_gate_from(posted)}
    key = f"version:{posted.pk}:posted"
    # Set-based: a constant number of queries per batch of tenants, not seven per tenant.
    notify(
        (
            Note(
                kind=EventKind.NOTICE_POSTED,
                tenant=tenant,
                key=key,
                payload={**payload, **binding_facts(binding)},
                subject=posted,
            )
            for tenant, binding in _with_binding(posted, NOTIFY_BATCH_SIZE)
        ),
        batch_size=NOTIFY_BATCH_SIZE,
    )
    consent_states_open(version=posted)
    version.posted_at = posted.posted_at
    return True


def _with_binding(
    version: TermsVersion, batch_size: int
) -> Iterator[tuple[Tenant, TermsVersion | None]]:
    """Each bound tenant with the version that binds it until `version` takes effect (R4).

    The binding version differs per tenant (one that never accepted an explicit-consent
    revision is still bound by the one before it), so it is read per batch of tenants, three
    queries each, never per tenant.
    """
    tenants = bound_tenants(version.document, batch_size)
    while batch := list(islice(tenants, batch_size)):
        binding = binding_versions_for_tenants(
            document=version.document,
            tenant_ids=[tenant.pk for tenant in batch],
            before=version.effective_on,
        )
        for tenant in batch:
            yield tenant, binding[tenant.pk]


def notices_post_due(*, today: date) -> dict[str, int]:
    """Post every scheduled notice whose notice date has come (each in its own transaction)."""
    due = list(
        TermsVersion.objects.filter(
            status=VersionStatus.SCHEDULED, posted_at__isnull=True, notice_on__lte=today
        )
        .order_by("notice_on", "pk")
        .values_list("pk", flat=True)[: settings.TERMS_JOB_BATCH_SIZE]
    )
    posted = 0
    for pk in due:
        posted += notice_post(version=TermsVersion(pk=pk))
    return {"due": len(due), "posted": posted}
