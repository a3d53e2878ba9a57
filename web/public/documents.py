"""Presentation of a terms document on the public pages (no decisions here): the dates of a
version, its table of contents and its PDF.

最終改定. The header states the version's own date: the day it took (or takes) effect. The
body is the document as it was imported or edited, shown verbatim; it often ends with its own
line 「最終改定：2024年 11 月 22日」, which a revision made by copying the previous version
carries over unchanged. Rewriting that line when rendering would show a text nobody
published, so it stays, and when its date is not the version's date the page says so next
to the header (`RevisionDates.differs`).
"""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.template.loader import render_to_string
from django.utils import translation

from agreements.models import TermsVersion
from agreements.services.version_text import revision_dates
from agreements.templatetags.jdates import format_date


def last_revised_label(version: TermsVersion) -> str:
    """最終改定 for the header: the version's effective date, else the body's own date."""
    dates = revision_dates(version)
    day = dates.effective_on or dates.body_date
    return format_date(day, weekday=True) if day else ""


def table_of_contents(articles: Any) -> list[dict[str, Any]]:
    """One entry per article: its anchor on the page and its heading."""
    return [{"anchor": f"article-{a.number}", "heading": a.heading} for a in articles]


def version_pdf(version: TermsVersion, articles: Any, *, language: str) -> bytes:
    """The version as a PDF (weasyprint, fonts embedded, as the receipts are), cached: a
    public version's text does not change, `updated_at` keys any change that does."""
    key = f"terms-pdf:{version.pk}:{version.updated_at.timestamp()}:{language}"
    found = cache.get(key)
    if found is not None:
        return found  # type: ignore[no-any-return]
    from weasyprint import HTML  # noqa: PLC0415 -- heavy import, only for this download

    with translation.override(language):
        html = render_to_string(
            "agreements/public/terms_version_pdf.html",
            {
                "version": version,
                "document": version.document,
                "articles": articles,
                "last_revised": last_revised_label(version),
                "dates": revision_dates(version),
                "LANGUAGE_CODE": language,
            },
        )
    pdf: bytes = HTML(string=html).write_pdf()
    cache.set(key, pdf, 24 * 3600)
    return pdf
