"""What a revision notice says (R2, R4), in one module below the version, consent and contract
services, which all tell tenants of a posted revision: when it is posted (versions.posting), in
its preview (versions.preview), and to a tenant bound after it was posted
(notice_newcomers, called when a contract is created)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.urls import reverse

from agreements.models import TermsVersion
from agreements.rules import gate_from
from agreements.services.version_text import notice_title_for


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


def version_gate_from(version: TermsVersion) -> str | None:
    """The first day silence may limit use (R4), only under the version's gating policy: the
    e-mail says use may be limited from then, or else that nothing is withheld."""
    if not (version.gating_enabled and version.effective_on and version.gating_grace_days):
        return None
    return gate_from(
        effective_on=version.effective_on, grace_days=version.gating_grace_days
    ).isoformat()


def binding_facts(binding: TermsVersion | None) -> dict[str, Any]:
    """The version that bound the tenant before the change (R4): label and effective date;
    None for both when no recorded version did (the message then says to see the contract)."""
    return {
        "binding_version_id": binding.pk if binding else None,
        "binding_version_label": binding.label if binding else None,
        "binding_version_name": binding.display_name if binding else None,
        "binding_version_effective_on": _iso(binding.effective_on) if binding else None,
    }
