"""Reads of a version's text: its articles with their paragraphs, in document order.

Shared by every page that shows a version (public terms, the portal's review page, the
console's editor and detail pages).
"""

from __future__ import annotations

from django.db.models import Prefetch

from agreements.models import Article, Paragraph, TermsVersion


def articles_of(version: TermsVersion) -> list[Article]:
    """The version's articles with paragraphs, using a prefetch when one is there."""
    if "articles" in getattr(version, "_prefetched_objects_cache", {}):
        return list(version.articles.all())
    return list(
        version.articles.order_by("position").prefetch_related(
            Prefetch("paragraphs", queryset=Paragraph.objects.order_by("position"))
        )
    )
