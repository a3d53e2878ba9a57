"""Console pages for drafting a revision: the draft's fields and articles (saved on submit
and autosaved by htmx), a pasted whole text, and the change categories of the notice.

A posted or scheduled version never changes (R7): every page here sends the editor back to
the version page instead. A refusal is shown beside the field it concerns; the user's input
is re-rendered, never dropped.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from agreements import rules
from agreements.models import Article, TermsVersion
from agreements.selectors.articles import articles_of
from agreements.selectors.reviews import open_send_back, version_review_history
from agreements.services import versions as version_services
from agreements.services.consents.reach import lead_days_for
from agreements.services.parse_messages import parse_error_text
from agreements.services.version_rebase import draft_rebase_offer, version_draft_rebase
from agreements.services.version_text import revision_dates, version_diff, version_predecessor
from agreements.templatetags.jdates import format_date
from agreements.templatetags.rulebook import article_list
from agreements.text import ParsedTerms, ParseError, is_whole_text, parse_terms, render_notice_table
from agreements.text.notice.table import editorial_but_not_wording
from core import clock
from web.console.access import REFUSALS, ConsoleRequest, Need, call_service, console_view
from web.console.forms_versions import ArticleForm, CategoryFormSet, PasteTextForm, VersionMetaForm
from web.console.presenters import article_body, diff_counts, version_plain_text
from web.console.views_versions import FIELD_FOR_CODE, draft_or_refuse, version_or_404


def _schedule_hints(version: TermsVersion) -> list[str]:
    """Early warnings on a draft's dates (the same rule the scheduling refuses on, R2)."""
    if not (version.notice_on and version.effective_on):
        return []
    # The lead time of the draft's basis (type (ii) needs the longer one).
    lead_days = lead_days_for(version.legal_basis)
    problems = rules.validate_schedule(
        notice_on=version.notice_on,
        effective_on=version.effective_on,
        today=clock.today(),
        lead_days=lead_days,
    )
    texts = {
        rules.NOTICE_IN_PAST: _("掲示日が本日より前です。"),
        rules.EFFECTIVE_BEFORE_NOTICE: _("効力発生日が掲示日以前です。"),
        rules.LEAD_TIME_TOO_SHORT: _(
            "効力発生日は掲示日から%(days)s日以上後にしてください（%(earliest)s 以降）。"
        )
        % {
            "days": lead_days,
            "earliest": format_date(
                rules.earliest_effective_on(notice_on=version.notice_on, lead_days=lead_days),
                weekday=True,
            ),
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
    request: ConsoleRequest,
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
    rows: list[dict[str, Any]] = []
    for article in articles:
        form = bound.get(article.number) or _article_form(article)
        rows.append({"article": article, "form": form, "open": article.number in bound})
    next_number = max((a.number for a in articles), default=0) + 1
    predecessor = version_predecessor(version)
    diff = version_diff(before=predecessor, after=version)
    kinds = {a.after_number: a.kind for a in diff.articles if a.kind != "unchanged"}
    for row in rows:
        row["changed"] = row["article"].number in kinds
        row["added"] = kinds.get(row["article"].number) == "added"
    return render(
        request,
        "agreements/console/version_edit.html",
        {
            "nav": "home",
            "version": version,
            "document": version.document,
            "predecessor": predecessor,
            "outside_excerpt": diff.outside_excerpt,
            "outside_paragraphs": diff.outside_paragraphs,
            "meta_form": meta_form or VersionMetaForm(instance=version, prefix="meta"),
            "rows": rows,
            "new_article_form": new_article_form
            or ArticleForm(initial={"number": next_number}, prefix="new"),
            "paste_form": paste_form
            or PasteTextForm(
                # An excerpt is not the terms: its text would not read back as a whole
                # document (no titles, passages only), so the box starts empty.
                initial={"text": "" if version.is_excerpt else version_plain_text(version)},
                prefix="paste",
            ),
            "hints": _schedule_hints(version),
            # The body's own 最終改定 line and the version's date (said when they differ).
            "dates": revision_dates(version),
            # A newer version is scheduled and this draft does not start from it, or the
            # version it starts from was withdrawn (R7): offered a rebase at the top.
            "rebase": draft_rebase_offer(version),
            # A publisher sent the draft back: what to fix, above everything else.
            "sent_back": open_send_back(version_review_history(version)),
            "counts": diff_counts(diff),
            "lead_days": settings.TERMS_NOTICE_LEAD_DAYS,
        },
        status=status,
    )


def _autosaved(request: ConsoleRequest, form: Any, ok: bool) -> HttpResponse:
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
def version_edit(request: ConsoleRequest, pk: int) -> HttpResponse:
    """The draft's fields: saved on submit, and autosaved by htmx while typing."""
    version = version_or_404(request, pk)
    refused = draft_or_refuse(request, version)
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
            errors=REFUSALS,
            fields_by_code=FIELD_FOR_CODE,
            scope=request.scope,
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
def article_save(request: ConsoleRequest, pk: int, article_pk: int | None = None) -> HttpResponse:
    """Create or replace one article from its plain text (autosaved by htmx too)."""
    version = version_or_404(request, pk)
    refused = draft_or_refuse(request, version)
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
            errors=REFUSALS,
            fields_by_code=FIELD_FOR_CODE,
            scope=request.scope,
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


# --- the three edits that change many things at once ask first ------------------------------
# Deleting an article, renumbering and replacing the whole text each answer a confirmation
# page (no script needed) unless the POST carries confirm=1, which only that page's form sends.


def _confirmed(request: ConsoleRequest) -> bool:
    return request.POST.get("confirm") == "1"


def _confirm_page(
    request: ConsoleRequest,
    version: TermsVersion,
    *,
    title: str,
    question: str,
    effects: list[str],
    action: str,
    button: str,
    carried: dict[str, str] | None = None,
) -> HttpResponse:
    return render(
        request,
        "agreements/console/version_confirm.html",
        {
            "nav": "home",
            "version": version,
            "document": version.document,
            "confirm_title": title,
            "question": question,
            "effects": effects,
            "action": action,
            "button": button,
            "carried": carried or {},
        },
    )


@console_view(Need.DRAFT, methods=("POST",))
def version_rebase(request: ConsoleRequest, pk: int) -> HttpResponse:
    """Replay the draft's changes onto the document's scheduled version, or the version in
    force when the draft's base was withdrawn (R7)."""
    version = version_or_404(request, pk)
    refused = draft_or_refuse(request, version)
    if refused is not None:
        return refused
    try:
        rebased = version_draft_rebase(scope=request.scope, version=version)
    except REFUSALS as error:
        messages.error(request, str(getattr(error, "message", error)))
        return redirect("console:version-edit", pk=version.pk)
    messages.success(
        request,
        _("版「%(label)s」を元にしました（同版から取り込んだ条: %(taken)s）。")
        % {
            "label": rebased.onto.label,
            "taken": _list_numbers(rebased.merge.taken),
        },
    )
    if rebased.merge.conflicts:
        messages.warning(
            request,
            _(
                "両方で変更されていた条があります。改定案の内容を残しました。確認してください: %(numbers)s"
            )
            % {"numbers": _list_numbers(rebased.merge.conflicts)},
        )
    return redirect("console:version-edit", pk=version.pk)


def _list_numbers(numbers: list[int]) -> str:
    if not numbers:
        return _("なし")
    return "、".join(_("第%(number)s条") % {"number": n} for n in numbers)


@console_view(Need.DRAFT, methods=("POST",))
def article_delete(request: ConsoleRequest, pk: int, number: int) -> HttpResponse:
    version = version_or_404(request, pk)
    refused = draft_or_refuse(request, version)
    if refused is not None:
        return refused
    if not _confirmed(request):
        article = next((a for a in articles_of(version) if a.number == number), None)
        if article is None:
            raise Http404
        return _confirm_page(
            request,
            version,
            title=_("条の削除"),
            question=_("%(heading)sを削除しますか？") % {"heading": article.heading},
            effects=[
                _("この条の見出しと本文（%(count)s項）が下書きから消えます。")
                % {"count": article.paragraphs.count()},
                _(
                    "後の条の番号は変わりません。番号を詰めるには、削除のあとで「条番号を1から振り直す」を使います。"
                ),
            ],
            action=reverse("console:article-delete", args=[version.pk, number]),
            button=_("%(heading)sを削除する") % {"heading": article.heading},
        )
    try:
        version_services.article_delete(scope=request.scope, version=version, number=number)
        messages.success(
            request,
            _("第%(number)s条を削除しました。必要なら条番号を振り直してください。")
            % {"number": number},
        )
    except REFUSALS as error:
        messages.error(request, str(getattr(error, "message", error)))
    return redirect("console:version-edit", pk=version.pk)


@console_view(Need.DRAFT, methods=("POST",))
def articles_renumber(request: ConsoleRequest, pk: int) -> HttpResponse:
    version = version_or_404(request, pk)
    refused = draft_or_refuse(request, version)
    if refused is not None:
        return refused
    if not _confirmed(request):
        moves = [
            _("%(before)s → 第%(after)s条") % {"before": a.heading, "after": position}
            for position, a in enumerate(articles_of(version), start=1)
            if a.number != position
        ]
        return _confirm_page(
            request,
            version,
            title=_("条番号の振り直し"),
            question=_("条番号を1から振り直しますか？"),
            effects=(
                [_("次の条の番号が変わります（本文中の条番号の参照は変わりません）。"), *moves]
                if moves
                else [_("番号の変わる条はありません。")]
            ),
            action=reverse("console:articles-renumber", args=[version.pk]),
            button=_("条番号を振り直す"),
        )
    try:
        version_services.articles_renumber(scope=request.scope, version=version)
        messages.success(
            request,
            _("条番号を1から振り直しました。本文中の条番号の参照は確認してください。"),
        )
    except REFUSALS as error:
        messages.error(request, str(getattr(error, "message", error)))
    return redirect("console:version-edit", pk=version.pk)


@console_view(Need.DRAFT, methods=("POST",))
def version_paste(request: ConsoleRequest, pk: int) -> HttpResponse:
    """Replace every article with a pasted whole text, read by the importer's parser."""
    version = version_or_404(request, pk)
    refused = draft_or_refuse(request, version)
    if refused is not None:
        return refused
    form = PasteTextForm(request.POST, prefix="paste")
    if form.is_valid():
        try:
            parsed = parse_terms(form.cleaned_data["text"], some=True)
        except ParseError as error:
            form.add_error(
                "text",
                _("%(line)s行目: 規約として読み取れません（%(reason)s）。")
                % {"line": error.line, "reason": parse_error_text(error)},
            )
        else:
            if not is_whole_text(parsed):
                return _paste_some(request, version, form.cleaned_data["text"], parsed)
            if not _confirmed(request):
                return _confirm_page(
                    request,
                    version,
                    title=_("全文の置き換え"),
                    question=_("下書きの条文をすべて、貼り付けた全文で置き換えますか？"),
                    effects=[
                        _("いまの%(before)s条はすべて消え、貼り付けた全文の%(after)s条になります。")
                        % {"before": len(articles_of(version)), "after": len(parsed.articles)},
                        _("改定の概要（効力発生日など）は変わりません。"),
                    ],
                    action=reverse("console:version-paste", args=[version.pk]),
                    button=_("全文を置き換える"),
                    carried={"paste-text": form.cleaned_data["text"]},
                )
            ok, _result = call_service(
                request,
                form,
                version_services.version_articles_replace,
                errors=REFUSALS,
                scope=request.scope,
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


def _paste_some(
    request: ConsoleRequest, version: TermsVersion, text: str, parsed: ParsedTerms
) -> HttpResponse:
    """Some articles pasted (no title, or not numbered from 第1条): they replace the draft's
    articles of the same numbers, or are added; nothing else is removed."""
    numbers = [article.number for article in parsed.articles]
    existing = {article.number for article in articles_of(version)}
    if not _confirmed(request):
        listed = article_list(numbers)
        return _confirm_page(
            request,
            version,
            title=_("条文の貼り付け"),
            question=_(
                "貼り付けた本文は全文ではなく、一部の条文（%(articles)s）です。"
                "この条文だけを下書きに反映しますか？"
            )
            % {"articles": listed},
            effects=[
                _(
                    "同じ番号の条（%(count)s条）は貼り付けた内容に置き換わり、ない番号の条（%(added)s条）は番号の位置に加わります。"
                )
                % {
                    "count": len([n for n in numbers if n in existing]),
                    "added": len([n for n in numbers if n not in existing]),
                },
                _(
                    "それ以外の条、前文と末文はそのまま残ります。全文を置き換えるには、題名から第1条以降のすべてを貼り付けてください。"
                ),
            ],
            action=reverse("console:version-paste", args=[version.pk]),
            button=_("この条文を反映する"),
            carried={"paste-text": text},
        )
    try:
        replaced, added = version_services.version_articles_paste(
            scope=request.scope, version=version, doc=parsed
        )
    except REFUSALS as error:
        messages.error(request, str(getattr(error, "message", error)))
    else:
        messages.success(
            request,
            _("%(replaced)s条を置き換え、%(added)s条を加えました。")
            % {"replaced": len(replaced), "added": len(added)},
        )
    return redirect("console:version-edit", pk=version.pk)


# --- change categories (the notice's 1. / 2. groups) ------------------------------------------


def _change_rows(version: TermsVersion) -> list[dict[str, Any]]:
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
def version_changes(request: ConsoleRequest, pk: int) -> HttpResponse:
    """Name the change categories and put each changed passage in one (seed 003's 1. / 2.)."""
    version = version_or_404(request, pk)
    refused = draft_or_refuse(request, version)
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
            # One pass: the passages name a category by its row in the form (1, 2, …), titled
            # in the same submission; rows left blank are dropped and the rest renumbered.
            categories = []
            renumbered: dict[str, int] = {}
            for position, form in enumerate(formset.forms, start=1):
                title = (form.cleaned_data or {}).get("title", "").strip()
                if title:
                    categories.append({"title": title, "kind": form.cleaned_data["kind"]})
                    renumbered[str(position)] = len(categories)
            untitled = sorted(
                {c for c in choices.values() if c and c not in renumbered}, key=lambda c: int(c)
            )
            for index, category in enumerate(categories, start=1):
                category["index"] = index
                category["paragraphs"] = [
                    [r["row"].article_number, r["row"].paragraph_key or ""]
                    for r in rows
                    if renumbered.get(choices[r["key"]]) == index
                ]
            if untitled:
                messages.error(
                    request,
                    _(
                        "表題のない区分（%(rows)s）に変更箇所が入っています。表題を入力してください。"
                    )
                    % {"rows": "、".join(untitled)},
                )
            ok, _result = (
                (False, None)
                if untitled
                else call_service(
                    request,
                    formset.forms[0] if formset.forms else VersionMetaForm(),
                    version_services.version_draft_update,
                    errors=REFUSALS,
                    scope=request.scope,
                    version=version,
                    categories=categories,
                )
            )
            if ok:
                messages.success(request, _("変更区分を保存しました。"))
                return redirect("console:version-changes", pk=version.pk)
    else:
        for r in rows:
            stored = assigned.get(r["key"])
            r["chosen"] = str(stored) if stored else ""
    kinds = {
        int(c.get("index") or i): c.get("kind", "")
        for i, c in enumerate(version.categories or [], 1)
    }
    suspicious = editorial_but_not_wording(
        [replace(r["row"], category_index=assigned.get(r["key"])) for r in rows], kinds
    )
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
            "editorial_additions": suspicious,
        },
        status=400 if request.method == "POST" else 200,
    )
