"""Rebase a draft on the document's scheduled revision (R7: one scheduled version at a time),
or, when the draft's base was withdrawn (or lapsed), on the version customers are bound by now.

A draft started from the version in force while a newer version is scheduled would, once
scheduled itself, silently undo the scheduled version's changes (its new articles look
deleted). A draft started from a version that was later withdrawn would, once scheduled,
bring back the withdrawn changes as if they had been in force. Rebasing replays the draft's
own changes onto the newer text (agreements.text.merge) and makes that version the draft's base.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext

from agreements.enums import AuthorRole, VersionStatus
from agreements.models import Article, TermsVersion
from agreements.selectors.versions import version_in_force, version_pending
from agreements.services.version_drafts import (
    authored,
    locked_draft,
    require_editor,
    staff_actor,
)
from agreements.services.version_text import store_doc, version_doctext
from agreements.text.merge import MergeResult, merge_docs
from core import clock
from core.enums import AuditAction
from core.errors import Conflict
from core.services import audit_add
from tenants.scope import Scope


@dataclass(frozen=True)
class Rebased:
    version: TermsVersion
    onto: TermsVersion
    merge: MergeResult


# A base in one of these states never binds anyone: a draft on it should move.
GONE_STATUSES = (VersionStatus.WITHDRAWN, VersionStatus.LAPSED)


@dataclass(frozen=True)
class RebaseOffer:
    """Where a draft should be rebased before going on: `onto` (the scheduled version, else
    the version in force), and `gone` (the draft's base) when that base was withdrawn or
    lapsed, None when the draft is merely behind a newer scheduled version."""

    onto: TermsVersion
    gone: TermsVersion | None = None


def draft_rebase_offer(version: TermsVersion) -> RebaseOffer | None:
    """The rebase the editor should make before going on with the draft `version`; None when
    its base is current (or it is not a draft)."""
    if version.status != VersionStatus.DRAFT:
        return None
    scheduled = version_pending(document=version.document)
    base = version.based_on
    if base is not None and base.status in GONE_STATUSES:
        onto = scheduled or version_in_force(document=version.document, on_date=clock.today())
        if onto is None or onto.pk == base.pk:
            return None
        return RebaseOffer(onto=onto, gone=base)
    if scheduled is None or scheduled.pk == version.based_on_id:
        return None
    return RebaseOffer(onto=scheduled)


def _three_way(base: str, mine: str, theirs: str) -> str:
    return theirs if mine == base else mine


@transaction.atomic
def version_draft_rebase(*, scope: Scope, version: TermsVersion) -> Rebased:
    """Replay a draft's changes onto the version draft_rebase_offer names and base it there.

    Refuses when there is nothing to rebase onto (nothing scheduled and the base not
    withdrawn) or the draft is already based on the scheduled version. Articles both changed
    keep the draft's text and are reported (`merge.conflicts`). Rebasing off a withdrawn base
    drops what that version changed and the draft did not touch: it never took effect.
    """
    require_editor(scope)
    locked = locked_draft(version)
    offer = draft_rebase_offer(locked)
    if offer is None:
        scheduled = version_pending(document=locked.document)
        if scheduled is not None and scheduled.pk == locked.based_on_id:
            raise Conflict(
                gettext("この改定案はすでに予定登録済みの版（%(label)s）を元にしています。")
                % {"label": scheduled.label},
                code="already_rebased",
            )
        raise Conflict(
            gettext("予定登録済みの版がないため、付け替える必要はありません。"),
            code="nothing_scheduled",
        )
    onto = offer.onto
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
            "from_withdrawn": offer.gone is not None,
            "onto": onto.pk,
            "taken": merge.taken,
            "conflicts": merge.conflicts,
            "moved": merge.moved,
        },
    )
    return Rebased(version=locked, onto=onto, merge=merge)
