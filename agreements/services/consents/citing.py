"""What the consent services read of a version: the latest posted version of its document,
the body hash a ledger row cites and the consent mode its product's terms allow."""

from __future__ import annotations

from agreements.enums import ConsentMode, VersionStatus
from agreements.models import TermsVersion
from agreements.rulebook import rulebook_for
from agreements.selectors.consents.statuses import latest_posted
from agreements.services.version_text import version_body_hash


def cited_body_hash(version: TermsVersion) -> str:
    """The body hash a row answering `version` cites: the one frozen when it was scheduled
    or imported, computed from its text for a version that has none stored."""
    return version.body_hash or version_body_hash(version)


def latest_posted_id(document_id: int) -> int | None:
    """The document's latest posted version (what an answer answers), by id."""
    versions = list(
        TermsVersion.objects.filter(
            document_id=document_id, status__in=[VersionStatus.SCHEDULED, VersionStatus.EFFECTIVE]
        ).order_by("-effective_on", "-pk")
    )
    latest = latest_posted(versions)
    return latest.pk if latest else None


def effective_mode(version: TermsVersion) -> ConsentMode:
    """The mode the effective date applies: deemed only where the product's terms contain the
    deemed-consent clause (rulebook R3); otherwise silence is asked for an answer."""
    mode = ConsentMode(version.consent_mode)
    if mode == ConsentMode.DEEMED and not rulebook_for(version.document.product.code).has("R3"):
        return ConsentMode.EXPLICIT
    return mode


def objection_flow(version: TermsVersion) -> bool:
    """Whether a rejection of `version` is an objection to deemed consent (R3, Biz 2.1):
    silence consents, so customers are asked only whether they object. Decided once, for the
    review page, the messages after an answer and the receipt alike."""
    return effective_mode(version) == ConsentMode.DEEMED
