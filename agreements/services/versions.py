"""The lifecycle of a terms version: draft → scheduled → effective → superseded, or
withdrawn / lapsed (DESIGN: Versions; R2, R5, R7).

Staff draft a revision (a copy of the version in force), edit its articles, and schedule
it with its legal basis (R2). The jobs post the notice on its notice date
(`notices_post_due`) and apply it on its effective date (`versions_apply_effective`).
Once scheduled a version never changes (R7); a correction is a new version.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.translation import gettext

from agreements import rules
from agreements.enums import ConsentMode, LegalBasis, VersionStatus
from agreements.models import Article, ConsentState, TermsDocument, TermsVersion
from agreements.selectors.versions import tenants_to_notify, version_in_force
from agreements.services.version_drafts import (
    EDITABLE_FIELDS,
    article_delete,
    article_upsert,
    articles_renumber,
    clean_categories,
    locked_draft,
    locked_version,
    require_editor,
    staff_actor,
    version_articles_replace,
    version_draft_create,
    version_draft_update,
)
from agreements.services.version_text import (
    NoticeTable,
    notice_table,
    notice_title_for,
    version_body_hash,
    version_diff,
    version_doctext,
    version_predecessor,
)
from core import clock
from core.enums import AuditAction, EventKind
from core.errors import Conflict, PermissionDenied, ValidationFailed
from core.services import audit_add, event_add
from tenants.models import Tenant
from tenants.notify import notify_staff, notify_tenants
from tenants.scope import Scope

__all__ = [
    "EDITABLE_FIELDS",
    "NoticeTable",
    "article_delete",
    "article_upsert",
    "articles_renumber",
    "notice_post",
    "notice_table",
    "notices_post_due",
    "version_articles_replace",
    "version_body_hash",
    "version_diff",
    "version_doctext",
    "version_draft_create",
    "version_draft_update",
    "version_payload",
    "version_predecessor",
    "version_schedule",
    "version_withdraw",
    "versions_apply_effective",
]

PUBLISHER_GROUP = "publisher"


def _require_publisher(scope: Scope, version: TermsVersion) -> None:
    """Four eyes (setting TERMS_REQUIRE_SECOND_PUBLISHER): a publisher other than the author."""
    if not settings.TERMS_REQUIRE_SECOND_PUBLISHER:
        return
    user = scope.user
    is_publisher = (
        scope.is_staff
        and user is not None
        and getattr(user, "is_staff", False)
        and (
            getattr(user, "is_superuser", False)
            or user.groups.filter(name=PUBLISHER_GROUP).exists()
        )
    )
    if not is_publisher:
        raise PermissionDenied(
            gettext("改定の予定登録には公開担当者（publisher）の権限が必要です。"),
            code="publisher_required",
        )
    assert user is not None  # noqa: S101 -- checked above
    if version.created_by_id is not None and version.created_by_id == user.pk:
        raise PermissionDenied(
            gettext("改定を作成した本人は予定登録できません。別の公開担当者が確認してください。"),
            code="second_publisher_required",
        )


def _projection_restore(version: TermsVersion, *, note: str) -> int:
    """Point consent states that follow a withdrawn or lapsed version back at the version in
    force and drop the R6 cases its rejections opened (the ledger rows recorded against it
    stay, R7)."""
    from agreements.services.consents import (  # noqa: PLC0415 -- consents builds on versions
        cases_drop_for_version,
        consent_state_rebuild,
    )

    cases_drop_for_version(version=version, note=note)
    affected = list(
        ConsentState.objects.filter(version=version).values_list("tenant_id", flat=True)
    )
    return consent_state_rebuild(tenant_ids=affected) if affected else 0


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def version_payload(version: TermsVersion) -> dict[str, Any]:
    """What notices, events and webhooks say about a version (JSON-serialisable)."""
    base = settings.TERMS_PORTAL_BASE_URL.rstrip("/")
    return {
        "version_id": version.pk,
        "document_id": version.document_id,
        "document": version.document.title,
        "product": version.document.product.code,
        "label": version.label,
        "title": version.title,
        "notice_title": notice_title_for(version),
        "notice_on": _iso(version.notice_on),
        "effective_on": _iso(version.effective_on),
        "consent_mode": version.consent_mode,
        "legal_basis": version.legal_basis,
        "portal_url": base + reverse("portal:home"),
        "notice_url": base + reverse("public:notice-detail", kwargs={"pk": version.pk}),
    }


# --- scheduling (R2, R7) -------------------------------------------------------------------


def _schedule_problems(
    *, notice_on: date, effective_on: date, today: date, lead_days: int
) -> ValidationFailed | None:
    problems = rules.validate_schedule(
        notice_on=notice_on, effective_on=effective_on, today=today, lead_days=lead_days
    )
    if not problems:
        return None
    earliest = rules.earliest_effective_on(notice_on=notice_on, lead_days=lead_days)
    values = {
        "notice_on": notice_on.isoformat(),
        "effective_on": effective_on.isoformat(),
        "today": today.isoformat(),
        "lead": lead_days,
        "earliest": earliest.isoformat(),
    }
    texts = {
        rules.NOTICE_IN_PAST: gettext("掲示日 %(notice_on)s は本日 %(today)s より前です。"),
        rules.EFFECTIVE_BEFORE_NOTICE: gettext(
            "効力発生日 %(effective_on)s は掲示日 %(notice_on)s より後にしてください。"
        ),
        rules.LEAD_TIME_TOO_SHORT: gettext(
            "効力発生日は掲示日から%(lead)s日以上後（%(earliest)s 以降）にしてください。"
        ),
    }
    return ValidationFailed(
        " ".join(texts[p] % values for p in problems),
        code=problems[0],
        problems=problems,
        earliest_effective_on=earliest.isoformat(),
    )


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
) -> TermsVersion:
    """Schedule a draft: notice and effective dates, consent mode and legal basis (R2).

    Refuses a notice date in the past, an effective date less than TERMS_NOTICE_LEAD_DAYS
    after the notice, a missing legal basis or rationale, deemed consent for a change that
    needs explicit consent, and a second scheduled version of the document (R7). Computes
    the body hash; the text is frozen from here on.
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
    problem = _schedule_problems(
        notice_on=notice_on,
        effective_on=effective_on,
        today=clock.today(),
        lead_days=settings.TERMS_NOTICE_LEAD_DAYS,
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
    current = version_in_force(document=locked.document, on_date=clock.today())
    if current is not None and current.effective_on and effective_on <= current.effective_on:
        raise ValidationFailed(
            gettext("効力発生日は現行の版（%(current)s）より後にしてください。")
            % {"current": current.effective_on.isoformat()},
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
    if categories is not None:
        locked.categories = clean_categories(categories)
    locked.notice_title = notice_title_for(locked)
    locked.status = VersionStatus.SCHEDULED
    locked.scheduled_at = clock.now()
    locked.scheduled_by = scope.user if scope.is_staff else None
    locked.body_hash = version_body_hash(locked)
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
        summary=f"scheduled {locked.label}: notice {notice_on}, effective {effective_on}",
        data={**payload, "rationale": locked.rationale, "body_hash": locked.body_hash},
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
    today = clock.today()
    assert locked.effective_on is not None  # noqa: S101 -- scheduled versions are dated
    if today >= locked.effective_on:
        raise Conflict(
            gettext("効力発生日（%(effective_on)s）以降は撤回できません。")
            % {"effective_on": locked.effective_on.isoformat()},
            code="already_effective",
        )
    now = clock.now()
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
        notified = notify_tenants(
            kind=EventKind.VERSION_WITHDRAWN,
            items=(
                (tenant, key, payload, locked)
                for tenant in _bound_tenants(locked.document, NOTIFY_BATCH_SIZE)
            ),
            batch_size=NOTIFY_BATCH_SIZE,
        )
    _projection_restore(locked, note=gettext("改定が撤回されたため取り下げ"))
    audit_add(
        actor=staff_actor(scope),
        action=AuditAction.WITHDRAW,
        obj=locked,
        summary=f"withdrew {locked.label}",
        data={"reason": locked.withdrawal_reason, "notified": notified},
    )
    return locked


# Tenants notified per batch when a revision is posted or withdrawn (one set of queries each).
NOTIFY_BATCH_SIZE = 1000


def _bound_tenants(document: TermsDocument, chunk_size: int) -> Iterator[Tenant]:
    # Streamed: a revision may bind 100,000 tenants, which need not all sit in memory at once.
    return tenants_to_notify(document=document).iterator(chunk_size=chunk_size)


# --- jobs: posting (R2) and taking effect (R2, R5) ---------------------------------------------


@transaction.atomic
def notice_post(*, version: TermsVersion) -> bool:
    """Post a scheduled version's notice: set posted_at once and tell bound tenants.

    Returns False when the notice was already posted (or the version is no longer
    scheduled); the conditional UPDATE makes a concurrent second run a no-op.
    """
    now = clock.now()
    updated = TermsVersion.objects.filter(
        pk=version.pk, status=VersionStatus.SCHEDULED, posted_at__isnull=True
    ).update(posted_at=now, updated_at=now)
    if updated != 1:
        return False
    posted = TermsVersion.objects.select_related("document", "document__product").get(pk=version.pk)
    payload = version_payload(posted)
    key = f"version:{posted.pk}:posted"
    # Set-based: a constant number of queries per batch of tenants, not seven per tenant.
    notify_tenants(
        kind=EventKind.NOTICE_POSTED,
        items=(
            (tenant, key, payload, posted)
            for tenant in _bound_tenants(posted.document, NOTIFY_BATCH_SIZE)
        ),
        batch_size=NOTIFY_BATCH_SIZE,
    )
    from agreements.services.consents import (  # noqa: PLC0415 -- consents builds on versions
        consent_states_open,
    )

    consent_states_open(version=posted)
    version.posted_at = posted.posted_at
    return True


def notices_post_due(*, today: date) -> dict[str, int]:
    """Post every scheduled notice whose notice date has come (each in its own transaction)."""
    due = list(
        TermsVersion.objects.filter(
            status=VersionStatus.SCHEDULED, posted_at__isnull=True, notice_on__lte=today
        )
        .order_by("notice_on", "pk")
        .values_list("pk", flat=True)[: settings.TERMS_JOB_BATCH_SIZE]
    )
    posted = 0
    for pk in due:
        posted += notice_post(version=TermsVersion(pk=pk))
    return {"due": len(due), "posted": posted}


@transaction.atomic
def _apply_one(pk: int, today: date) -> str | None:
    # The row lock serialises concurrent runs; the status filter is re-checked after the
    # wait, so the second run finds nothing to do.
    version = (
        TermsVersion.objects.select_for_update(of=("self",))
        .select_related("document", "document__product")
        .filter(pk=pk, status=VersionStatus.SCHEDULED, effective_on__lte=today)
        .first()
    )
    if version is None:
        return None
    assert version.effective_on is not None  # noqa: S101 -- scheduled versions are dated
    now = clock.now()
    posted_on = clock.business_date(version.posted_at) if version.posted_at else None
    if version.legal_basis and rules.revision_lapses(
        legal_basis=version.legal_basis, posted_on=posted_on, effective_on=version.effective_on
    ):
        # CC 548-4(3): a type-(ii) change not posted before its effective date never
        # takes effect (R2).
        TermsVersion.objects.filter(pk=pk, status=VersionStatus.SCHEDULED).update(
            status=VersionStatus.LAPSED, lapsed_at=now, updated_at=now
        )
        version.refresh_from_db()
        payload = version_payload(version)
        notify_staff(kind=EventKind.VERSION_LAPSED, key=f"version:{pk}:lapsed", payload=payload)
        if version.posted_at is not None:
            # Tenants saw the (late) notice; tell them it does not take effect.
            key = f"version:{pk}:lapsed"
            notify_tenants(
                kind=EventKind.VERSION_LAPSED,
                items=(
                    (tenant, key, payload, version)
                    for tenant in _bound_tenants(version.document, NOTIFY_BATCH_SIZE)
                ),
                batch_size=NOTIFY_BATCH_SIZE,
            )
        _projection_restore(version, note=gettext("改定が効力を生じなかった（失効）ため取り下げ"))
        audit_add(
            actor=None,
            action=AuditAction.UPDATE,
            obj=version,
            summary=f"lapsed {version.label}: not posted before {version.effective_on}",
            data={"posted_at": version.posted_at.isoformat() if version.posted_at else None},
        )
        return "lapsed"
    # R5: the version takes effect on its date, whatever the state of consent.
    superseded = (
        TermsVersion.objects.filter(document=version.document, status=VersionStatus.EFFECTIVE)
        .exclude(pk=pk)
        .update(status=VersionStatus.SUPERSEDED, superseded_on=version.effective_on, updated_at=now)
    )
    TermsVersion.objects.filter(pk=pk, status=VersionStatus.SCHEDULED).update(
        status=VersionStatus.EFFECTIVE, updated_at=now
    )
    version.refresh_from_db()
    from agreements.services.consents import (  # noqa: PLC0415 -- consents builds on versions
        consents_apply_effective,
    )

    consents = consents_apply_effective(version=version, today=today)
    event_add(
        kind=EventKind.VERSION_EFFECTIVE,
        tenant_id=None,
        partner_id=None,
        subject=version,
        payload=version_payload(version),
    )
    audit_add(
        actor=None,
        action=AuditAction.UPDATE,
        obj=version,
        summary=f"effective {version.label} on {version.effective_on}",
        data={"superseded": superseded, "consents": dict(consents or {})},
    )
    return "superseded_previous" if superseded else "effective"


def versions_apply_effective(*, today: date) -> dict[str, int]:
    """Apply scheduled versions whose effective date has come: effective (and the previous
    version superseded), or lapsed (R2). Idempotent; each version in its own transaction."""
    due = list(
        TermsVersion.objects.filter(status=VersionStatus.SCHEDULED, effective_on__lte=today)
        .order_by("effective_on", "pk")
        .values_list("pk", flat=True)[: settings.TERMS_JOB_BATCH_SIZE]
    )
    counts = {"due": len(due), "effective": 0, "superseded": 0, "lapsed": 0}
    for pk in due:
        outcome = _apply_one(pk, today)
        if outcome == "lapsed":
            counts["lapsed"] += 1
        elif outcome is not None:
            counts["effective"] += 1
            counts["superseded"] += outcome == "superseded_previous"
    return counts
