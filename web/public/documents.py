"""Presentation helpers shared by the public pages and the console (no decisions here)."""

from __future__ import annotations

import re

from django.db.models import Prefetch

from agreements.models import Article, Paragraph, TermsVersion

_PREFIX = re.compile(r"^\s*最終改定\s*[:：]\s*")


def with_articles() -> Prefetch:
    """Prefetch of a version's articles and their paragraphs, in document order."""
    return Prefetch(
        "articles",
        queryset=Article.objects.order_by("position").prefetch_related(
            Prefetch("paragraphs", queryset=Paragraph.objects.order_by("position"))
        ),
    )


def articles_of(version: TermsVersion) -> list[Article]:
    """The version's articles with paragraphs, using a prefetch when one is there."""
    if "articles" in getattr(version, "_prefetched_objects_cache", {}):
        return list(version.articles.all())
    return list(
        version.articles.order_by("position").prefetch_related(
            Prefetch("paragraphs", queryset=Paragraph.objects.order_by("position"))
        )
    )


def last_revised_label(version: TermsVersion) -> str:
    """最終改定 as the document states it (seed 000), else from the effective date."""
    if version.last_revised_text:
        # Stored as the document writes it ("最終改定：2024年 11 月 22日"); shown as a date.
        return re.sub(r"\s+", "", _PREFIX.sub("", version.last_revised_text))
    if version.effective_on:
        day = version.effective_on
        return f"{day.year}年{day.month}月{day.day}日"
    return ""
