"""Console pages for documents and revisions: timeline, drafting, compare, schedule, withdraw.

Views are thin: a form checks shapes, one service call (agreements.services.versions) does
the work, then a redirect. A refusal is shown beside the field it concerns; the user's
input is re-rendered, never dropped (an edit is never lost).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from agreements import rules
from agreements.enums import VersionStatus
from agreements.models import Article, Product, TermsVersion
from agreements.rules import TransitionNotAllowed
from agreements.selectors.versions import (
    document_list,
    tenants_to_notify,
    version_get,
    version_in_force,
    version_list,
)
from agreements.services import versions as version_services
from agreements.services.version_text import version_diff, version_predecessor
from agreements.text import ParseError, parse_terms
from core import clock
from core.errors import DomainError
from web.console.agreements.forms import (
    ArticleForm,
    CategoryFormSet,
    DraftCreateForm,
    PasteTextForm,
    ScheduleForm,
    VersionMetaForm,
    WithdrawForm,
)
from web.console.agreements.presenters import (
    article_body,
    compare_blocks,
    diff_counts,
    version_plain_text,
)
from web.console.tenants.access import Need, call_service, console_view
from web.console.tenants.views import audit_for
from web.public.documents import articles_of
from web.public.views import notice_context

ERRORS = (DomainError, TransitionNotAllowed)

# Service error codes → the form field they concern, so the message sits beside it.
FIELD_FOR_CODE = {
    "label_required": "label",
    "duplicate_label": "label",
    "invalid_mode": "consent_mode",
    "invalid_legal_basis": "legal_basis",
    "legal_basis_required": "legal_basis",
    "rationale_required": "rationale",
    "explicit_consent_required": "consent_mode",
    "effective_before_notice": "effective_on",
    "lead_time_too_short": "effective_on",
    "notice_in_past": "notice_on",
    "effective_not_after_current": "effective_on",
    "invalid_article_title": "title",
    "invalid_article_number": "number",
    "parse_error": "body",
    "not_one_article": "body",
    "reason_required": "reason",
    "reason": "reason",
}


def _version(request: HttpRequest, pk: int) -> TermsVersion:
    try:
        return version_get(scope=request.scope, pk=pk)  # type: ignore[attr-defined]
    except DomainError as error:
        raise Http404(str(error)) from None


def _draft_or_refuse(request: HttpRequest, version: TermsVersion) -> HttpResponse | None:
    """Posted and scheduled versions never change (R7): send the editor to the version page."""
    if version.status != VersionStatus.DRAFT:
        messages.error(
            request,
            _("この版は%(status)sのため編集できません。訂正は新しい版として作成してください。")
            % {"status": version.get_status_display()},
        )
        return redirect("console:version-detail", pk=version.pk)
    return None


# --- home: products → documents → versions ------------------------------------------------


@console_view(Need.READ)
def home(request: HttpRequest) -> HttpResponse:
    scope = request.scope  # type: ignore[attr-defined]
    today = clock.today()
    documents = list(document_list(scope=scope))
    versions_by_document: dict[int, list[TermsVersion]] = defaultdict(list)
    for version in (
        TermsVersion.objects.filter(document__in=documents)
        .select_related("created_by")
        .order_by("-effective_on", "-pk")
    ):
        versions_by_document[version.document_id].append(version)
    products: dict[int, dict[str, Any]] = {}
    for document in documents:
        entry = products.setdefault(
            document.product_id, {"product": document.product, "documents": []}
        )
        versions = versions_by_document[document.pk]
        entry["documents"].append(
            {
                "document": document,
                "versions": versions[:6],
                "more": max(len(versions) - 6, 0),
                "in_force": version_in_force(document=document, on_date=today),
                "drafts": sum(1 for v in versions if v.status == VersionStatus.DRAFT),
                "scheduled": next(
                    (v for v in versions if v.status == VersionStatus.SCHEDULED), None
                ),
            }
        )
    empty_products = Product.objects.exclude(pk__in=products.keys()).order_by("code")
    return render(
        request,
        "agreements/console/home.html",
        {
            "nav": "home",
            "products": list(products.values()),
            "empty_products": empty_products,
            "today": today,
        },
    )


@console_view(Need.READ, methods=("GET", "POST"))
def document_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scope = request.scope  # type: ignore[attr-defined]
    document = get_object_or_404(document_list(scope=scope), pk=pk)
    form = DraftCreateForm(request.POST or None, document=document)
    if request.method == "POST":
        if not request.console.can_draft:  # type: ignore[attr-defined]
            raise DjangoPermissionDenied
        if form.is_valid():
            ok, version = call_service(
                request,
                form,
                version_services.version_draft_create,
                errors=ERRORS,
                fields_by_code=FIELD_FOR_CODE,
                success=_("改定案を作成しました。現在有効な版の条文をコピーしています。"),
                scope=scope,
                document=document,
                label=form.cleaned_data["label"],
                based_on=form.cleaned_data["based_on"],
            )
            if ok:
                return redirect("console:version-edit", pk=version.pk)
    versions = version_list(scope=scope, document=document).annotate(n_articles=Count("articles"))
    return render(
        request,
        "agreements/console/document_detail.html",
        {
            "nav": "home",
            "document": document,
            "versions": versions,
            "in_force": version_in_force(document=document, on_date=clock.today()),
            "form": form,
            "today": clock.today(),
        },
        status=400 if form.errors else 200,
    )


# --- one version ------------------------------------------------------------------------


@console_view(Need.READ)
def version_detail(request: HttpRequest, pk: int) -> HttpResponse:
    version = _version(request, pk)
    predecessor = version_predecessor(version)
    diff = version_diff(before=predecessor, after=version)
    user = request.user
    return render(
        request,
        "agreements/console/version_detail.html",
        {
            "nav": "home",
            "version": version,
            "document": version.document,
            "predecessor": predecessor,
            "counts": diff_counts(diff),
            "articles": articles_of(version),
            "audit": audit_for(version),
            "is_author": version.created_by_id == user.pk,
            "second_publisher": settings.TERMS_REQUIRE_SECOND_PUBLISHER,
            "withdrawable": version.status == VersionStatus.SCHEDULED
            and version.effective_on is not None
            and clock.today() < version.effective_on,
        },
    )


@console_view(Need.READ)
def version_notice(request: HttpRequest, pk: int) -> HttpResponse:
    """The notice as it is (or will be) published, for review before scheduling."""
    version = _version(request, pk)
    return render(
        request,
        "agreements/console/version_notice.html",
        {
            "nav": "home",
            "version": version,
            "document": version.document,
            "notice": notice_context(version),
        },
    )


# --- drafting -----------------------------------------------------------------------------


def _schedule_hints(version: TermsVersion) -> list[str]:
    """Early warnings on a draft's dates (the same rule the scheduling refuses on, R2)."""
    if not (version.notice_on and version.effective_on):
        return []
    problems = rules.validate_schedule(
        notice_on=version.notice_on,
        effective_on=version.effective_on,
        today=clock.today(),
        lead_days=settings.TERMS_NOTICE_LEAD_DAYS,
    )
    texts = {
        rules.NOTICE_IN_PAST: _("掲示日が本日より前です。"),
        rules.EFFECTIVE_BEFORE_NOTICE: _("効力発生日が掲示日以前です。"),
        rules.LEAD_TIME_TOO_SHORT: _(
            "効力発生日は掲示日から%(days)s日以上後にしてください（%(earliest)s 以降）。"
        )
        % {
            "days": settings.TERMS_NOTICE_LEAD_DAYS,
            "earliest": rules.earliest_effective_on(
                notice_on=version.notice_on, lead_days=settings.TERMS_NOTICE_LEAD_DAYS
            ).isoformat(),
        },
    }
    return [str(texts[p]) for p in problems]


def _article_form(article: Article | None = None, data: Any = None) -> ArticleForm:
    """The form of one article; an existing article keeps its number (renumbering is its
    own action), so its number field is shown but not editable."""
    if article is None:
        return ArticleForm(data, prefix="new")
    form = ArticleForm(
        data,
        initial={"number": article.number, "title": article.title, "body": article_body(article)},
        prefix=f"a{article.pk}",
    )
    form.fields["number"].disabled = True
    return form


def _edit_page(
    request: HttpRequest,
    version: TermsVersion,
    *,
    meta_form: VersionMetaForm | None = None,
    article_forms: dict[int, ArticleForm] | None = None,
    new_article_form: ArticleForm | None = None,
    paste_form: PasteTextForm | None = None,
    status: int = 200,
) -> HttpResponse:
    articles = articles_of(version)
    bound = article_forms or {}
    rows = []
    for article in articles:
        form = bound.get(article.number) or _article_form(article)
        rows.append({"article": article, "form": form, "open": article.number in bound})
    next_number = max((a.number for a in articles), default=0) + 1
    predecessor = version_predecessor(version)
    diff = version_diff(before=predecessor, after=version)
    changed = {a.after_number for a in diff.articles if a.kind != "unchanged"}
    for row in rows:
        row["changed"] = row["article"].number in changed
    return render(
        request,
        "agreements/console/version_edit.html",
        {
            "nav": "home",
            "version": version,
            "document": version.document,
            "predecessor": predecessor,
            "meta_form": meta_form or VersionMetaForm(instance=version, prefix="meta"),
            "rows": rows,
            "new_article_form": new_article_form
            or ArticleForm(initial={"number": next_number}, prefix="new"),
            "paste_form": paste_form
            or PasteTextForm(initial={"text": version_plain_text(version)}, prefix="paste"),
            "hints": _schedule_hints(version),
            "counts": diff_counts(diff),
            "lead_days": settings.TERMS_NOTICE_LEAD_DAYS,
        },
        status=status,
    )


def _autosaved(request: HttpRequest, form: Any, ok: bool) -> HttpResponse:
    """The htmx answer to an autosave: a one-line status (the page keeps the user's text).

    Always 200, since htmx swaps only successful responses and a refusal must be shown; the
    header says whether it was saved.
    """
    response = render(
        request,
        "agreements/console/_autosave_status.html",
        {"ok": ok, "form": form, "at": clock.now()},
    )
    response["X-Autosave"] = "saved" if ok else "refused"
    return response


@console_view(Need.DRAFT, methods=("GET", "POST"))
def version_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """The draft's fields: saved on submit, and autosaved by htmx while typing."""
    version = _version(request, pk)
    refused = _draft_or_refuse(request, version)
    if refused is not None:
        return refused
    if request.method == "GET":
        return _edit_page(request, version)
    form = VersionMetaForm(request.POST, instance=version, prefix="meta")
    ok = False
    if form.is_valid():
        fields = {name: form.cleaned_data[name] for name in form.changed_data}
        if "legal_basis" in fields and fields["legal_basis"] is None:
            fields["legal_basis"] = ""
        # ModelForm validation wrote the values onto `version`; the service must see the
        # stored row, so reload it before the call.
        version.refresh_from_db()
        ok, _result = call_service(
            request,
            form,
            version_services.version_draft_update,
            errors=ERRORS,
            fields_by_code=FIELD_FOR_CODE,
            scope=request.scope,  # type: ignore[attr-defined]
            version=version,
            **fields,
        )
    if getattr(request, "htmx", False):
        return _autosaved(request, form, ok)
    if ok:
        messages.success(request, _("下書きを保存しました。"))
        return redirect("console:version-edit", pk=version.pk)
    version.refresh_from_db()
    return _edit_page(request, version, meta_form=form, status=400)


@console_view(Need.DRAFT, methods=("POST",))
def article_save(request: HttpRequest, pk: int, article_pk: int | None = None) -> HttpResponse:
    """Create or replace one article from its plain text (autosaved by htmx too)."""
    version = _version(request, pk)
    refused = _draft_or_refuse(request, version)
    if refused is not None:
        return refused
    article = None
    if article_pk is not None:
        article = Article.objects.filter(version=version, pk=article_pk).first()
        if article is None:
            raise Http404
    form = _article_form(article, request.POST)
    ok = False
    if form.is_valid():
        ok, _article = call_service(
            request,
            form,
            version_services.article_upsert,
            errors=ERRORS,
            fields_by_code=FIELD_FOR_CODE,
            scope=request.scope,  # type: ignore[attr-defined]
            version=version,
            **form.cleaned_data,
        )
    if getattr(request, "htmx", False):
        return _autosaved(request, form, ok)
    if ok:
        messages.success(
            request, _("第%(number)s条を保存しました。") % {"number": form.cleaned_data["number"]}
        )
        return redirect(
            f"{reverse('console:version-edit', args=[version.pk])}#article-{form.cleaned_data['number']}"
        )
    if article is not None:
        return _edit_page(request, version, article_forms={article.number: form}, status=400)
    return _edit_page(request, version, new_article_form=form, status=400)


@console_view(Need.DRAFT, methods=("POST",))
def article_delete(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    version = _version(request, pk)
    refused = _draft_or_refuse(request, version)
    if refused is not None:
        return refused
    try:
        version_services.article_delete(scope=request.scope, version=version, number=number)  # type: ignore[attr-defined]
        messages.success(
            request,
            _("第%(number)s条を削除しました。必要なら条番号を振り直してください。")
            % {"number": number},
        )
    except ERRORS as error:
        messages.error(request, str(getattr(error, "message", error)))
    return redirect("console:version-edit", pk=version.pk)


@console_view(Need.DRAFT, methods=("POST",))
def articles_renumber(request: HttpRequest, pk: int) -> HttpResponse:
    version = _version(request, pk)
    refused = _draft_or_refuse(request, version)
    if refused is not None:
        return refused
    try:
        version_services.articles_renumber(scope=request.scope, version=version)  # type: ignore[attr-defined]
        messages.success(
            request,
            _("条番号を1から振り直しました。本文中の条番号の参照は確認してください。"),
        )
    except ERRORS as error:
        messages.error(request, str(getattr(error, "message", error)))
    return redirect("console:version-edit", pk=version.pk)


@console_view(Need.DRAFT, methods=("POST",))
def version_paste(request: HttpRequest, pk: int) -> HttpResponse:
    """Replace every article with a pasted whole text, read by the importer's parser."""
    version = _version(request, pk)
    refused = _draft_or_refuse(request, version)
    if refused is not None:
        return refused
    form = PasteTextForm(request.POST, prefix="paste")
    if form.is_valid():
        try:
            parsed = parse_terms(form.cleaned_data["text"])
        except ParseError as error:
            form.add_error(
                "text",
                _("%(line)s行目: 規約として読み取れません（%(reason)s）。")
                % {"line": error.line, "reason": error.message},
            )
        else:
            ok, _result = call_service(
                request,
                form,
                version_services.version_articles_replace,
                errors=ERRORS,
                scope=request.scope,  # type: ignore[attr-defined]
                version=version,
                doc=parsed,
            )
            if ok:
                messages.success(
                    request,
                    _("全文を読み込みました（%(count)s条）。") % {"count": len(parsed.articles)},
                )
                return redirect("console:version-edit", pk=version.pk)
    return _edit_page(request, version, paste_form=form, status=400)


# --- change categories (the notice's 1. / 2. groups) --------------------------------------


def _change_rows(version: TermsVersion) -> list[dict[str, Any]]:
    from agreements.text import render_notice_table  # noqa: PLC0415 -- one use

    predecessor = version_predecessor(version)
    rows = render_notice_table(version_diff(before=predecessor, after=version))
    return [
        {
            "row": row,
            "key": f"{row.article_number}:{row.paragraph_key or ''}",
        }
        for row in rows
    ]


def _assigned(version: TermsVersion) -> dict[str, int]:
    """Change key → category index as stored in the version's categories."""
    out: dict[str, int] = {}
    for position, category in enumerate(version.categories or [], start=1):
        index = int(category.get("index") or position)
        for article, key in category.get("paragraphs") or []:
            out[f"{article}:{key}"] = index
    return out


@console_view(Need.DRAFT, methods=("GET", "POST"))
def version_changes(request: HttpRequest, pk: int) -> HttpResponse:
    """Name the change categories and put each changed passage in one (seed 003's 1. / 2.)."""
    version = _version(request, pk)
    refused = _draft_or_refuse(request, version)
    if refused is not None:
        return refused
    rows = _change_rows(version)
    initial = [
        {"title": c.get("title", ""), "kind": c.get("kind", "substantive")}
        for c in version.categories or []
    ]
    formset = CategoryFormSet(request.POST or None, initial=initial, prefix="cat")
    assigned = _assigned(version)
    if request.method == "POST":
        choices = {r["key"]: request.POST.get(f"change-{r['key']}", "") for r in rows}
        for r in rows:
            r["chosen"] = choices[r["key"]]
        if formset.is_valid():
            categories = []
            for form in formset.forms:
                title = (form.cleaned_data or {}).get("title", "").strip()
                if title:
                    categories.append({"title": title, "kind": form.cleaned_data["kind"]})
            for index, category in enumerate(categories, start=1):
                category["index"] = index
                category["paragraphs"] = [
                    [r["row"].article_number, r["row"].paragraph_key or ""]
                    for r in rows
                    if choices[r["key"]] == str(index)
                ]
            ok, _result = call_service(
                request,
                formset.forms[0] if formset.forms else VersionMetaForm(),
                version_services.version_draft_update,
                errors=ERRORS,
                scope=request.scope,  # type: ignore[attr-defined]
                version=version,
                categories=categories,
            )
            if ok:
                messages.success(request, _("変更区分を保存しました。"))
                return redirect("console:version-changes", pk=version.pk)
    else:
        for r in rows:
            index = assigned.get(r["key"])
            r["chosen"] = str(index) if index else ""
    return render(
        request,
        "agreements/console/version_changes.html",
        {
            "nav": "home",
            "version": version,
            "document": version.document,
            "formset": formset,
            "rows": rows,
            "categories": version.categories or [],
        },
        status=400 if request.method == "POST" else 200,
    )


# --- compare ------------------------------------------------------------------------------


@console_view(Need.READ)
def compare(request: HttpRequest, pk: int) -> HttpResponse:
    """Any two versions of a document side by side: 改定前 / 改定後 with character marks."""
    scope = request.scope  # type: ignore[attr-defined]
    document = get_object_or_404(document_list(scope=scope), pk=pk)
    versions = list(version_list(scope=scope, document=document))
    by_pk = {str(v.pk): v for v in versions}
    after = by_pk.get(request.GET.get("b", "")) or (versions[0] if versions else None)
    before = by_pk.get(request.GET.get("a", ""))
    if before is None and after is not None:
        before = version_predecessor(after)
    full = request.GET.get("full") == "1"
    blocks = []
    counts = None
    if after is not None:
        diff = version_diff(before=before, after=after)
        blocks = compare_blocks(diff, full=full)
        counts = diff_counts(diff)
    return render(
        request,
        "agreements/console/compare.html",
        {
            "nav": "home",
            "document": document,
            "versions": versions,
            "before": before,
            "after": after,
            "blocks": blocks,
            "counts": counts,
            "full": full,
        },
    )


# --- schedule and withdraw ------------------------------------------------------------------


def _schedule_summary(version: TermsVersion) -> dict[str, Any]:
    predecessor = version_predecessor(version)
    return {
        "bound_tenants": tenants_to_notify(document=version.document).count(),
        "counts": diff_counts(version_diff(before=predecessor, after=version)),
        "predecessor": predecessor,
    }


@console_view(Need.PUBLISH, methods=("GET", "POST"))
def version_schedule(request: HttpRequest, pk: int) -> HttpResponse:
    """Two steps: the publisher checks the values, then confirms what will happen."""
    version = _version(request, pk)
    refused = _draft_or_refuse(request, version)
    if refused is not None:
        return refused
    initial = {
        "notice_on": version.notice_on,
        "effective_on": version.effective_on,
        "consent_mode": version.consent_mode,
        "legal_basis": version.legal_basis,
        "rationale": version.rationale,
    }
    form = ScheduleForm(request.POST or None, initial=initial)
    confirming = False
    if request.method == "POST" and form.is_valid():
        if request.POST.get("confirm") == "1":
            ok, _result = call_service(
                request,
                form,
                version_services.version_schedule,
                errors=ERRORS,
                fields_by_code=FIELD_FOR_CODE,
                success=_("改定を予定登録しました。掲示日にお知らせが掲示されます。"),
                scope=request.scope,  # type: ignore[attr-defined]
                version=version,
                categories=version.categories or None,
                **form.cleaned_data,
            )
            if ok:
                return redirect("console:version-detail", pk=version.pk)
        else:
            confirming = True
    is_author = settings.TERMS_REQUIRE_SECOND_PUBLISHER and version.created_by_id == request.user.pk
    return render(
        request,
        "agreements/console/version_schedule.html",
        {
            "nav": "home",
            "version": version,
            "document": version.document,
            "form": form,
            "confirming": confirming and not form.errors,
            "is_author": is_author,
            "lead_days": settings.TERMS_NOTICE_LEAD_DAYS,
            **_schedule_summary(version),
        },
        status=400 if form.errors else 200,
    )


@console_view(Need.PUBLISH, methods=("GET", "POST"))
def version_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    version = _version(request, pk)
    form = WithdrawForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        ok, _result = call_service(
            request,
            form,
            version_services.version_withdraw,
            errors=ERRORS,
            fields_by_code=FIELD_FOR_CODE,
            success=_("改定を撤回しました。"),
            scope=request.scope,  # type: ignore[attr-defined]
            version=version,
            reason=form.cleaned_data["reason"],
        )
        if ok:
            return redirect("console:version-detail", pk=version.pk)
    return render(
        request,
        "agreements/console/version_withdraw.html",
        {
            "nav": "home",
            "version": version,
            "document": version.document,
            "form": form,
            "bound_tenants": tenants_to_notify(document=version.document).count(),
        },
        status=400 if form.errors else 200,
    )
