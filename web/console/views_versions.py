"""Console pages for documents and versions: the timeline, a document, a version and its
notice, and any two versions compared side by side; plus the lookups the drafting and
scheduling pages share (web/console/views_drafts.py, web/console/views_schedule.py).

Views are thin: a form checks shapes, one service call (agreements.services.versions) does
the work, then a redirect. A refusal is shown beside the field it concerns; the user's
input is re-rendered, never dropped (an edit is never lost).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.contrib import messages
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from agreements.enums import VersionStatus
from agreements.models import Product, TermsVersion
from agreements.selectors.articles import articles_of
from agreements.selectors.authors import (
    four_eyes_required,
    version_author_ids,
    withdrawal_needs_another_person,
)
from agreements.selectors.reviews import version_review_history
from agreements.selectors.versions import (
    document_list,
    public_versions_q,
    version_get,
    version_in_force,
    version_list,
    version_pending,
)
from agreements.services import versions as version_services
from agreements.services.version_rebase import draft_rebase_offer
from agreements.services.version_review import version_send_back
from agreements.services.version_text import revision_dates, version_diff, version_predecessor
from core import clock
from core.errors import DomainError
from web.console.access import REFUSALS, ConsoleRequest, Need, call_service, console_view
from web.console.audit_text import audit_rows
from web.console.forms_versions import DraftCreateForm, SendBackForm
from web.console.presenters import compare_blocks, diff_counts
from web.console.selectors import audit_for
from web.notices import notice_context

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


def version_or_404(request: ConsoleRequest, pk: int) -> TermsVersion:
    try:
        return version_get(scope=request.scope, pk=pk)
    except DomainError as error:
        raise Http404(str(error)) from None


def draft_or_refuse(request: ConsoleRequest, version: TermsVersion) -> HttpResponse | None:
    """Posted and scheduled versions never change (R7): send the editor to the version page."""
    if version.status != VersionStatus.DRAFT:
        messages.error(
            request,
            _("この版は%(status)sのため編集できません。訂正は新しい版として作成してください。")
            % {"status": version.get_status_display()},
        )
        return redirect("console:version-detail", pk=version.pk)
    return None


# --- home: products → documents → versions ----------------------------------------------------


@console_view(Need.READ)
def home(request: ConsoleRequest) -> HttpResponse:
    scope = request.scope
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
    empty_products = (
        Product.objects.filter(sandbox__isnull=True)
        .exclude(pk__in=products.keys())
        .order_by("code")
    )
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


@console_view(Need.READ, methods=("GET", "POST"), post=Need.DRAFT)
def document_detail(request: ConsoleRequest, pk: int) -> HttpResponse:
    scope = request.scope
    document = get_object_or_404(document_list(scope=scope), pk=pk)
    # R7: while a revision is scheduled, a new draft should start from it (else scheduling the
    # draft would undo it); the form offers it first and the page says why.
    scheduled = version_pending(document=document)
    form = DraftCreateForm(
        request.POST or None,
        document=document,
        initial={"based_on": scheduled.pk} if scheduled else None,
    )
    if request.method == "POST" and form.is_valid():
        ok, version = call_service(
            request,
            form,
            version_services.version_draft_create,
            errors=REFUSALS,
            fields_by_code=FIELD_FOR_CODE,
            scope=scope,
            document=document,
            label=form.cleaned_data["label"],
            based_on=form.cleaned_data["based_on"],
        )
        if ok:
            messages.success(
                request,
                _("改定案を作成しました。「%(label)s」の条文をコピーしています。")
                % {"label": version.based_on.label if version.based_on else "—"},
            )
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
            "scheduled": scheduled,
            "form": form,
            "today": clock.today(),
        },
        status=400 if form.errors else 200,
    )


# --- one version ------------------------------------------------------------------------------


@console_view(Need.READ, methods=("GET", "POST"), post=Need.PUBLISH)
def version_detail(request: ConsoleRequest, pk: int) -> HttpResponse:
    """A version; for a publisher reviewing a draft, the form that sends it back."""
    version = version_or_404(request, pk)
    send_back_form = SendBackForm(request.POST or None)
    if request.method == "POST" and send_back_form.is_valid():
        ok, _result = call_service(
            request,
            send_back_form,
            version_send_back,
            errors=REFUSALS,
            success=_("改定案を差し戻しました。"),
            scope=request.scope,
            version=version,
            comment=send_back_form.cleaned_data["comment"],
        )
        if ok:
            return redirect("console:version-detail", pk=version.pk)
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
            "outside_excerpt": diff.outside_excerpt,
            "outside_paragraphs": diff.outside_paragraphs,
            "counts": diff_counts(diff),
            "articles": articles_of(version),
            "audit": audit_rows(audit_for(version)),
            "is_author": user.pk in version_author_ids(version),
            "second_publisher": four_eyes_required(),
            "withdrawable": version.status == VersionStatus.SCHEDULED
            and version.effective_on is not None
            and clock.today() < version.effective_on,
            # Four eyes: the person who scheduled it is told before writing a reason.
            "withdraw_by_other": withdrawal_needs_another_person(version, user.pk),
            "history": version_review_history(version),
            # The body's own 最終改定 line and the version's date (said when they differ).
            "dates": revision_dates(version),
            "send_back_form": send_back_form,
            # A draft whose base was withdrawn (or that is behind a scheduled version): said
            # here first, where a publisher starts, not only on the edit page (R7).
            "rebase": draft_rebase_offer(version),
        },
        status=400 if send_back_form.errors else 200,
    )


@console_view(Need.READ)
def version_notice(request: ConsoleRequest, pk: int) -> HttpResponse:
    """The notice as it is (or will be) published, for review before scheduling."""
    version = version_or_404(request, pk)
    # The notice links to the revised text: its public page once anyone may read it, else
    # (a draft, a revision not yet posted) the staff's full text, not a public 404.
    public = TermsVersion.objects.filter(public_versions_q(), pk=version.pk).exists()
    return render(
        request,
        "agreements/console/version_notice.html",
        {
            "nav": "home",
            "version": version,
            "document": version.document,
            "notice": notice_context(version),
            "public": public,
            "revised_text_url": None
            if public
            else f"{reverse('console:compare', args=[version.document.pk])}?b={version.pk}&full=1",
        },
    )


# --- compare ----------------------------------------------------------------------------------


@console_view(Need.READ)
def compare(request: ConsoleRequest, pk: int) -> HttpResponse:
    """Any two versions of a document side by side: 改定前 / 改定後 with character marks."""
    scope = request.scope
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
