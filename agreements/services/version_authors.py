"""The record of who shaped a draft (four eyes by authorship, docs/security.md).

Every draft service calls `version_author_record` with the version locked, so the row per
person and role is read and written without a race. Scheduling refuses anyone recorded here.
"""

from __future__ import annotations

from collections.abc import Iterable

from agreements.enums import AuthorRole
from agreements.models import TermsVersion, VersionAuthor
from core import clock
from tenants.scope import Scope

__all__ = ["CLASSIFYING_FIELDS", "MAX_SUBJECTS", "version_author_record", "version_author_roles"]

# Fields that classify the change rather than word it: how customers are asked (R2, R4) and
# which notice category each passage falls in.
CLASSIFYING_FIELDS = frozenset(
    {"categories", "consent_mode", "legal_basis", "rationale", "change_clause"}
)

# A draft autosaves while typing; the list of what changed stays short and distinct.
MAX_SUBJECTS = 50


def version_author_roles(fields: Iterable[str]) -> dict[str, list[str]]:
    """Split changed field names into the roles they record: classified or edited."""
    roles: dict[str, list[str]] = {}
    for name in sorted(set(fields)):
        role = AuthorRole.CLASSIFIED if name in CLASSIFYING_FIELDS else AuthorRole.EDITED
        roles.setdefault(role, []).append(name)
    return roles


def version_author_record(
    *, scope: Scope, version: TermsVersion, role: str, subjects: Iterable[str]
) -> VersionAuthor | None:
    """Note that the person behind `scope` shaped `version` in `role` (call with the version
    locked, inside the change's transaction). The system and partner keys are nobody."""
    user = scope.user if scope.is_staff else None
    if user is None or not getattr(user, "pk", None):
        return None
    now = clock.now()
    author = (
        VersionAuthor.objects.select_for_update()
        .filter(version=version, user=user, role=role)
        .first()
    )
    if author is None:
        return VersionAuthor.objects.create(
            version=version,
            user=user,
            user_label=str(getattr(user, "username", "")) or str(user.pk),
            role=role,
            subjects=sorted(set(subjects))[:MAX_SUBJECTS],
            changes=1,
            first_at=now,
            last_at=now,
        )
    author.subjects = sorted({*author.subjects, *subjects})[:MAX_SUBJECTS]
    author.changes += 1
    author.last_at = now
    author.save(update_fields=["subjects", "changes", "last_at"])
    return author
