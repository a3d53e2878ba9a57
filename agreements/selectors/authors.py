"""Who shaped a version before scheduling, and whether four eyes apply (docs/security.md)."""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet

from agreements.models import TermsVersion, VersionAuthor


def four_eyes_required() -> bool:
    """True unless the single-person mode is on, which only a debug process may use.

    Settings refuse TERMS_REQUIRE_SECOND_PUBLISHER=false without DJANGO_DEBUG at start-up;
    this second check keeps a setting changed at run time from switching four eyes off in
    production.
    """
    return bool(settings.TERMS_REQUIRE_SECOND_PUBLISHER) or not settings.DEBUG


def version_author_ids(version: TermsVersion) -> set[int]:
    """Everyone who created, edited or classified `version` (its creator included even
    when the version predates the authors table)."""
    ids = set(
        VersionAuthor.objects.filter(version=version, user__isnull=False).values_list(
            "user_id", flat=True
        )
    )
    if version.created_by_id is not None:
        ids.add(version.created_by_id)
    return ids


def version_authors(version: TermsVersion) -> QuerySet[VersionAuthor]:
    return VersionAuthor.objects.filter(version=version).order_by("first_at", "id")
