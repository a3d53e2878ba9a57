"""Who shaped a version before scheduling, and whether four eyes apply (docs/security.md)."""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet

from agreements.enums import VersionStatus
from agreements.models import TermsVersion, VersionAuthor

# Texts no second person has approved as they stand: a base in one of these states passes
# its authors on to the versions built on it.
_UNREVIEWED = (VersionStatus.DRAFT, VersionStatus.WITHDRAWN, VersionStatus.LAPSED)


def four_eyes_required() -> bool:
    """True unless the single-person mode is on, which only a debug process may use.

    Settings refuse TERMS_REQUIRE_SECOND_PUBLISHER=false without DJANGO_DEBUG at start-up;
    this second check keeps a setting changed at run time from switching four eyes off in
    production.
    """
    return bool(settings.TERMS_REQUIRE_SECOND_PUBLISHER) or not settings.DEBUG


def withdrawal_needs_another_person(version: TermsVersion, user_id: int | None) -> bool:
    """Whether `user_id` scheduled `version` and so may not withdraw it (four eyes: taking a
    scheduled revision back is as weighty as scheduling it). The service refuses it; the
    console says so before the person writes a reason."""
    return (
        four_eyes_required()
        and user_id is not None
        and version.scheduled_by_id is not None
        and version.scheduled_by_id == user_id
    )


def version_author_ids(version: TermsVersion) -> set[int]:
    """Everyone who created, edited or classified `version` (its creator included even
    when the version predates the authors table), and the authors of every unreviewed
    version it was built on: a draft based on another draft (no longer allowed, but such
    drafts may exist), withdrawn or lapsed version carries that text's authors with it."""
    ids: set[int] = set()
    seen: set[int] = set()
    current: TermsVersion | None = version
    while current is not None and current.pk not in seen:
        seen.add(current.pk)
        ids.update(
            VersionAuthor.objects.filter(version=current, user__isnull=False).values_list(
                "user_id", flat=True
            )
        )
        if current.created_by_id is not None:
            ids.add(current.created_by_id)
        base = current.based_on if current.based_on_id is not None else None
        current = base if base is not None and base.status in _UNREVIEWED else None
    return ids


def version_authors(version: TermsVersion) -> QuerySet[VersionAuthor]:
    return VersionAuthor.objects.filter(version=version).order_by("first_at", "id")
