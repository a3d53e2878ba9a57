"""The approval history of a version: created, sent back (with the comment), scheduled
(approved), withdrawn — read from the audit log, where each of those actions is written."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from agreements.models import TermsVersion
from core.enums import AuditAction
from core.models import AuditEntry

HISTORY_ACTIONS = (
    AuditAction.CREATE,
    AuditAction.SEND_BACK,
    AuditAction.SCHEDULE,
    AuditAction.WITHDRAW,
)


@dataclass(frozen=True)
class ReviewStep:
    action: str
    label: str
    by: str
    at: datetime
    comment: str


def version_review_history(version: TermsVersion) -> list[ReviewStep]:
    """Oldest first, the version's creation once; one query."""
    labels = dict(AuditAction.choices)
    entries = AuditEntry.objects.filter(
        object_type=TermsVersion._meta.label_lower,
        object_id=version.pk,
        action__in=HISTORY_ACTIONS,
    ).order_by("at", "pk")
    steps: list[ReviewStep] = []
    for entry in entries:
        if entry.action == AuditAction.CREATE and steps:
            # A version is created once: a later `create` row on it is an article added
            # before those were written as updates (agreements.services.version_articles).
            continue
        data = entry.data or {}
        comment = data.get("comment") or data.get("reason") or data.get("rationale") or ""
        steps.append(
            ReviewStep(
                action=entry.action,
                label=str(labels.get(entry.action, entry.action)),
                by=entry.actor_label,
                at=entry.at,
                comment=str(comment),
            )
        )
    return steps


def open_send_back(steps: list[ReviewStep]) -> ReviewStep | None:
    """The latest send-back when nothing approved the draft since: what its editors should fix."""
    for step in reversed(steps):
        if step.action == AuditAction.SEND_BACK:
            return step
        if step.action in (AuditAction.SCHEDULE, AuditAction.WITHDRAW):
            return None
    return None
