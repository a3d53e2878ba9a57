"""A publisher's review of a draft: send it back to its editors with a comment (差し戻し).

Scheduling is the approval (versions/schedule.py); a draft that is not ready goes back with
what to change. The comment is kept in the audit log with the draft, where the approval
history reads it (agreements/selectors/reviews.py); the draft stays a draft.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext

from agreements.models import TermsVersion
from agreements.services.version_drafts import locked_draft, staff_actor
from core.enums import AuditAction
from core.errors import PermissionDenied, ValidationFailed
from core.services import audit_add
from tenants.authz import Action
from tenants.scope import Scope

COMMENT_MAX = 2000


@transaction.atomic
def version_send_back(*, scope: Scope, version: TermsVersion, comment: str) -> TermsVersion:
    """Send a draft back to its editors with a comment. Publishers only (the people who
    approve by scheduling); refuses anything but a draft (R7) and an empty comment."""
    if not (scope.is_staff and scope.may(Action.PUBLISH)):
        raise PermissionDenied(
            gettext("差し戻しには公開担当者（publisher）の権限が必要です。"),
            code="publisher_required",
        )
    comment = (comment or "").strip()
    if not comment:
        raise ValidationFailed(
            gettext("差し戻しの理由（直してほしい点）を入力してください。"),
            code="comment_required",
            field="comment",
        )
    if len(comment) > COMMENT_MAX:
        raise ValidationFailed(
            gettext("コメントは%(max)s文字以内にしてください。") % {"max": COMMENT_MAX},
            code="comment_too_long",
            field="comment",
        )
    locked = locked_draft(version)
    audit_add(
        actor=staff_actor(scope),
        action=AuditAction.SEND_BACK,
        obj=locked,
        summary=f"sent back {locked.label}",
        data={"comment": comment},
    )
    return locked
