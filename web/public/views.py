"""Public pages: the terms in force, every version at a stable URL, revision notices (R8).

They read from the replica when one is configured (core/replica.py): a page at most
TERMS_REPLICA_MAX_LAG_SECONDS behind a publication misleads no one."""

from __future__ import annotations

import re

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from agreements.models import Product, TermsDocument, TermsVersion
from agreements.selectors.articles import articles_of
from agreements.selectors.versions import (
    notice_list_public,
    public_versions_q,
    version_in_force,
    version_pending,
)
from core import clock
from core.replica import reads_from_replica
from web import ratelimit
from web.notices import notice_context
from web.public.documents import (
    last_revised_label,
    revision_dates,
    table_of_contents,
    version_pdf,
)

_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def _pdf_suffix(version: TermsVersion) -> str:
    """What the file is called after: the version's effective date (2026-11-07), readable in
    every language and on every file system; the working label where it has none."""
    if version.effective_on is not None:
        return version.effective_on.isoformat()
    return _SAFE.sub("_", version.label)


def _document(product_code: str, slug: str | None) -> TermsDocument:
    # Live products only: a sandbox's copies are never public (docs/api.md, "Sandbox").
    qs = TermsDocument.objects.select_related("product", "option").filter(
        product__code=product_code, product__sandbox__isnull=True
    )
    qs = qs.filter(slug=slug) if slug else qs.filter(kind="base")
    document = qs.order_by("precedence", "pk").first()
    if document is None:
        raise Http404
    return document


def _public_versions(document: TermsDocument) -> QuerySet[TermsVersion]:
    return (
        TermsVersion.objects.filter(document=document)
        .filter(public_versions_q())
        .order_by("-effective_on", "-pk")
    )


@reads_from_replica()
def terms_index(request: HttpRequest) -> HttpResponse:
    products = (
        Product.objects.filter(sandbox__isnull=True).prefetch_related("documents").order_by("code")
    )
    return render(request, "agreements/public/terms_index.html", {"products": products})


@reads_from_replica()
def terms_current(request: HttpRequest, product: str, slug: str | None = None) -> HttpResponse:
    """The text in force today, its 最終改定 date, the announced revision and the history."""
    document = _document(product, slug)
    version = version_in_force(document=document, on_date=clock.today())
    if version is None:
        raise Http404
    return _render_version(request, document, version, current=True)


@reads_from_replica()
def terms_version(request: HttpRequest, product: str, slug: str, pk: int) -> HttpResponse:
    """One version at its stable URL (drafts and unannounced revisions are not public)."""
    document = _document(product, slug)
    version = _public_versions(document).filter(pk=pk).first()
    if version is None:
        raise Http404
    return _render_version(request, document, version, current=False)


@reads_from_replica()
def terms_version_pdf(request: HttpRequest, product: str, slug: str, pk: int) -> HttpResponse:
    """One public version as a PDF in the page's language (the text itself is Japanese)."""
    limit = ratelimit.public_pdf_per_address()
    if not ratelimit.hit(limit, ratelimit.client_address(request)):
        # 429 with Retry-After: a page saying when to try again and that the text stays
        # readable on its page, or problem+json (`throttled`) for a client asking for JSON.
        seconds = ratelimit.retry_after(limit)
        return ratelimit.too_many_requests(
            request,
            detail=_(
                "PDFのダウンロードが短時間に集中したため、一時的に制限しています。"
                "%(seconds)s秒後にもう一度お試しください。"
            )
            % {"seconds": seconds},
            retry_after=seconds,
            template="agreements/public/too_many_requests.html",
            context={"back": reverse("public:terms-version", args=[product, slug, pk])},
        )
    document = _document(product, slug)
    version = _public_versions(document).filter(pk=pk).first()
    if version is None:
        raise Http404
    language = translation.get_language() or settings.LANGUAGE_CODE
    pdf = version_pdf(version, articles_of(version), language=language)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="{product}-{slug}-{_pdf_suffix(version)}.pdf"'
    )
    return response


def _render_version(
    request: HttpRequest, document: TermsDocument, version: TermsVersion, *, current: bool
) -> HttpResponse:
    today = clock.today()
    in_force = version_in_force(document=document, on_date=today)
    pending = version_pending(document=document, posted_only=True)
    articles = articles_of(version)
    return render(
        request,
        "agreements/public/terms_version.html",
        {
            "document": document,
            "version": version,
            "articles": articles,
            "toc": table_of_contents(articles),
            "last_revised": last_revised_label(version),
            "dates": revision_dates(version),
            "is_current": current or (in_force is not None and in_force.pk == version.pk),
            "in_force": in_force,
            "pending": pending,
            "history": _public_versions(document),
        },
    )


@reads_from_replica()
def notice_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "agreements/public/notice_list.html", {"notices": notice_list_public()[:200]}
    )


@reads_from_replica()
def notice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    version = notice_list_public().select_related("based_on").filter(pk=pk).first()
    if version is None:
        raise Http404
    return render(
        request,
        "agreements/public/notice_detail.html",
        {"notice": notice_context(version), "version": version, "document": version.document},
    )
