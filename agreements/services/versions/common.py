"""What the version transitions share: the payload notices and events carry, the bound
tenants told of a revision, and putting the consent projection back when a posted
revision is withdrawn or lapses."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from django.conf import settings
from django.urls import reverse

from agreements.models import ConsentState, TermsDocument, TermsVersion
from agreements.selectors.versions import tenants_to_notify
from agreements.services.consents.cases import cases_drop_for_version
from agreements.services.consents.projection import consent_state_rebuild
from agreements.services.version_text import notice_title_for
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


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def version_payload(version: TermsVersion) -> dict[str, Any]:
    """What notices, events and webhooks say about a version (JSON-serialisable)."""
    base = settings.TERMS_PORTAL_BASE_URL.rstrip("/")
    return {
        "version_id": version.pk,
        "document_id": version.document_id,
        "document": version.document.title,
        "product": version.document.product.code,
        "label": version.label,
        # What customers read: the name staff chose, else 「…改定」 from the effective date.
        "name": version.display_name,
        "title": version.title,
        "notice_title": notice_title_for(version),
        "notice_on": _iso(version.notice_on),
        "effective_on": _iso(version.effective_on),
        "consent_mode": version.consent_mode,
        "legal_basis": version.legal_basis,
        "portal_url": base + reverse("portal:home"),
        "notice_url": base + reverse("public:notice-detail", kwargs={"pk": version.pk}),
    }


def bound_tenants(document: TermsDocument, chunk_size: int) -> Iterator[Tenant]:
    # Streamed: a revision may bind 100,000 tenants, which need not all sit in memory at once.
    return tenants_to_notify(document=document).iterator(chunk_size=chunk_size)
