"""The revision notice for a tenant bound after it was posted (docs/api.md, "The consent flow").

A tenant that contracts between a revision's posting and its effective date is bound by the
revision on that date, so it owes it an answer like every tenant bound when the notice was
posted (R4, DESIGN: pending answers concern the versions that bind one of the tenant's contracts
on their effective date; only one whose contract starts after the effective date agrees to
the new version by contracting). It is told as they were: the same `notice.posted` event, webhook
and e-mail, with the version that binds it until then — the partner needs the event to ask the
customer, and the e-mail is how the notice reaches the customer (R3: deemed consent needs a
notice that reached it before the effective date).

A module of its own below the contract services, which call it when a contract is created.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q

from agreements.enums import DocumentKind, VersionStatus
from agreements.models import Contract, Option, TermsVersion
from agreements.selectors.consents.binding import binding_versions_for_tenants
from agreements.services.notice_payloads import binding_facts, version_gate_from, version_payload
from core.enums import EventKind
from core.models import Event
from tenants.notify import Note, notify


def notices_to_newly_bound(*, contract: Contract, options: Iterable[Option] = ()) -> int:
    """Tell the contract's tenant of every posted revision not yet in effect that binds the new
    contract on its effective date and that the tenant was not told of (through another
    contract). Returns the number of notices told; none on a repeat."""
    tenant = contract.tenant
    option_ids = [option.pk for option in options]
    versions = list(
        TermsVersion.objects.filter(
            status=VersionStatus.SCHEDULED,
            posted_at__isnull=False,
            effective_on__gte=contract.start_date,  # in force on the effective date
        )
        .filter(
            Q(document__kind=DocumentKind.BASE, document__product_id=contract.product_id)
            | Q(document__kind=DocumentKind.INDIVIDUAL, document__option_id__in=option_ids)
        )
        .select_related("document", "document__product")
        .order_by("effective_on", "pk")
    )
    if not versions:
        return 0
    told = set(
        Event.objects.filter(
            kind=EventKind.NOTICE_POSTED,
            tenant_id=tenant.pk,
            subject_type=TermsVersion._meta.label_lower,
            subject_id__in=[version.pk for version in versions],
        ).values_list("subject_id", flat=True)
    )
    notes = []
    for version in versions:
        if version.pk in told:
            continue
        binding = binding_versions_for_tenants(
            document=version.document, tenant_ids=[tenant.pk], before=version.effective_on
        )[tenant.pk]
        notes.append(
            Note(
                kind=EventKind.NOTICE_POSTED,
                tenant=tenant,
                # The posting's own key: the same occurrence, told to one more tenant.
                key=f"version:{version.pk}:posted",
                payload={
                    **version_payload(version),
                    "gate_from": version_gate_from(version),
                    **binding_facts(binding),
                },
                subject=version,
            )
        )
    if notes:
        notify(notes)
    return len(notes)
