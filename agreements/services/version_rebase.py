"""Rebase a draft on the document's scheduled revision (R7: one scheduled version at a time).

A draft started from the version in force while a newer version is scheduled would, once
scheduled itself, silently undo the scheduled version's changes (its new articles look
deleted). Rebasing replays the draft's own changes onto the scheduled version's text
(agreements.text.merge) and makes the scheduled version the draft's base.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext

from agreements.enums import AuthorRole, VersionStatus
from agreements.models import Article, TermsVersion
from agreements.selectors.versions import version_pending
from agreements.services.version_drafts import (
    authored,
    locked_draft,
    require_editor,
    staff_actor,
)
from agreements.services.version_text import store_doc, version_doctext
from agreements.text.merge import MergeResult, merge_docs
from core.enums import AuditAction
from core.errors import Conflict
from core.services import audit_add
from tenants.scope import Scope


@dataclass(frozen=True)
class Rebased:
    version: TermsVersion
    onto: TermsVersion
    merge: MergeResult


def draft_behind_scheduled(version: TermsVersion) -> TermsVersion | None:
    """The document's scheduled version when `version` is a draft not based on it (the
    editor should rebase before going on); None otherwise."""
    if version.status != VersionStatus.DRAFT:
        return None
    scheduled = version_pending(document=version.document)
    if scheduled is None or scheduled.pk == version.based_on_id:
        return None
    return scheduled


def _three_way(base: str, mine: str, theirs: str) -> str:
    return theirs if mine == base else mine


@transaction.atomic
def version_draft_rebase(*, scope: Scope, version: TermsVersion) -> Rebased:
    """Replay a draft's changes onto the document's scheduled version and base it there.

    Refuses when nothing is scheduled or the draft is already based on the scheduled
    version. Articles both changed keep the draft's text and are reported (`merge.conflicts`).
    """
    require_editor(scope)
    locked = locked_draft(version)
    onto = version_pending(document=locked.document)
    if onto is None:
        raise Conflict(
            gettext("予定登録済みの版がないため、付け替える必要はありません。"),
            code="nothing_scheduled",
        )
    if onto.pk == locked.based_on_id:
        raise Conflict(
            gettext("この改定案はすでに予定登録済みの版（%(label)s）を元にしています。")
            % {"label": onto.label},
            code="already_rebased",
        )
    base = locked.based_on
    merge = merge_docs(
        base=version_doctext(base), mine=version_doctext(locked), theirs=version_doctext(onto)
    )
    Article.objects.filter(version=locked).delete()
    store_doc(locked, merge.doc)
    base_title = base.title if base else ""
    base_preamble = base.preamble if base else ""
    base_trailer = base.trailer if base else ""
    locked.title = _three_way(base_title, locked.title, onto.title)
    locked.preamble = _three_way(base_preamble, locked.preamble, onto.preamble)
    locked.trailer = _three_way(base_trailer, locked.trailer, onto.trailer)
    previous = locked.based_on_id
    locked.based_on = onto
    locked.save(update_fields=["title", "preamble", "trailer", "based_on", "updated_at"])
    authored(scope, locked, AuthorRole.EDITED, "rebase")
    audit_add(
        actor=staff_actor(scope),
        action=AuditAction.UPDATE,
        obj=locked,
        summary=f"draft {locked.label}: rebased on {onto.label}",
        data={
            "from": previous,
            "onto": onto.pk,
            "taken": merge.taken,
            "conflicts": merge.conflicts,
            "moved": merge.moved,
        },
    )
    return Rebased(version=locked, onto=onto, merge=merge)
