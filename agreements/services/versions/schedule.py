"""Scheduling a draft with its dates and legal basis (R2), and withdrawing a scheduled
version before its effective date (R7). Once scheduled a version never changes (R7); a
correction is a new version."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext

from agreements import rules
from agreements.enums import ConsentMode, LegalBasis, VersionStatus
from agreements.models import Article, TermsVersion
from agreements.selectors.authors import four_eyes_required, version_author_ids
from agreements.selectors.versions import version_in_force
from agreements.services.consents.reach import lead_days_for
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
    version_diff,
    version_predecessor,
)
from agreements.services.versions.common import (
    NOTIFY_BATCH_SIZE,
    bound_tenants,
    projection_restore,
    version_payload,
)
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
    if not four_eyes_required() or scope.user is None:
        return
    if version.scheduled_by_id is not None and version.scheduled_by_id == scope.user.pk:
        raise PermissionDenied(
            gettext("予定登録した本人は撤回できません。別の担当者が撤回してください。"),
            code="second_person_required",
        )


# --- scheduling (R2, R7) -------------------------------------------------------------------


def _schedule_problems(
    *, notice_on: date, effective_on: date, today: date, lead_days: int, reasonable: bool = False
) -> ValidationFailed | None:
    problems = rules.validate_schedule(
        notice_on=notice_on, effective_on=effective_on, today=today, lead_days=lead_days
    )
    if not problems:
        return None
    earliest = rules.earliest_effective_on(notice_on=notice_on, lead_days=lead_days)
    # Dates as people read them (the one formatter, agreements/templatetags/jdates.py).
    values = {
        "notice_on": format_date(notice_on, weekday=True),
        "effective_on": format_date(effective_on, weekday=True),
        "today": format_date(today, weekday=True),
        "lead": lead_days,
        "earliest": format_date(earliest, weekday=True),
    }
    texts = {
        rules.NOTICE_IN_PAST: gettext("掲示日 %(notice_on)s は本日 %(today)s より前です。"),
        rules.EFFECTIVE_BEFORE_NOTICE: gettext(
            "効力発生日 %(effective_on)s は掲示日 %(notice_on)s より後にしてください。"
        ),
        rules.LEAD_TIME_TOO_SHORT: (
            gettext(
                "契約の目的に照らして合理的な変更（民法548条の4第1項2号）は、"
                "効力発生日を掲示日から%(lead)s日以上後（%(earliest)s 以降）にしてください。"
            )
            if reasonable
            else gettext(
                "効力発生日は掲示日から%(lead)s日以上後（%(earliest)s 以降）にしてください。"
            )
        ),
    }
    return ValidationFailed(
        " ".join(texts[p] % values for p in problems),
        code=problems[0],
        problems=problems,
        earliest_effective_on=earliest.isoformat(),
    )


# R4: the smallest grace period a gating policy may give after the effective date.
GATING_MIN_GRACE_DAYS = 1


def _gating_policy(
    *, enabled: bool, rationale: str, grace_days: int | None, consent_mode: str
) -> tuple[bool, str, int | None]:
    """The version's gating policy as it will be stored (R4): off by default; on only for an
    explicit-consent revision, with a legal rationale and a grace period."""
    if not enabled:
        return False, "", None
    if consent_mode != ConsentMode.EXPLICIT:
        raise ValidationFailed(
            gettext("利用制限の方針は「明示の同意」方式の改定にのみ設定できます。"),
            code="gating_needs_explicit",
        )
    if not (rationale or "").strip():
        raise ValidationFailed(
            gettext(
                "利用制限の方針には、回答のないお客様の利用を制限できる法的根拠を入力してください。"
            ),
            code="gating_rationale_required",
        )
    if grace_days is None or grace_days < GATING_MIN_GRACE_DAYS:
        raise ValidationFailed(
            gettext("利用制限までの猶予期間を%(days)s日以上で入力してください。")
            % {"days": GATING_MIN_GRACE_DAYS},
            code="gating_grace_required",
        )
    return True, rationale.strip(), grace_days


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
    if legal_basis not in LegalBasis.values:
        raise ValidationFailed(
            gettext("法的根拠（民法548条の4第1項1号・2号、又は個別の同意）を選択してください。"),
            code="legal_basis_required",
        )
    if not (rationale or "").strip():
        raise ValidationFailed(
            gettext("変更の必要性・相当性（変更の理由）を入力してください。"),
            code="rationale_required",
        )
    if consent_mode not in ConsentMode.values:
        raise ValidationFailed(gettext("同意の方式が正しくありません。"), code="invalid_mode")
    if legal_basis == LegalBasis.EXPLICIT_CONSENT and consent_mode != ConsentMode.EXPLICIT:
        # R2: a change that is neither in the general interest nor reasonable needs
        # each customer's consent (R4), never deemed consent.
        raise ValidationFailed(
            gettext("個別の同意による変更は「明示の同意」方式でのみ予定登録できます。"),
            code="explicit_consent_required",
        )
    gating = _gating_policy(
        enabled=gating_enabled,
        rationale=gating_rationale,
        grace_days=gating_grace_days,
        consent_mode=consent_mode,
    )
    problem = _schedule_problems(
        notice_on=notice_on,
        effective_on=effective_on,
        today=clock.today(),
        # R2: the lead time of the revision's basis, checked here against the planned notice
        # date so that a type-(ii) change is not accepted only to lapse at its effective date.
        lead_days=lead_days_for(legal_basis),
        reasonable=legal_basis == LegalBasis.REASONABLE,
    )
    if problem is not None:
        raise problem
    if locked.is_excerpt:
        # R2 posts the new text itself; an excerpt (only the passages a notice quoted) is
        # not the whole text a customer agrees to.
        raise ValidationFailed(
            gettext("抜粋の版は予定登録できません。全文を取り込んでから改定してください。"),
            code="excerpt_not_schedulable",
        )
    if not Article.objects.filter(version=locked).exists():
        raise ValidationFailed(gettext("条のない版は予定登録できません。"), code="empty_version")
    base = locked.based_on
    if base is not None and base.status in (VersionStatus.WITHDRAWN, VersionStatus.LAPSED):
        # R7: the base never took effect, and customers were told so; a draft built on it
        # would bring its withdrawn changes back (by silence, in deemed mode) unannounced.
        raise ValidationFailed(
            gettext(
                "この改定案の元にした版「%(label)s」は%(status)sのため、予定登録できません。"
                "現在有効な版を元に改定案を作り直すか、元の版の変更を残すかを確認してください。"
            )
            % {"label": base.label, "status": base.get_status_display()},
            code="based_on_withdrawn",
            based_on=base.pk,
        )
    current = version_in_force(document=locked.document, on_date=clock.today())
    if current is not None and current.effective_on and effective_on <= current.effective_on:
        raise ValidationFailed(
            gettext("効力発生日は現行の版（%(current)s）より後にしてください。")
            % {"current": format_date(current.effective_on, weekday=True)},
            code="effective_not_after_current",
        )
    predecessor = version_predecessor(locked)
    if not version_diff(before=predecessor, after=locked).has_changes:
        raise ValidationFailed(gettext("元の版から変更がありません。"), code="no_changes")
    other = (
        TermsVersion.objects.filter(document=locked.document, status=VersionStatus.SCHEDULED)
        .exclude(pk=locked.pk)
        .first()
    )
    if other is not None:
        raise ValidationFailed(
            gettext(
                "この文書にはすでに予定登録済みの版（%(label)s）があります。撤回してから登録してください。"
            )
            % {"label": other.label},
            code="already_scheduled",
            scheduled_version=other.pk,
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
