"""Console pages for scheduling a revision (R2: lead time and legal basis checked) and for
withdrawing a scheduled one before its effective date (R7)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from agreements.models import TermsVersion
from agreements.selectors.authors import (
    four_eyes_required,
    version_author_ids,
    withdrawal_needs_another_person,
)
from agreements.selectors.versions import tenants_to_notify, version_pending, withdrawal_impact
from agreements.services import versions as version_services
from agreements.services.version_rebase import draft_rebase_offer
from agreements.services.version_text import (
    version_body_hash,
    version_diff,
    version_predecessor,
)
from agreements.services.versions.preview import notice_email_preview
from core.errors import Conflict
from web.console.access import (
    REFUSALS,
    ConsoleRequest,
    Need,
    apply_domain_error,
    call_service,
    console_view,
)
from web.console.forms_versions import ScheduleForm, WithdrawForm
from web.console.presenters import diff_counts
from web.console.views_versions import FIELD_FOR_CODE, draft_or_refuse, version_or_404

# Where the schedule service's refusals of the gating policy (R4) land on the form.
SCHEDULE_FIELD_FOR_CODE = {
    **FIELD_FOR_CODE,
    "gating_needs_explicit": "gating_enabled",
    "gating_rationale_required": "gating_rationale",
    "gating_grace_required": "gating_grace_days",
}


def _schedule_summary(version: TermsVersion) -> dict[str, Any]:
    predecessor = version_predecessor(version)
    return {
        "bound_tenants": tenants_to_notify(document=version.document).count(),
        "counts": diff_counts(version_diff(before=predecessor, after=version)),
        "predecessor": predecessor,
        # A draft whose base was withdrawn (or that is behind a scheduled version): said at
        # the top of the form, before 内容を確認, not after (R7).
        "rebase": draft_rebase_offer(version),
    }


@console_view(Need.PUBLISH, methods=("GET", "POST"))
def version_schedule(request: ConsoleRequest, pk: int) -> HttpResponse:
    """Two steps: the publisher checks the values, then confirms what will happen."""
    version = version_or_404(request, pk)
    refused = draft_or_refuse(request, version)
    if refused is not None:
        return refused
    initial = {
        "notice_on": version.notice_on,
        "effective_on": version.effective_on,
        "consent_mode": version.consent_mode,
        "legal_basis": version.legal_basis,
        "rationale": version.rationale,
        "gating_enabled": version.gating_enabled,
        "gating_grace_days": version.gating_grace_days,
        "gating_rationale": version.gating_rationale,
    }
    form = ScheduleForm(
        request.POST or None, initial=initial, product_code=version.document.product.code
    )
    confirming = False
    changed = False
    # R7: one scheduled version per document. Said before the publisher fills the form, not
    # after the confirmation (the service refuses it again under its lock).
    blocked_by = version_pending(document=version.document)
    if blocked_by is not None:
        return render(
            request,
            "agreements/console/version_schedule.html",
            {
                "nav": "home",
                "version": version,
                "document": version.document,
                "blocked_by": blocked_by,
                **_schedule_summary(version),
            },
            status=409,
        )
    if request.method == "POST" and form.is_valid():
        values = dict(form.cleaned_data)
        # The text the publisher reviewed; a confirmation without it is a review to redo.
        reviewed_hash = values.pop("body_hash") or ""
        if request.POST.get("confirm") == "1":
            try:
                version_services.version_schedule(
                    scope=request.scope,
                    version=version,
                    categories=version.categories or None,
                    expected_body_hash=reviewed_hash,
                    **values,
                )
            except Conflict as error:
                if error.code != "draft_changed":
                    apply_domain_error(form, error, SCHEDULE_FIELD_FOR_CODE)
                else:
                    # Show the review again, with the text as it is now.
                    changed = confirming = True
                    messages.error(request, str(error.message))
            except REFUSALS as error:
                apply_domain_error(form, error, SCHEDULE_FIELD_FOR_CODE)
            else:
                messages.success(
                    request, _("改定を予定登録しました。掲示日にお知らせが掲示されます。")
                )
                return redirect("console:version-detail", pk=version.pk)
        else:
            # The review runs the final step's checks (R2 lead time and the rest) and shows
            # every refusal at once, before the notice e-mail preview, not after confirming.
            for refusal in version_services.schedule_refusals(version=version, **values):
                apply_domain_error(form, refusal, SCHEDULE_FIELD_FOR_CODE)
            confirming = True
    preview = []
    if confirming and not form.errors:
        values = {k: v for k, v in form.cleaned_data.items() if k != "body_hash"}
        preview = notice_email_preview(version, **values)
    # Four eyes: whoever created, edited or classified the draft sees why they cannot confirm.
    is_author = four_eyes_required() and request.user.pk in version_author_ids(version)
    return render(
        request,
        "agreements/console/version_schedule.html",
        {
            "nav": "home",
            "version": version,
            "document": version.document,
            "form": form,
            "confirming": confirming and not form.errors,
            "draft_changed": changed,
            # Computed as the review is shown: the confirmation carries it back (draft_changed).
            "body_hash": version_body_hash(version) if confirming else "",
            "is_author": is_author,
            "email_preview": preview,
            "lead_days": settings.TERMS_NOTICE_LEAD_DAYS,
            "lead_days_reasonable": settings.TERMS_NOTICE_LEAD_DAYS_REASONABLE,
            **_schedule_summary(version),
        },
        status=400 if form.errors else 409 if changed else 200,
    )


@console_view(Need.PUBLISH, methods=("GET", "POST"))
def version_withdraw(request: ConsoleRequest, pk: int) -> HttpResponse:
    version = version_or_404(request, pk)
    form = WithdrawForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        ok, _result = call_service(
            request,
            form,
            version_services.version_withdraw,
            errors=REFUSALS,
            fields_by_code=FIELD_FOR_CODE,
            success=_("改定を撤回しました。"),
            scope=request.scope,
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
            "impact": withdrawal_impact(scope=request.scope, version=version),
            # Four eyes: said before a reason is written; the service refuses it anyway.
            "withdraw_by_other": withdrawal_needs_another_person(version, request.user.pk),
        },
        status=400 if form.errors else 200,
    )
