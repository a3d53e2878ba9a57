"""The lifecycle of a terms version: draft → scheduled → effective → superseded, or
withdrawn / lapsed (DESIGN: Versions; R2, R5, R7).

Staff draft a revision (a copy of the version in force), edit its articles, and schedule
it with its legal basis (R2). The jobs post the notice on its notice date
(`notices_post_due`) and apply it on its effective date (`versions_apply_effective`).
Once scheduled a version never changes (R7); a correction is a new version.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext

from agreements import rules
from agreements.enums import ChangeCategory, ConsentMode, LegalBasis, VersionStatus
from agreements.models import Article, ConsentState, Paragraph, TermsDocument, TermsVersion
from agreements.selectors.versions import tenants_to_notify, version_in_force
from agreements.services.version_text import (
    NoticeTable,
    copy_articles,
    full_width,
    notice_table,
    notice_title_for,
    rows_from_parsed,
    store_doc,
    version_body_hash,
    version_diff,
    version_doctext,
    version_predecessor,
)
from agreements.text.diff import DocText
from agreements.text.parser import ParsedTerms, ParseError, parse_terms
from core.enums import AuditAction, EventKind
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.services import audit_add, event_add
from tenants.notify import notify_staff, notify_tenant
from tenants.scope import Scope
from terms_site import clock

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
EDITOR_GROUPS = frozenset({"editor", "publisher"})

# Fields staff may change on a draft; the lifecycle fields move only through the services.
EDITABLE_FIELDS = frozenset(
    {
        "label",
        "title",
        "preamble",
        "trailer",
        "last_revised_text",
        "consent_mode",
        "legal_basis",
        "rationale",
        "change_clause",
        "categories",
        "notice_title",
        "notice_body",
        "notice_on",
        "effective_on",
    }
)

_HEADING_NUMBER = re.compile(r"^第\s*[0-9０-９]+\s*条")


# --- guards ------------------------------------------------------------------------------


def _require_editor(scope: Scope) -> None:
    """Staff (not viewer-only) and the system may write versions; nobody else."""
    if scope.is_system:
        return
    user = scope.user
    if not scope.is_staff or user is None or not getattr(user, "is_staff", False):
        raise PermissionDenied(gettext("規約の版を編集できるのは当社スタッフのみです。"))
    if getattr(user, "is_superuser", False):
        return
    groups = set(user.groups.values_list("name", flat=True))  # type: ignore[attr-defined]
    if "viewer" in groups and not groups & EDITOR_GROUPS:
        raise PermissionDenied(gettext("閲覧担当者は規約の版を編集できません。"))


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
            or user.groups.filter(name=PUBLISHER_GROUP).exists()  # type: ignore[attr-defined]
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


def _locked(version: TermsVersion) -> TermsVersion:
    try:
        return (
            TermsVersion.objects.select_for_update().select_related("document").get(pk=version.pk)
        )
    except TermsVersion.DoesNotExist:
        raise NotFound(gettext("規約の版が見つかりません。")) from None


def _locked_draft(version: TermsVersion) -> TermsVersion:
    """The version, locked; refuses anything but a draft (R7: scheduled and posted versions
    are immutable, a correction is a new version)."""
    locked = _locked(version)
    if locked.status != VersionStatus.DRAFT:
        raise Conflict(
            gettext(
                "版「%(label)s」は%(status)sのため変更できません。訂正は新しい版として作成してください。"
            )
            % {"label": locked.label, "status": locked.get_status_display()},
            code="version_immutable",
            status=locked.status,
        )
    return locked


def _projection_restore(version: TermsVersion) -> int:
    """Point consent states that follow a withdrawn or lapsed version back at the version in
    force (the ledger rows recorded against it stay, R7)."""
    from agreements.services.consents import (  # noqa: PLC0415 -- consents builds on versions
        consent_state_rebuild,
    )

    affected = list(
        ConsentState.objects.filter(version=version).values_list("tenant_id", flat=True)
    )
    return consent_state_rebuild(tenant_ids=affected) if affected else 0


def _actor(scope: Scope) -> Any:
    return scope.user if scope.is_staff else None


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _label_free(document: TermsDocument, label: str, *, exclude: int | None = None) -> None:
    qs = TermsVersion.objects.filter(document=document, label=label)
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    if qs.exists():
        raise ValidationFailed(
            gettext("版「%(label)s」はすでにあります。") % {"label": label},
            code="duplicate_label",
            label=label,
        )


def _clean_label(label: str) -> str:
    label = (label or "").strip()
    if not label:
        raise ValidationFailed(gettext("版の名前を入力してください。"), code="label_required")
    return label


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
        "portal_url": f"{base}/portal/",
        "notice_url": f"{base}/notices/{version.pk}/",
    }


# --- drafts ------------------------------------------------------------------------------


@transaction.atomic
def version_draft_create(
    *,
    scope: Scope,
    document: TermsDocument,
    label: str,
    based_on: TermsVersion | None = None,
    title: str | None = None,
) -> TermsVersion:
    """A new draft: a copy (articles and paragraphs) of `based_on` or the version in force."""
    _require_editor(scope)
    label = _clean_label(label)
    _label_free(document, label)
    if based_on is not None and based_on.document_id != document.pk:
        raise ValidationFailed(
            gettext("別の文書の版を元にすることはできません。"), code="based_on_other_document"
        )
    source = based_on or version_in_force(document=document, on_date=clock.today())
    version = TermsVersion.objects.create(
        document=document,
        label=label,
        status=VersionStatus.DRAFT,
        title=title or (source.title if source else document.title),
        preamble=source.preamble if source else "",
        trailer=source.trailer if source else "",
        is_excerpt=source.is_excerpt if source else False,
        consent_mode=source.consent_mode if source else ConsentMode.DEEMED,
        change_clause=(
            source.change_clause
            if source
            else TermsVersion._meta.get_field("change_clause").default
        ),
        based_on=source,
        created_by=_actor(scope),
    )
    copied = copy_articles(source, version) if source else 0
    audit_add(
        actor=_actor(scope),
        action=AuditAction.CREATE,
        obj=version,
        summary=f"draft {document.slug} {label}",
        data={"based_on": source.pk if source else None, "articles": copied},
    )
    return version


@transaction.atomic
def version_draft_update(*, scope: Scope, version: TermsVersion, **fields: Any) -> TermsVersion:
    """Change a draft's fields (EDITABLE_FIELDS); anything but a draft is refused (R7)."""
    _require_editor(scope)
    unknown = sorted(set(fields) - EDITABLE_FIELDS)
    if unknown:
        raise ValidationFailed(
            gettext("変更できない項目です: %(fields)s") % {"fields": ", ".join(unknown)},
            code="field_not_editable",
            fields=unknown,
        )
    locked = _locked_draft(version)
    if "label" in fields:
        fields["label"] = _clean_label(fields["label"])
        _label_free(locked.document, fields["label"], exclude=locked.pk)
    if fields.get("consent_mode") not in (None, *ConsentMode.values):
        raise ValidationFailed(gettext("同意の方式が正しくありません。"), code="invalid_mode")
    if fields.get("legal_basis") not in (None, "", *LegalBasis.values):
        raise ValidationFailed(gettext("法的根拠が正しくありません。"), code="invalid_legal_basis")
    if "categories" in fields:
        fields["categories"] = _clean_categories(fields["categories"])
    changed: dict[str, Any] = {}
    for name, value in fields.items():
        if getattr(locked, name) != value:
            changed[name] = value
            setattr(locked, name, value)
    if locked.notice_on and locked.effective_on and locked.notice_on > locked.effective_on:
        raise ValidationFailed(
            gettext("掲示日は効力発生日より前にしてください。"), code="effective_before_notice"
        )
    if changed:
        locked.save(update_fields=[*changed, "updated_at"])
        audit_add(
            actor=_actor(scope),
            action=AuditAction.UPDATE,
            obj=locked,
            summary=f"draft {locked.label}: {', '.join(sorted(changed))}",
            data={name: str(value) for name, value in changed.items()},
        )
    return locked


@transaction.atomic
def version_articles_replace(
    *, scope: Scope, version: TermsVersion, doc: DocText | ParsedTerms
) -> TermsVersion:
    """Replace all of a draft's articles with `doc` (a parsed text or a DocText)."""
    _require_editor(scope)
    locked = _locked_draft(version)
    Article.objects.filter(version=locked).delete()
    articles = store_doc(locked, doc)
    if isinstance(doc, ParsedTerms):
        locked.preamble, locked.trailer = doc.preamble, doc.trailer
        locked.save(update_fields=["preamble", "trailer", "updated_at"])
    audit_add(
        actor=_actor(scope),
        action=AuditAction.UPDATE,
        obj=locked,
        summary=f"draft {locked.label}: articles replaced",
        data={"articles": len(articles)},
    )
    return locked


def _parse_article_body(number: int, title: str, body: str) -> ParsedTerms:
    title = (title or "").strip()
    if not title or re.search(r"[（）()]", title):
        raise ValidationFailed(
            gettext("条の表題を括弧なしで入力してください。"), code="invalid_article_title"
        )
    if number < 1:
        raise ValidationFailed(gettext("条番号は1以上です。"), code="invalid_article_number")
    # The parser reads a whole document whose first article is 第1条; the body lines are
    # numbered from line 2, so a ParseError's line - 1 is the line of the body.
    try:
        parsed = parse_terms(f"第1条（{title}）\n{body}")
    except ParseError as exc:
        raise ValidationFailed(
            gettext("本文%(line)d行目: %(error)s")
            % {"line": max(exc.line - 1, 1), "error": exc.message},
            code="parse_error",
            line=max(exc.line - 1, 1),
        ) from exc
    if len(parsed.articles) != 1 or parsed.trailer:
        raise ValidationFailed(
            gettext("本文には一つの条だけを入力してください（見出しや「以上」は含めません）。"),
            code="not_one_article",
        )
    return parsed


def _reposition(articles: list[Article]) -> None:
    """Give `articles` positions 1..n in list order without tripping the unique index."""
    if not articles:
        return
    offset = max(a.position for a in articles) + len(articles) + 1
    for index, article in enumerate(articles):
        Article.objects.filter(pk=article.pk).update(position=offset + index)
    for index, article in enumerate(articles, start=1):
        Article.objects.filter(pk=article.pk).update(position=index)
        article.position = index


@transaction.atomic
def article_upsert(
    *, scope: Scope, version: TermsVersion, number: int, title: str, body: str
) -> Article:
    """Create or replace article `number` of a draft from its plain text body.

    The body is written as in the documents: paragraphs ``1.``, items ``(1)``. A new article
    goes in number order.
    """
    _require_editor(scope)
    locked = _locked_draft(version)
    parsed = _parse_article_body(number, title, body)
    [(_, paragraphs)] = rows_from_parsed(parsed)
    heading = f"第{full_width(number)}条（{title.strip()}）"
    article = Article.objects.filter(version=locked, number=number).first()
    created = article is None
    if article is None:
        ordered = list(Article.objects.filter(version=locked).order_by("position"))
        article = Article.objects.create(
            version=locked,
            position=(max((a.position for a in ordered), default=0) + 1),
            number=number,
            heading=heading,
            title=title.strip(),
        )
        index = next((i for i, a in enumerate(ordered) if a.number > number), len(ordered))
        _reposition([*ordered[:index], article, *ordered[index:]])
    else:
        article.heading, article.title = heading, title.strip()
        article.save(update_fields=["heading", "title"])
        article.paragraphs.all().delete()
    for row in paragraphs:
        row.article = article
    Paragraph.objects.bulk_create(paragraphs)
    audit_add(
        actor=_actor(scope),
        action=AuditAction.CREATE if created else AuditAction.UPDATE,
        obj=locked,
        summary=f"draft {locked.label}: {'added' if created else 'edited'} article {number}",
        data={"article": number, "title": title.strip()},
    )
    return article


@transaction.atomic
def article_delete(*, scope: Scope, version: TermsVersion, number: int) -> None:
    """Delete article `number` of a draft (call `articles_renumber` to close the gap)."""
    _require_editor(scope)
    locked = _locked_draft(version)
    deleted, _ = Article.objects.filter(version=locked, number=number).delete()
    if not deleted:
        raise NotFound(gettext("第%(number)s条はありません。") % {"number": number})
    audit_add(
        actor=_actor(scope),
        action=AuditAction.REMOVE,
        obj=locked,
        summary=f"draft {locked.label}: deleted article {number}",
        data={"article": number},
    )


@transaction.atomic
def articles_renumber(*, scope: Scope, version: TermsVersion) -> list[Article]:
    """Number a draft's articles 1..n in document order and rewrite their headings.

    References inside the text (第５条に定める…) are the editor's to adjust.
    """
    _require_editor(scope)
    locked = _locked_draft(version)
    articles = list(Article.objects.filter(version=locked).order_by("position"))
    _reposition(articles)
    offset = max((a.number for a in articles), default=0) + len(articles) + 1
    for index, article in enumerate(articles):
        Article.objects.filter(pk=article.pk).update(number=offset + index)
    changes: list[tuple[int, int]] = []
    for index, article in enumerate(articles, start=1):
        if article.number != index:
            changes.append((article.number, index))
        article.number = index
        article.heading = _HEADING_NUMBER.sub(f"第{full_width(index)}条", article.heading.strip())
        Article.objects.filter(pk=article.pk).update(number=index, heading=article.heading)
    if changes:
        audit_add(
            actor=_actor(scope),
            action=AuditAction.UPDATE,
            obj=locked,
            summary=f"draft {locked.label}: renumbered {len(changes)} articles",
            data={"renumbered": changes},
        )
    return articles


# --- scheduling (R2, R7) -------------------------------------------------------------------


def _clean_categories(categories: Iterable[Any] | None) -> list[dict[str, Any]]:
    """Change categories as the notice lists them: [{"index", "kind", "title", ...}]."""
    out: list[dict[str, Any]] = []
    for position, raw in enumerate(categories or [], start=1):
        item = {"title": raw} if isinstance(raw, str) else dict(raw)
        title = str(item.get("title") or "").strip()
        kind = item.get("kind") or ChangeCategory.SUBSTANTIVE
        if not title or kind not in ChangeCategory.values:
            raise ValidationFailed(
                gettext("変更区分には表題と種類（内容の変更／誤字・表記の修正）が必要です。"),
                code="invalid_category",
            )
        out.append(
            {**item, "index": int(item.get("index") or position), "kind": kind, "title": title}
        )
    return out


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
    _require_editor(scope)
    locked = _locked_draft(version)
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
        locked.categories = _clean_categories(categories)
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
        actor=_actor(scope),
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
    _require_editor(scope)
    if not (reason or "").strip():
        raise ValidationFailed(gettext("撤回の理由を入力してください。"), code="reason_required")
    locked = _locked(version)
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
        for tenant in tenants_to_notify(document=locked.document):
            notify_tenant(
                kind=EventKind.VERSION_WITHDRAWN,
                tenant=tenant,
                key=f"version:{locked.pk}:withdrawn",
                payload=payload,
                subject=locked,
            )
            notified += 1
    _projection_restore(locked)
    audit_add(
        actor=_actor(scope),
        action=AuditAction.WITHDRAW,
        obj=locked,
        summary=f"withdrew {locked.label}",
        data={"reason": locked.withdrawal_reason, "notified": notified},
    )
    return locked


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
    for tenant in tenants_to_notify(document=posted.document):
        notify_tenant(
            kind=EventKind.NOTICE_POSTED,
            tenant=tenant,
            key=f"version:{posted.pk}:posted",
            payload=payload,
            subject=posted,
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
            for tenant in tenants_to_notify(document=version.document):
                notify_tenant(
                    kind=EventKind.VERSION_LAPSED,
                    tenant=tenant,
                    key=f"version:{pk}:lapsed",
                    payload=payload,
                    subject=version,
                )
        _projection_restore(version)
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
