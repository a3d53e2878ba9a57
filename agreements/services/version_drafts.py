"""Drafts of terms versions and the console's article editor (R7 in docs/rules.md).

A draft starts as a copy of the version in force; staff edit its fields and articles.
Only drafts change: from scheduling on a version is frozen (R7), a correction is a new
version. The guards here are shared with the lifecycle services in versions.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils.translation import gettext

from agreements.enums import AuthorRole, ChangeCategory, ConsentMode, LegalBasis, VersionStatus
from agreements.models import Article, TermsDocument, TermsVersion
from agreements.rulebook import rulebook_for
from agreements.selectors.versions import version_in_force
from agreements.services.version_authors import version_author_record, version_author_roles
from agreements.services.version_text import (
    article_copies,
    copy_articles,
    rows_from_parsed,
    store_doc,
    store_merged,
)
from agreements.text.diff import DocText
from agreements.text.parser import ParsedTerms
from core import clock
from core.enums import AuditAction
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.services import audit_add
from tenants.authz import Action
from tenants.scope import Scope

__all__ = [
    "BASE_STATUSES",
    "EDITABLE_FIELDS",
    "clean_categories",
    "locked_draft",
    "locked_version",
    "require_editor",
    "staff_actor",
    "version_articles_paste",
    "version_articles_replace",
    "version_draft_create",
    "version_draft_update",
]


# Fields staff may change on a draft; the lifecycle fields move only through the services.
EDITABLE_FIELDS = frozenset(
    {
        "label",
        "public_name",
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

# What a new draft may be based on: a version customers have (or have been told of), never
# a draft, withdrawn or lapsed one.
BASE_STATUSES = (VersionStatus.EFFECTIVE, VersionStatus.SUPERSEDED, VersionStatus.SCHEDULED)


# --- guards ------------------------------------------------------------------------------


def require_editor(scope: Scope) -> None:
    """Staff (not viewer-only) and the system may write versions; nobody else."""
    if scope.is_system:
        return
    user = scope.user
    if not scope.is_staff or user is None or not getattr(user, "is_staff", False):
        raise PermissionDenied(gettext("規約の版を編集できるのは当社スタッフのみです。"))
    # The one authorization table decides, as in the console and the API. Publishers write a
    # version's dates and classification when they schedule it, so they pass here too (and
    # become its authors: four eyes by authorship then keeps them from scheduling it).
    if not (scope.may(Action.DRAFT) or scope.may(Action.PUBLISH)):
        raise PermissionDenied(gettext("閲覧担当者は規約の版を編集できません。"))


def locked_version(version: TermsVersion) -> TermsVersion:
    try:
        return (
            TermsVersion.objects.select_for_update().select_related("document").get(pk=version.pk)
        )
    except TermsVersion.DoesNotExist:
        raise NotFound(gettext("規約の版が見つかりません。")) from None


def locked_draft(version: TermsVersion) -> TermsVersion:
    """The version, locked; refuses anything but a draft (R7: scheduled and posted versions
    are immutable, a correction is a new version)."""
    locked = locked_version(version)
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


def staff_actor(scope: Scope) -> Any:
    return scope.user if scope.is_staff else None


def authored(scope: Scope, version: TermsVersion, role: str, *subjects: str) -> None:
    """Four eyes: whoever shapes a draft may not schedule it (schedule.py)."""
    version_author_record(scope=scope, version=version, role=role, subjects=subjects)


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


def _change_clause(document: TermsDocument, source: TermsVersion | None) -> str:
    """The change clause a new draft relies on (R2): its source's where the product's terms
    have one, else the rulebook's; "" for a product whose available text has none, so an
    OPTiM ID+ draft never inherits another product's clause."""
    book = rulebook_for(document.product.code)
    if not book.has("R2"):
        return ""
    return source.change_clause if source and source.change_clause else book.change_clause


def _consent_mode(document: TermsDocument, source: TermsVersion | None) -> str:
    """The consent mode a new draft starts with (R3/R4): explicit for a product whose terms
    have no deemed-consent clause (silence there is never consent, so a substantive change
    should be asked for), else its source's mode, deemed by default (Biz 2.1)."""
    if not rulebook_for(document.product.code).has("R3"):
        return ConsentMode.EXPLICIT
    return source.consent_mode if source else ConsentMode.DEEMED


def _clean_label(label: str) -> str:
    label = (label or "").strip()
    if not label:
        raise ValidationFailed(gettext("版の名前を入力してください。"), code="label_required")
    return label


def clean_categories(categories: Iterable[Any] | None) -> list[dict[str, Any]]:
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
    require_editor(scope)
    label = _clean_label(label)
    _label_free(document, label)
    if based_on is not None and based_on.document_id != document.pk:
        raise ValidationFailed(
            gettext("別の文書の版を元にすることはできません。"), code="based_on_other_document"
        )
    if based_on is not None and based_on.status not in BASE_STATUSES:
        # Four eyes: a draft's text is nobody's reviewed text yet; building on it would hide
        # its authors' changes from the review of the new draft (docs/security.md).
        raise ValidationFailed(
            gettext(
                "改定案の元にできるのは、現在有効な版・旧版・予定登録済みの版だけです（「%(label)s」は%(status)s）。"
            )
            % {"label": based_on.label, "status": based_on.get_status_display()},
            code="based_on_not_posted",
            field="based_on",
            status=based_on.status,
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
        consent_mode=_consent_mode(document, source),
        change_clause=_change_clause(document, source),
        based_on=source,
        created_by=staff_actor(scope),
    )
    copied = copy_articles(source, version) if source else 0
    authored(scope, version, AuthorRole.CREATED, "draft")
    audit_add(
        actor=staff_actor(scope),
        action=AuditAction.CREATE,
        obj=version,
        summary=f"draft {document.slug} {label}",
        data={"based_on": source.pk if source else None, "articles": copied},
    )
    return version


@transaction.atomic
def version_draft_update(*, scope: Scope, version: TermsVersion, **fields: Any) -> TermsVersion:
    """Change a draft's fields (EDITABLE_FIELDS); anything but a draft is refused (R7)."""
    require_editor(scope)
    unknown = sorted(set(fields) - EDITABLE_FIELDS)
    if unknown:
        raise ValidationFailed(
            gettext("変更できない項目です: %(fields)s") % {"fields": ", ".join(unknown)},
            code="field_not_editable",
            fields=unknown,
        )
    locked = locked_draft(version)
    if "label" in fields:
        fields["label"] = _clean_label(fields["label"])
        _label_free(locked.document, fields["label"], exclude=locked.pk)
    if fields.get("consent_mode") not in (None, *ConsentMode.values):
        raise ValidationFailed(gettext("同意の方式が正しくありません。"), code="invalid_mode")
    if fields.get("legal_basis") not in (None, "", *LegalBasis.values):
        raise ValidationFailed(gettext("法的根拠が正しくありません。"), code="invalid_legal_basis")
    if "categories" in fields:
        fields["categories"] = clean_categories(fields["categories"])
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
        for role, names in version_author_roles(changed).items():
            authored(scope, locked, role, *names)
        audit_add(
            actor=staff_actor(scope),
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
    require_editor(scope)
    locked = locked_draft(version)
    Article.objects.filter(version=locked).delete()
    articles = store_doc(locked, doc)
    if isinstance(doc, ParsedTerms):
        # A pasted text runs from the title to 「以上」: the whole terms, so a draft that began
        # as a copy of an excerpt (the ID+ notice) becomes a full version that can be scheduled.
        locked.preamble, locked.trailer = doc.preamble, doc.trailer
        locked.is_excerpt = False
        locked.save(update_fields=["preamble", "trailer", "is_excerpt", "updated_at"])
    authored(scope, locked, AuthorRole.EDITED, "articles")
    audit_add(
        actor=staff_actor(scope),
        action=AuditAction.UPDATE,
        obj=locked,
        summary=f"draft {locked.label}: articles replaced",
        data={"articles": len(articles)},
    )
    return locked


@transaction.atomic
def version_articles_paste(
    *, scope: Scope, version: TermsVersion, doc: ParsedTerms
) -> tuple[list[int], list[int]]:
    """Put some pasted articles into a draft: an article whose number the draft has is
    replaced, a new number is added where it belongs; every other article, the preamble and
    the trailer stay. Returns (replaced numbers, added numbers)."""
    require_editor(scope)
    locked = locked_draft(version)
    pasted = rows_from_parsed(doc)
    numbers = {article.number for article, _rows in pasted}
    current = article_copies(locked)
    existing = {article.number for article, _rows in current}
    kept = [pair for pair in current if pair[0].number not in numbers]
    store_merged(locked, kept + pasted)
    replaced = sorted(numbers & existing)
    added = sorted(numbers - existing)
    authored(scope, locked, AuthorRole.EDITED, "articles")
    audit_add(
        actor=staff_actor(scope),
        action=AuditAction.UPDATE,
        obj=locked,
        summary=f"draft {locked.label}: articles pasted",
        data={"replaced": replaced, "added": added},
    )
    return replaced, added
