"""Scheduling a draft with its dates and legal basis (R2), and withdrawing a scheduled
version before its effective date (R7). Once scheduled a version never changes (R7); a
correction is a new version."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext

from agreements.enums import VersionStatus
from agreements.models import TermsVersion
from agreements.selectors.authors import (
    four_eyes_required,
    version_author_ids,
    withdrawal_needs_another_person,
)
from agreements.services.version_drafts import (
    clean_categories,
    locked_draft,
    locked_version,
    require_editor,
    staff_actor,
)
from agreements.services.version_text import (
    notice_title_for,
    version_body_hash,
)
from agreements.services.versions.common import (
    NOTIFY_BATCH_SIZE,
    bound_tenants,
    projection_restore,
    version_payload,
)
from agreements.services.versions.schedule_checks import gating_policy, schedule_refusals
from agreements.templatetags.jdates import format_date
from core import clock, generations
from core.enums import AuditAction, EventKind
from core.errors import Conflict, PermissionDenied, ValidationFailed
from core.services import audit_add, event_add
from tenants.authz import Action
from tenants.notify import Note, notify
from tenants.scope import Scope


def _require_publisher(scope: Scope, version: TermsVersion) -> None:
    """Four eyes by authorship: a publisher who neither created, edited nor classified the
    draft (superusers included). The single-person mode (TERMS_REQUIRE_SECOND_PUBLISHER=false)
    exists for a developer's own machine and only works in debug."""
    if not four_eyes_required():
        return
    user = scope.user
    # The one authorization table decides, as in the console and the API.
    is_publisher = scope.is_staff and user is not None and scope.may(Action.PUBLISH)
    if not is_publisher:
        raise PermissionDenied(
            gettext("改定の予定登録には公開担当者（publisher）の権限が必要です。"),
            code="publisher_required",
        )
    assert user is not None  # noqa: S101 -- checked above
    if user.pk in version_author_ids(version):
        raise PermissionDenied(
            gettext(
                "改定を作成・編集・分類した人は予定登録できません。別の公開担当者が確認してください。"
            ),
            code="second_publisher_required",
        )


def _require_second_person(scope: Scope, version: TermsVersion) -> None:
    """Withdrawing a scheduled version is as weighty as scheduling it: the person who
    scheduled it needs a second one to take it back."""
    if withdrawal_needs_another_person(version, scope.user.pk if scope.user else None):
        raise PermissionDenied(
            gettext("予定登録した本人は撤回できません。別の担当者が撤回してください。"),
            code="second_person_required",
        )


# --- scheduling (R2, R7) -------------------------------------------------------------------


@transaction.atomic
def version_schedule(
    *,
    scope: Scope,
    version: TermsVersion,
    notice_on: date,
    effective_on: date,
    consent_mode: str,
    legal_basis: str,
    rationale: str,
    categories: Iterable[Any] | None = None,
    gating_enabled: bool = False,
    gating_rationale: str = "",
    gating_grace_days: int | None = None,
    expected_body_hash: str | None = None,
) -> TermsVersion:
    """Schedule a draft: notice and effective dates, consent mode and legal basis (R2), and
    the gating policy (R4: off unless the publisher sets it with a rationale and a grace
    period; the audit row records it).

    Refuses a notice date in the past, an effective date less than the basis's lead time after
    the notice (TERMS_NOTICE_LEAD_DAYS; TERMS_NOTICE_LEAD_DAYS_REASONABLE for type (ii)), a missing legal basis or rationale, deemed consent for a change that
    needs explicit consent, and a second scheduled version of the document (R7). Computes
    the body hash; the text is frozen from here on. With `expected_body_hash` (the hash of
    the text the publisher reviewed), refuses with `draft_changed` when the text is no
    longer that one.
    """
    require_editor(scope)
    locked = locked_draft(version)
    _require_publisher(scope, locked)
    refusals = schedule_refusals(
        version=locked,
        notice_on=notice_on,
        effective_on=effective_on,
        consent_mode=consent_mode,
        legal_basis=legal_basis,
        rationale=rationale,
        gating_enabled=gating_enabled,
        gating_rationale=gating_rationale,
        gating_grace_days=gating_grace_days,
    )
    if refusals:
        raise refusals[0]
    gating = gating_policy(
        enabled=gating_enabled,
        rationale=gating_rationale,
        grace_days=gating_grace_days,
        consent_mode=consent_mode,
    )
    locked.notice_on = notice_on
    locked.effective_on = effective_on
    locked.consent_mode = consent_mode
    locked.legal_basis = legal_basis
    locked.rationale = rationale.strip()
    locked.gating_enabled, locked.gating_rationale, locked.gating_grace_days = gating
    if categories is not None:
        locked.categories = clean_categories(categories)
    locked.notice_title = notice_title_for(locked)
    locked.status = VersionStatus.SCHEDULED
    locked.scheduled_at = clock.now()
    locked.scheduled_by = scope.user if scope.is_staff else None
    locked.body_hash = version_body_hash(locked)
    if expected_body_hash is not None and expected_body_hash != locked.body_hash:
        # The text under the lock is not the one the publisher reviewed (an edit since).
        raise Conflict(
            gettext(
                "確認した後に改定案の本文が変更されました。変更後の内容をもう一度確認してください。"
            ),
            code="draft_changed",
        )
    try:
        # A savepoint, so the unique index's refusal can be answered inside this transaction.
        with transaction.atomic():
            locked.save()
    except IntegrityError as exc:
        # R7: the partial unique index (one scheduled version per document) lost a race.
        raise ValidationFailed(
            gettext("この文書にはすでに予定登録済みの版があります。撤回してから登録してください。"),
            code="already_scheduled",
        ) from exc
    payload = version_payload(locked)
    event_add(
        kind=EventKind.VERSION_SCHEDULED,
        tenant_id=None,
        partner_id=None,
        subject=locked,
        payload=payload,
    )
    audit_add(
        actor=staff_actor(scope),
        action=AuditAction.SCHEDULE,
        obj=locked,
        summary=f"scheduled {locked.label}: notice {notice_on}, effective {effective_on}"
        + (
            f", gating after {locked.gating_grace_days} days' grace"
            if locked.gating_enabled
            else ""
        ),
        data={
            **payload,
            "rationale": locked.rationale,
            "body_hash": locked.body_hash,
            "gating": {
                "enabled": locked.gating_enabled,
                "rationale": locked.gating_rationale,
                "grace_days": locked.gating_grace_days,
            },
        },
    )
    return locked


@transaction.atomic
def version_withdraw(*, scope: Scope, version: TermsVersion, reason: str) -> TermsVersion:
    """Withdraw a scheduled version before its effective date (R7).

    The withdrawal is public with the notice (the version stays readable, status
    `withdrawn`) and bound tenants who were told of the revision are told of its
    withdrawal. Nothing recorded against the version is deleted.
    """
    require_editor(scope)
    if not (reason or "").strip():
        raise ValidationFailed(gettext("撤回の理由を入力してください。"), code="reason_required")
    locked = locked_version(version)
    if locked.status != VersionStatus.SCHEDULED:
        raise Conflict(
            gettext("予定登録中の版だけを撤回できます（現在: %(status)s）。")
            % {"status": locked.get_status_display()},
            code="not_scheduled",
            status=locked.status,
        )
    _require_second_person(scope, locked)
    today = clock.today()
    assert locked.effective_on is not None  # noqa: S101 -- scheduled versions are dated
    if today >= locked.effective_on:
        raise Conflict(
            gettext("効力発生日（%(effective_on)s）以降は撤回できません。")
            % {"effective_on": format_date(locked.effective_on, weekday=True)},
            code="already_effective",
        )
    now = clock.now()
    generations.bump_on_commit(generations.TERMS)  # no longer pending for anyone
    updated = TermsVersion.objects.filter(pk=locked.pk, status=VersionStatus.SCHEDULED).update(
        status=VersionStatus.WITHDRAWN,
        withdrawn_at=now,
        withdrawal_reason=reason.strip(),
        updated_at=now,
    )
    if updated != 1:  # pragma: no cover -- the row is locked above
        raise Conflict(gettext("版の状態が変わりました。"), code="not_scheduled")
    locked.refresh_from_db()
    notified = 0
    # A revision nobody was told of needs no retraction; a posted one does (R7).
    if locked.posted_at is not None:
        payload = {**version_payload(locked), "reason": locked.withdrawal_reason}
        key = f"version:{locked.pk}:withdrawn"
        notified = notify(
            (
                Note(
                    kind=EventKind.VERSION_WITHDRAWN,
                    tenant=tenant,
                    key=key,
                    payload=payload,
                    subject=locked,
                )
                for tenant in bound_tenants(locked.document, NOTIFY_BATCH_SIZE)
            ),
            batch_size=NOTIFY_BATCH_SIZE,
        ).tenants
    projection_restore(locked, note=gettext("改定が撤回されたため取り下げ"), cause="withdrawn")
    audit_add(
        actor=staff_actor(scope),
        action=AuditAction.WITHDRAW,
        obj=locked,
        summary=f"withdrew {locked.label}",
        data={"reason": locked.withdrawal_reason, "notified": notified},
    )
    return locked
