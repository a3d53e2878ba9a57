"""Which version of a document binds a tenant (R4, CC 548-4), read from what is recorded: the
versions that have taken effect, their legal basis, the tenant's last answer to each and its
contracts' dates. Nothing is stored for it, so it cannot drift from the ledger.

The products' status check computes the same in its one statement
(`agreements.selectors.consents.status_check`); tests hold the two equal.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from agreements.enums import Answer, VersionStatus
from agreements.models import ConsentRecord, Contract, TermsDocument, TermsVersion
from agreements.rules import VersionInEffect, binding_version, needs_individual_consent

# A version has taken effect once the effective-date job moved it (R5): in force or superseded.
IN_EFFECT = (VersionStatus.EFFECTIVE, VersionStatus.SUPERSEDED)

Span = tuple[date, date | None]


def in_effect(version: TermsVersion) -> VersionInEffect:
    """The facts binding_version weighs, of one version that has taken effect."""
    assert version.effective_on is not None  # noqa: S101 -- versions in effect are dated
    return VersionInEffect(
        key=version.pk,
        effective_on=version.effective_on,
        needs_consent=needs_individual_consent(
            legal_basis=version.legal_basis,
            consent_mode=version.consent_mode,
            historical=version.is_historical,
        ),
    )


def versions_in_effect(document_ids: Iterable[int]) -> dict[int, list[TermsVersion]]:
    """Per document, its versions that have taken effect, newest first. One query."""
    found: dict[int, list[TermsVersion]] = {}
    for version in TermsVersion.objects.filter(
        document_id__in=list(document_ids), status__in=IN_EFFECT
    ).order_by("-effective_on", "-pk"):
        found.setdefault(version.document_id, []).append(version)
    return found


def accepted_versions(
    *, tenant_ids: Sequence[int], versions: Iterable[TermsVersion]
) -> set[tuple[int, int]]:
    """(tenant, version) pairs whose last ledger row for a version needing consent is
    `accepted`. No query when none of the versions needs consent, else one."""
    ids = [v.pk for v in versions if in_effect(v).needs_consent]
    if not ids or not tenant_ids:
        return set()
    last: dict[tuple[int, int], str] = {}
    for tenant_id, version_id, answer in (
        ConsentRecord.objects.filter(tenant_id__in=list(tenant_ids), version_id__in=ids)
        .order_by("tenant_id", "seq")
        .values_list("tenant_id", "version_id", "answer")
    ):
        last[(tenant_id, version_id)] = answer
    return {pair for pair, answer in last.items() if answer == Answer.ACCEPTED}


def binding_of(
    *, versions: list[TermsVersion], accepted: set[int], spans: Iterable[Span]
) -> TermsVersion | None:
    """The version among `versions` (one document's, newest first) that binds the tenant."""
    key = binding_version(versions=[in_effect(v) for v in versions], accepted=accepted, spans=spans)
    return next((v for v in versions if v.pk == key), None)


def binding_versions_for_tenants(
    *, document: TermsDocument, tenant_ids: Sequence[int], before: date | None = None
) -> dict[int, TermsVersion | None]:
    """Per tenant, the version of `document` that binds it (the console's drill-down).

    With `before` (a revision's effective date), the version that bound it before that
    revision took effect: what a notice, an answer and its receipt name as the version the
    tenant is bound by until the change. Three queries whatever the number of tenants, so a
    notice to 100,000 tenants asks once per batch, never once per tenant.
    """
    versions = versions_in_effect([document.pk]).get(document.pk, [])
    if before is not None:
        versions = [v for v in versions if v.effective_on is not None and v.effective_on < before]
    if not versions or not tenant_ids:
        return dict.fromkeys(tenant_ids)
    accepted = accepted_versions(tenant_ids=tenant_ids, versions=versions)
    contracts = Contract.objects.filter(tenant_id__in=list(tenant_ids), product=document.product_id)
    if document.option_id is not None:
        contracts = contracts.filter(options=document.option_id)
    # The dates as they stand: a version in effect took effect in the past, where a filed
    # end still to come changes nothing.
    spans: dict[int, list[Span]] = {}
    for tenant_id, start, ended in contracts.values_list("tenant_id", "start_date", "ended_on"):
        spans.setdefault(tenant_id, []).append((start, ended))
    accepted_by: dict[int, set[int]] = {}
    for tenant_id, version_id in accepted:
        accepted_by.setdefault(tenant_id, set()).add(version_id)
    return {
        tenant_id: binding_of(
            versions=versions,
            accepted=accepted_by.get(tenant_id, set()),
            spans=spans.get(tenant_id, []),
        )
        for tenant_id in tenant_ids
    }
