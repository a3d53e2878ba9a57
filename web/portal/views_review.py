"""Customer portal pages: home, and reviewing and answering a change (R4, R6).

Thin views: a form validates, one service call, a redirect with a message; a refusal
(DomainError, TransitionNotAllowed) is shown beside the form that caused it. Every read is
built from `request.scope` (the current tenant), so another tenant's URL answers 404.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from agreements.enums import Answer, ChangeCategory, ConsentMode, ConsentStatus
from agreements.ledger.rows import EvidenceInput
from agreements.models import TermsVersion
from agreements.rulebook import rulebook_for
from agreements.rules import (
    ANSWER_NOT_ALLOWED,
    CASE_IN_EFFECT,
    REJECT_AFTER_EFFECTIVE,
    TransitionNotAllowed,
    gate_from,
    on_548_4_ground,
)
from agreements.selectors.articles import articles_of
from agreements.selectors.consents import DocumentStatus
from agreements.services import consents as consent_services
from agreements.services.consents.citing import effective_mode, objection_flow
from agreements.services.version_text import notice_table, revision_dates
from agreements.templatetags.jdates import format_date
from core import clock
from core.errors import DomainError
from web.portal import selectors, selectors_review
from web.portal.access import GATE_EXEMPT, error_message, member_scope, portal_view
from web.portal.forms import AnswerForm
from web.portal.gate import gate_invalidate
from web.requests import PortalRequest, WaitingVersion

# --- home -----------------------------------------------------------------------------------


@portal_view()
def home(request: PortalRequest) -> HttpResponse:
    scope, tenant = member_scope(request)
    today = clock.today()
    documents = selectors.documents_pending_first(scope=scope, tenant=tenant)
    return render(
        request,
        "agreements/portal/home.html",
        {
            "nav": "home",
            "today": today,
            "pending": [d for d in documents if selectors.needs_attention(d)],
            "documents": documents,
            "contracts": selectors.contracts_with_facts(scope=scope, tenant=tenant, today=today),
        },
    )


# --- reviewing and answering a change -------------------------------------------------------


def _document_status(request: PortalRequest, version_id: int) -> DocumentStatus:
    scope, tenant = member_scope(request)
    try:
        return selectors.document_status_for_version(
            scope=scope, tenant=tenant, version_id=version_id
        )
    except DomainError:
        raise Http404 from None


def _categories(version: TermsVersion) -> list[dict[str, str]]:
    labels = dict(ChangeCategory.choices)
    return [
        {
            "kind": str(c.get("kind") or ""),
            "kind_label": str(labels.get(c.get("kind"), "")),
            "title": str(c.get("title") or ""),
        }
        for c in (version.categories or [])
    ]


def _rejection_consequence(request: PortalRequest, status: DocumentStatus) -> dict[str, Any]:
    """What a rejection may lead to (R6), as concrete dates and the contracts concerned."""
    scope, tenant = member_scope(request)
    consequence = selectors.rejection_consequence(
        scope=scope,
        tenant=tenant,
        status=status,
        today=clock.today(),
        notice_days=settings.TERMS_TERMINATION_NOTICE_DAYS,
    )
    return {
        "earliest_end": consequence.earliest_end,
        "notice_days": settings.TERMS_TERMINATION_NOTICE_DAYS,
        "contracts": consequence.contracts,
    }


def _review_context(request: PortalRequest, version_id: int, **extra: Any) -> dict[str, Any]:
    status = _document_status(request, version_id)
    latest = status.version
    shown = next(
        v
        for v in (
            status.version,
            status.pending_version,
            status.version_in_force,
            status.binding_version,
        )
        if v is not None and v.pk == version_id
    )
    answerable = latest is not None and latest.pk == shown.pk
    today = clock.today()
    allowed = status.allowed_answers if answerable else frozenset()
    gated = any(item.version_id == shown.pk for item in _gate(request))
    scope, tenant = member_scope(request)
    # R3: silence after the notice reached the tenant is consent; the one action offered is
    # an objection (異議), and a recorded objection can be withdrawn (an accept, which drops
    # the R6 case). Opening this page is itself recorded as the notice reaching the tenant,
    # so no acceptance is needed to make the deemed consent provable.
    deemed_flow = objection_flow(shown)
    can_accept = Answer.ACCEPTED in allowed and (
        not deemed_flow or status.status == ConsentStatus.REJECTED
    )
    can_reject = Answer.REJECTED in allowed
    # The tenant's own answer to this version: the page then says what was answered and what
    # can still be changed, instead of asking for an answer.
    answered = (
        status.record
        if answerable
        and status.record is not None
        and status.record.version_id == shown.pk
        and status.status in (ConsentStatus.ACCEPTED, ConsentStatus.REJECTED)
        else None
    )
    switch_to = None
    if answered is not None:
        if answered.answer == Answer.ACCEPTED and can_reject:
            switch_to = Answer.REJECTED
        elif answered.answer == Answer.REJECTED and can_accept:
            switch_to = Answer.ACCEPTED
    return {
        "nav": "home",
        "today": today,
        "status": status,
        "version": shown,
        "is_latest": answerable,
        "is_pending": status.pending_version is not None and status.pending_version.pk == shown.pk,
        "days_left": (shown.effective_on - today).days if shown.effective_on else None,
        "categories": _categories(shown),
        # The body's own 最終改定 line, when it is not this version's date (said beside it).
        "dates": revision_dates(shown),
        "notice": notice_table(shown),
        "articles": articles_of(shown),
        "can_accept": can_accept,
        "can_reject": can_reject,
        "answered": answered,
        "switch_to": switch_to.label if switch_to is not None else None,
        "deemed_flow": deemed_flow,
        # Named to a viewer, who cannot answer: whom to ask.
        "admins": (
            selectors_review.tenant_admins(scope=scope, tenant=tenant)
            if not request.portal.is_admin
            else []
        ),
        # Every bound contract ends before the revision takes effect (R4: never pending then,
        # unless a period that does not renew may still be extended).
        "ends_before": (
            selectors_review.contracts_end_before(
                scope=scope,
                tenant=tenant,
                document=status.document,
                effective_on=shown.effective_on,
            )
            if answerable and shown.effective_on and shown.effective_on > today
            else None
        ),
        "answer_form": extra.pop("answer_form", None) or AnswerForm(initial=_answerer(request)),
        "reject_refused_deemed": (
            answerable and status.status == ConsentStatus.DEEMED and Answer.REJECTED not in allowed
        ),
        "consequence": _rejection_consequence(request, status) if answerable else None,
        "is_explicit": shown.consent_mode == ConsentMode.EXPLICIT,
        # R3: a deemed-mode revision of a product whose terms have no deemed-consent clause
        # records silence as `outstanding`, never `deemed`: the page says what is recorded.
        "no_deemed_clause": (
            shown.consent_mode == ConsentMode.DEEMED and effective_mode(shown) != ConsentMode.DEEMED
        ),
        # CC 548-4(1): a change on ground (i) or (ii) binds without individual consent.
        "binds_under_548_4": on_548_4_ground(shown.legal_basis),
        # R4: silence limits the product's use only under the version's gating policy.
        "gate_from": (
            gate_from(effective_on=shown.effective_on, grace_days=shown.gating_grace_days)
            if shown.gating_enabled and shown.effective_on and shown.gating_grace_days
            else None
        ),
        "gated": gated,
        # The page says it itself; the layout's banner would repeat it.
        "hide_gate_banner": gated,
        **extra,
    }


def _gate(request: PortalRequest) -> tuple[WaitingVersion, ...]:
    # Set by the consent gate middleware on every guarded page.
    return getattr(request, "consent_gate", ())


@portal_view(gate=GATE_EXEMPT)
def review(request: PortalRequest, pk: int) -> HttpResponse:
    scope, tenant = member_scope(request)
    try:
        context = _review_context(request, pk)
    except Http404:
        withdrawn = selectors_review.withdrawn_version(scope=scope, tenant=tenant, version_id=pk)
        if withdrawn is None:
            raise
        # R7: a withdrawn revision stays readable where earlier e-mails link to it.
        return render(
            request,
            "agreements/portal/review_withdrawn.html",
            {"nav": "home", "version": withdrawn, "document": withdrawn.document},
        )
    # R3: the tenant opening the notice is one way it reached the tenant.
    consent_services.notice_seen_in_portal(scope=scope, tenant=tenant, version=context["version"])
    return render(request, "agreements/portal/review.html", context)


_TRANSITION_MESSAGES = {
    REJECT_AFTER_EFFECTIVE: gettext_lazy(
        "この改定は既に効力を生じているため、今から拒否することはできません。改定に同意できない場合は、契約の解約をお申し込みください。"
    ),
    CASE_IN_EFFECT: gettext_lazy(
        "拒否による契約の終了が既に効力を生じているため、同意に切り替えることはできません。"
    ),
    ANSWER_NOT_ALLOWED: gettext_lazy("現在の状態では、この回答はできません。"),
}


def _answerer(request: PortalRequest) -> dict[str, str]:
    """The answer form's initial name and title: the signed-in person's own (portal: お名前と
    役職)."""
    user = request.user
    membership = request.portal.membership if request.portal else None
    return {
        "person_name": (user.get_full_name() or user.first_name).strip(),  # type: ignore[union-attr]
        "person_title": membership.title if membership is not None else "",
    }


def _evidence(request: PortalRequest, form: AnswerForm) -> EvidenceInput:
    """Who answered, as they gave it (name, title; a rejection's reason), with the request's
    address and agent: kept outside the chain, digested into the row (docs/ledger.md)."""
    user = request.user
    data = form.cleaned_data
    return EvidenceInput(
        person_name=data.get("person_name") or _answerer(request)["person_name"],
        person_email=user.email,  # type: ignore[union-attr]
        person_title=data.get("person_title") or _answerer(request)["person_title"],
        reason=(data.get("reason") or "") if data["answer"] == Answer.REJECTED else "",
        ip_address=str(request.META.get("REMOTE_ADDR") or ""),
        user_agent=str(request.META.get("HTTP_USER_AGENT") or "")[:1000],
        obtained_at=clock.now(),
        method="portal",
    )


@portal_view(admin=True, methods=("POST",), gate=GATE_EXEMPT, back="portal:review")
def answer(request: PortalRequest, pk: int) -> HttpResponse:
    status = _document_status(request, pk)
    if status.version is None or status.version.pk != pk:
        messages.warning(request, _("より新しい版が掲示されています。新しい版に回答してください。"))
        target = status.version.pk if status.version is not None else pk
        return redirect("portal:review", target)
    form = AnswerForm(request.POST)
    if not form.is_valid():
        if "answer" in form.errors:
            messages.error(request, _("回答を選んでください。"))
            return redirect("portal:review", pk)
        template = (
            "agreements/portal/reject_confirm.html"
            if form.data.get("answer") == Answer.REJECTED
            else "agreements/portal/review.html"
        )
        return render(request, template, _review_context(request, pk, answer_form=form), status=400)
    chosen = form.cleaned_data["answer"]
    if chosen == Answer.REJECTED and not form.cleaned_data["confirm"]:
        # Before a rejection is recorded its consequence is stated plainly (R6).
        return render(
            request,
            "agreements/portal/reject_confirm.html",
            _review_context(request, pk, answer_form=AnswerForm(initial=_answerer(request))),
        )
    scope, tenant = member_scope(request)
    try:
        record, created = consent_services.consent_answer(
            scope=scope,
            tenant=tenant,
            version=status.version,
            answer=chosen,
            evidence=_evidence(request, form),
        )
    except TransitionNotAllowed as error:
        text = _TRANSITION_MESSAGES.get(error.code, _TRANSITION_MESSAGES[ANSWER_NOT_ALLOWED])
        return _answer_refused(request, pk, str(text))
    except DomainError as error:
        return _answer_refused(request, pk, error_message(error))
    gate_invalidate(tenant.pk)
    if not created:
        messages.info(request, _("この回答は既に記録されています。"))
    elif (
        chosen == Answer.ACCEPTED
        and status.status == ConsentStatus.REJECTED
        and objection_flow(status.version)
    ):
        messages.success(request, _("異議を取り下げました。受領証は下記のとおりです。"))
    elif chosen == Answer.ACCEPTED and status.case is not None:
        # R6: accepting before the case takes effect drops it; say so where it happens.
        messages.success(
            request,
            _(
                "同意を記録しました。拒否による解約の手続きは取り下げられました。"
                "受領証は下記のとおりです。"
            ),
        )
    elif chosen == Answer.ACCEPTED:
        messages.success(request, _("同意を記録しました。受領証は下記のとおりです。"))
    else:
        messages.warning(request, _rejected_message(status.version))
    return redirect("portal:receipt", record.pk)


def _rejected_message(version: TermsVersion) -> str:
    """What a rejection leaves open: a product with R6 may end the contract over it; one
    without R6 has no such end, so the message gives the last day to switch and, on a CC
    548-4(1) ground, that the revision applies anyway."""
    if rulebook_for(version.document.product.code).has("R6"):
        if objection_flow(version):
            # Biz 2.4 lets the company discontinue, it does not say it will: nothing here
            # implies an end follows; the binding note and the exit are on the receipt page.
            return _(
                "異議の申出を記録しました。当社が提供の中止を決めた場合は、終了日を定めてご連絡します。異議は、改定のページから取り下げることができます。"
            )
        return _(
            "拒否を記録しました。当社が提供の中止を決めた場合は、終了日を定めてご連絡します。それまでは同意に切り替えることができます。"
        )
    effective_on = version.effective_on
    if effective_on is None:
        return _("拒否を記録しました。")
    dates = {
        "last": format_date(effective_on - timedelta(days=1), weekday=True),
        "effective": format_date(effective_on, weekday=True),
    }
    if on_548_4_ground(version.legal_basis):
        return (
            _(
                "拒否を記録しました。%(last)sまでは同意に切り替えることができます。"
                "この改定は民法第548条の4に基づき%(effective)sから適用されます。"
            )
            % dates
        )
    return _("拒否を記録しました。%(last)sまでは同意に切り替えることができます。") % dates


def _answer_refused(request: PortalRequest, pk: int, text: str) -> HttpResponse:
    return render(
        request,
        "agreements/portal/review.html",
        _review_context(request, pk, answer_error=text),
        status=409,
    )
