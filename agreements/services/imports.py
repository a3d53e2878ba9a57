"""Importing terms texts and revision notices as versions (docs/rules.md, R7 and R8).

`terms_import` stores a plain-text document (seed 000's shape) as a draft, or with
`historical` as a version that was in force in the past (effective, or superseded when a
later one exists): no ledger rows, no notices, no notifications. `terms_import_notice`
stores a revision notice (seed 003's shape) as the excerpt pair it describes. Each call
is one transaction: bad input writes nothing.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction
from django.utils.translation import gettext

from agreements.catalog import catalog_ensure
from agreements.enums import AuthorRole, ChangeCategory, VersionStatus
from agreements.models import Article, TermsDocument, TermsVersion
from agreements.rulebook import rulebook_for
from agreements.selectors.versions import IN_FORCE_STATUSES, document_get, version_in_force
from agreements.services.parse_messages import parse_error_text
from agreements.services.version_authors import version_author_record
from agreements.services.version_text import store_doc, version_body_hash
from agreements.text.diff import DocText
from agreements.text.notice import ParsedNotice, excerpt_pair, parse_notice
from agreements.text.parser import ParsedTerms, ParseError, parse_terms
from core import clock
from core.enums import AuditAction
from core.errors import PermissionDenied, ValidationFailed
from core.services import audit_add
from tenants.scope import Scope

__all__ = ["terms_import", "terms_import_notice"]


def _require_privileged(scope: Scope) -> None:
    if not scope.is_privileged:
        raise PermissionDenied(gettext("規約の取込は当社スタッフのみが行えます。"))


def _parse_failed(exc: ParseError) -> ValidationFailed:
    return ValidationFailed(
        gettext("%(line)d行目: %(error)s") % {"line": exc.line, "error": parse_error_text(exc)},
        code="parse_error",
        line=exc.line,
    )


def _label(document: TermsDocument, label: str) -> str:
    label = (label or "").strip()
    if not label:
        raise ValidationFailed(gettext("版の名前を指定してください。"), code="label_required")
    if TermsVersion.objects.filter(document=document, label=label).exists():
        raise ValidationFailed(
            gettext("版「%(label)s」はすでに取り込まれています（%(document)s）。")
            % {"label": label, "document": document.title},
            code="duplicate_label",
            label=label,
        )
    return label


def _last_revised_line(trailer: str) -> str:
    return next((line for line in trailer.splitlines() if "改定" in line), "")


def _place_historical(version: TermsVersion) -> None:
    """Make a past version effective, or superseded when a later one was in force.

    Keeps the chain of `superseded_on` dates: each version is superseded on the effective
    date of the next one.
    """
    assert version.effective_on is not None  # noqa: S101 -- checked by the callers
    siblings = TermsVersion.objects.select_for_update().filter(
        document=version.document, status__in=IN_FORCE_STATUSES
    )
    if siblings.filter(effective_on=version.effective_on).exclude(pk=version.pk).exists():
        raise ValidationFailed(
            gettext("効力発生日 %(day)s の版はすでにあります。")
            % {"day": version.effective_on.isoformat()},
            code="duplicate_effective_on",
        )
    newer = siblings.filter(effective_on__gt=version.effective_on).order_by("effective_on").first()
    older = siblings.filter(effective_on__lt=version.effective_on).order_by("-effective_on").first()
    if older is not None:
        older.status = VersionStatus.SUPERSEDED
        older.superseded_on = version.effective_on
        older.save(update_fields=["status", "superseded_on", "updated_at"])
    if newer is not None:
        version.status = VersionStatus.SUPERSEDED
        version.superseded_on = newer.effective_on
    else:
        version.status = VersionStatus.EFFECTIVE
    version.body_hash = version_body_hash(version)
    version.save(update_fields=["status", "superseded_on", "body_hash", "updated_at"])


def _check_historical(effective_on: date | None) -> date:
    if effective_on is None:
        raise ValidationFailed(
            gettext("過去の版には効力発生日が必要です。"), code="effective_on_required"
        )
    if effective_on > clock.today():
        raise ValidationFailed(
            gettext("効力発生日 %(day)s は将来の日付です。過去の版として取り込めません。")
            % {"day": effective_on.isoformat()},
            code="historical_in_future",
        )
    return effective_on


@transaction.atomic
def terms_import(
    *,
    scope: Scope,
    product_code: str,
    label: str,
    effective_on: date | None,
    text: str,
    historical: bool,
    document_slug: str | None = None,
) -> TermsVersion:
    """Store a plain-text terms document as a version (all or nothing).

    Historical: a version in force in the past (effective, or superseded by a later one),
    without ledger rows, notices or notifications. Otherwise a draft based on the version
    in force, with `effective_on` as the proposed date. Raises ValidationFailed with the
    offending line (`details["line"]`) on unreadable text.
    """
    _require_privileged(scope)
    try:
        parsed = parse_terms(text)
    except ParseError as exc:
        raise _parse_failed(exc) from exc
    catalog_ensure()
    document = document_get(scope=scope, product_code=product_code, slug=document_slug)
    label = _label(document, label)
    if historical:
        effective_on = _check_historical(effective_on)
    version = TermsVersion.objects.create(
        document=document,
        label=label,
        status=VersionStatus.DRAFT,
        title=parsed.title or document.title,
        preamble=parsed.preamble,
        trailer=parsed.trailer,
        last_revised_text=_last_revised_line(parsed.trailer),
        change_clause=rulebook_for(document.product.code).change_clause,
        is_historical=historical,
        effective_on=effective_on,
        based_on=None if historical else version_in_force(document=document, on_date=clock.today()),
        created_by=scope.user if scope.is_staff else None,
    )
    store_doc(version, parsed)
    if historical:
        _place_historical(version)
    else:
        # An imported draft is written by whoever imported it (four eyes, schedule.py).
        version_author_record(
            scope=scope, version=version, role=AuthorRole.CREATED, subjects=["import"]
        )
    audit_add(
        actor=scope.user if scope.is_staff else None,
        action=AuditAction.IMPORT,
        obj=version,
        summary=f"imported {document.product.code}/{document.slug} {label} ({version.status})",
        data=_summary(parsed, historical=historical),
        actor_label="" if scope.is_staff else "import_terms",
    )
    return version


def _summary(parsed: ParsedTerms, *, historical: bool) -> dict[str, Any]:
    return {
        "historical": historical,
        "title": parsed.title,
        "articles": len(parsed.articles),
        "paragraphs": sum(len(a.paragraphs) for a in parsed.articles),
        "items": sum(len(p.items) for a in parsed.articles for p in a.paragraphs),
        "last_revised": parsed.last_revised,
    }


def _notice_categories(notice: ParsedNotice) -> list[dict[str, Any]]:
    """The notice's change categories, each naming the (article, paragraph key) it covers,
    so that a table generated from the versions groups rows as the notice does."""
    return [
        {
            "index": category.index,
            "kind": category.kind,
            "title": category.title,
            "paragraphs": [
                [row.article_number, row.key]
                for row in notice.rows
                if row.category_index == category.index
            ],
        }
        for category in notice.categories
    ]


def _mark_categories(version: TermsVersion, notice: ParsedNotice) -> None:
    """Each article's change category: substantive when any of its rows is."""
    kinds = {c.index: c.kind for c in notice.categories}
    by_article: dict[int, set[str]] = {}
    for row in notice.rows:
        by_article.setdefault(row.article_number, set()).add(kinds[row.category_index])
    for number, found in by_article.items():
        kind = (
            ChangeCategory.SUBSTANTIVE
            if ChangeCategory.SUBSTANTIVE in found
            else ChangeCategory.EDITORIAL
        )
        Article.objects.filter(version=version, number=number).update(change_category=kind)


def _excerpt_version(
    *,
    document: TermsDocument,
    label: str,
    title: str,
    effective_on: date,
    doc: DocText,
    scope: Scope,
    **fields: Any,
) -> TermsVersion:
    version = TermsVersion.objects.create(
        document=document,
        label=label,
        status=VersionStatus.DRAFT,
        title=title,
        is_excerpt=True,
        is_historical=True,
        effective_on=effective_on,
        created_by=scope.user if scope.is_staff else None,
        change_clause=rulebook_for(document.product.code).change_clause,
        **fields,
    )
    store_doc(version, doc)
    return version


@transaction.atomic
def terms_import_notice(
    *,
    scope: Scope,
    product_code: str,
    text: str,
    document_slug: str | None = None,
    before_label: str | None = None,
    after_label: str | None = None,
    before_effective_on: date | None = None,
) -> tuple[TermsVersion, TermsVersion]:
    """Store a revision notice (like seed 003) as two historical excerpt versions.

    The "before" version holds the changed passages as they were; its effective date is
    not in the notice, so it defaults to the notice date (the text was in force then).
    The "after" version holds them as revised, with the notice's dates and categories;
    its notice counts as posted at 00:00 JST on the notice date (the day it was published),
    so it is listed with the public notices. No ledger rows and no notifications.
    """
    _require_privileged(scope)
    try:
        notice = parse_notice(text)
    except ParseError as exc:
        raise _parse_failed(exc) from exc
    try:
        before_doc, after_doc = excerpt_pair(notice.rows)
    except ValueError as exc:
        raise ValidationFailed(str(exc), code="notice_rows") from exc
    catalog_ensure()
    document = document_get(scope=scope, product_code=product_code, slug=document_slug)
    before_label = _label(document, before_label or f"{notice.notice_date.isoformat()}-before")
    after_label = _label(document, after_label or notice.effective_date.isoformat())
    if before_label == after_label:
        raise ValidationFailed(
            gettext("改定前と改定後の版の名前が同じです。"), code="duplicate_label"
        )
    before_on = _check_historical(before_effective_on or notice.notice_date)
    after_on = _check_historical(notice.effective_date)
    if before_on >= after_on:
        raise ValidationFailed(
            gettext("改定前の版の効力発生日は改定日 %(day)s より前にしてください。")
            % {"day": after_on.isoformat()},
            code="effective_before_notice",
        )
    title = notice.document_title or document.title
    before = _excerpt_version(
        document=document,
        label=before_label,
        title=title,
        effective_on=before_on,
        doc=before_doc,
        scope=scope,
        # The notice does not say when the former text took effect: its date (the notice
        # date by default) is a placeholder, so customers are not shown 「<notice date>改定」,
        # a revision nobody made that day.
        public_name=(
            ""
            if before_effective_on
            else f"{after_on.year}年{after_on.month}月{after_on.day}日改定前の版"
        ),
    )
    _place_historical(before)
    after = _excerpt_version(
        document=document,
        label=after_label,
        title=title,
        effective_on=after_on,
        doc=after_doc,
        scope=scope,
        based_on=before,
        notice_on=notice.notice_date,
        posted_at=clock.start_of_day(notice.notice_date),
        notice_title=notice.title,
        categories=_notice_categories(notice),
    )
    _mark_categories(after, notice)
    _place_historical(after)
    before.refresh_from_db()
    audit_add(
        actor=scope.user if scope.is_staff else None,
        action=AuditAction.IMPORT,
        obj=after,
        summary=f"imported notice {notice.title} ({before_label} → {after_label})",
        data={
            "before": before.pk,
            "after": after.pk,
            "rows": len(notice.rows),
            "categories": [c.title for c in notice.categories],
        },
        actor_label="" if scope.is_staff else "import_terms",
    )
    return before, after
