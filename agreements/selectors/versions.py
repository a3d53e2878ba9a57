"""Reads of terms documents, versions and revision notices.

Terms and notices are public once posted (R8: old versions stay readable at stable URLs);
drafts and versions scheduled but not yet posted are visible to staff (and jobs) only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Count, F, Max, Q, QuerySet, Subquery
from django.utils.translation import gettext

from agreements.enums import VersionStatus
from agreements.models import (
    ConsentRecord,
    Product,
    TerminationCase,
    TermsDocument,
    TermsVersion,
)
from agreements.selectors.consents import bound_tenants_q
from agreements.selectors.consents.statuses import LIVE_CASE_STATUSES
from core import clock, generations
from core.errors import NotFound
from tenants import partition
from tenants.models import Tenant
from tenants.scope import Scope

# Versions that are (or were) in force.
IN_FORCE_STATUSES = (VersionStatus.EFFECTIVE, VersionStatus.SUPERSEDED)


def public_versions_q() -> Q:
    """Versions anyone may read: in force now or before, or announced by a posted notice.

    A withdrawn or lapsed version stays readable when it had been posted, since its notice
    (and the withdrawal) were public.
    """
    posted = Q(posted_at__isnull=False, posted_at__lte=clock.now()) & ~Q(status=VersionStatus.DRAFT)
    return Q(status__in=IN_FORCE_STATUSES) | posted


def document_list(*, scope: Scope, product: Product | None = None) -> QuerySet[TermsDocument]:
    """Terms documents (public information for every caller), base terms before options'."""
    # Live documents; inside a sandbox request, the sandbox's copies (tenants.partition).
    qs = TermsDocument.objects.select_related("product", "option").filter(
        partition.product_q("product__")
    )
    if product is not None:
        qs = qs.filter(product=product)
    return qs.order_by("product__code", F("option_id").asc(nulls_first=True), "-precedence", "slug")


def document_get(*, scope: Scope, product_code: str, slug: str | None = None) -> TermsDocument:
    """A product's document by slug, or its base terms when no slug is given."""
    qs = TermsDocument.objects.select_related("product", "option").filter(
        partition.product_q("product__"), product__code=product_code
    )
    qs = qs.filter(slug=slug) if slug else qs.filter(kind="base")
    document = qs.order_by("precedence", "pk").first()
    if document is None:
        raise NotFound(
            gettext("文書が見つかりません: %(product)s / %(slug)s")
            % {"product": product_code, "slug": slug or "base"}
        )
    return document


def version_in_force(*, document: TermsDocument, on_date: date) -> TermsVersion | None:
    """The version in force on `on_date` (R5: from 00:00 JST on its effective date)."""
    return (
        TermsVersion.objects.filter(
            document=document, status__in=IN_FORCE_STATUSES, effective_on__lte=on_date
        )
        .order_by("-effective_on", "-pk")
        .first()
    )


def version_pending(*, document: TermsDocument, posted_only: bool = False) -> TermsVersion | None:
    """The scheduled revision of `document` (at most one, R7); with `posted_only`, only once
    its notice is up (what customers may see)."""
    qs = TermsVersion.objects.filter(document=document, status=VersionStatus.SCHEDULED)
    if posted_only:
        qs = qs.filter(posted_at__isnull=False, posted_at__lte=clock.now())
    return qs.first()


def version_list(*, scope: Scope, document: TermsDocument) -> QuerySet[TermsVersion]:
    """A document's versions, newest first; drafts and unposted revisions for staff only."""
    qs = TermsVersion.objects.filter(document=document).select_related("document")
    if not scope.is_privileged:
        qs = qs.filter(public_versions_q())
    return qs.order_by("-effective_on", "-pk")


def version_get(*, scope: Scope, pk: int) -> TermsVersion:
    """One version; public versions for everyone, drafts and unposted revisions for staff."""
    qs = TermsVersion.objects.select_related("document", "document__product", "based_on").filter(
        partition.product_q("document__product__")
    )
    if not scope.is_privileged:
        qs = qs.filter(public_versions_q())
    try:
        return qs.get(pk=pk)
    except TermsVersion.DoesNotExist:
        raise NotFound(gettext("規約の版が見つかりません。")) from None


def version_cache_entry(pk: int) -> tuple[str, list[str]]:
    """version_get_cached's cache entry and its generations (generations.lookup's shape)."""
    return f"version:{pk}", [generations.TERMS]


def version_get_cached(*, scope: Scope, pk: int) -> TermsVersion:
    """version_get for partners and products, from the cache under the terms' generation
    (every version, document or product saved, posted, taking effect, lapsing or withdrawn
    bumps it: agreements.signals, the version services); staff read the database."""
    if scope.is_privileged:
        return version_get(scope=scope, pk=pk)
    return generations.read_through(
        *version_cache_entry(pk),
        lambda: version_get(scope=scope, pk=pk),
        kind=TermsVersion,
    )


def notice_list_public() -> QuerySet[TermsVersion]:
    """Posted revision notices, newest first; a notice is public from its posted_at, never before."""
    return (
        TermsVersion.objects.filter(
            partition.product_q("document__product__"),
            posted_at__isnull=False,
            posted_at__lte=clock.now(),
        )
        .exclude(status=VersionStatus.DRAFT)
        .select_related("document", "document__product")
        .order_by("-posted_at", "-pk")
    )


def tenants_to_notify(*, document: TermsDocument) -> QuerySet[Tenant]:
    """Tenants bound by `document` now (R1): an active contract for its product, and for
    individual rules one that includes the option. One definition, shared with the ledger."""
    return Tenant.objects.filter(bound_tenants_q(document=document, on_date=None)).order_by("pk")


@dataclass(frozen=True)
class WithdrawalImpact:
    """What withdrawing a scheduled version touches (R7), each number with its own unit:
    the tenants that answered it, by their latest answer (`tenant_answers`, which add up to
    `answered_tenants`); the answers recorded against it, ledger rows, by answer (`answers`:
    a tenant that changed its answer has more than one; all stay in the ledger, each
    tenant's state goes back to the version in force); and the live termination cases its
    rejections opened (dropped, the customer told)."""

    answers: dict[str, int]
    answered_tenants: int
    live_cases: int
    tenant_answers: dict[str, int] = field(default_factory=dict)

    @property
    def answer_total(self) -> int:
        return sum(self.answers.values())

    @property
    def changed_answers(self) -> bool:
        """More answers than tenants: some tenant changed its answer."""
        return self.answer_total > self.answered_tenants


def withdrawal_impact(*, scope: Scope, version: TermsVersion) -> WithdrawalImpact:
    """Counts for the withdraw page; three queries whatever the number of tenants."""
    if not scope.is_privileged:
        raise NotFound(gettext("規約の版が見つかりません。"))
    records = ConsentRecord.objects.filter(version=version)
    answers = {
        row["answer"]: row["n"]
        for row in records.values("answer").annotate(n=Count("id")).order_by("answer")
    }
    # Each tenant once, by its latest answer (a tenant's rows are appended in order under
    # its chain's lock, so its highest id is its latest).
    latest = records.values("tenant_id").annotate(last=Max("id")).values("last").order_by()
    tenant_answers = {
        row["answer"]: row["n"]
        for row in ConsentRecord.objects.filter(pk__in=Subquery(latest))
        .values("answer")
        .annotate(n=Count("id"))
        .order_by("answer")
    }
    live_cases = TerminationCase.objects.filter(
        version=version, status__in=LIVE_CASE_STATUSES
    ).count()
    return WithdrawalImpact(
        answers=answers,
        answered_tenants=sum(tenant_answers.values()),
        live_cases=live_cases,
        tenant_answers=tenant_answers,
    )
