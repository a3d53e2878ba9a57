"""Customer portal pages: home, reviewing and answering a change, contracts, receipts.

Thin views: a form validates, one service call, a redirect with a message; a refusal
(DomainError, TransitionNotAllowed) is shown beside the form that caused it. Every read is
built from `request.scope` (the current tenant), so another tenant's URL answers 404.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from agreements.enums import Answer, ChangeCategory, ConsentMode, ConsentStatus
from agreements.rules import (
    ANSWER_NOT_ALLOWED,
    CASE_IN_EFFECT,
    REJECT_AFTER_EFFECTIVE,
    TransitionNotAllowed,
)
from agreements.selectors.consents import DocumentStatus
from agreements.selectors.contracts import active_non_renewal, contract_facts, contract_get
from agreements.services import consents as consent_services
from agreements.services import contracts as contract_services
from agreements.services import deletions as deletion_services
from agreements.services.ledger import EvidenceInput
from agreements.services.version_text import notice_table
from agreements.templatetags.jdates import format_date
from core import clock
from core.errors import Conflict, DomainError
from web import receipts as receipt_pdf
from web.portal.agreements import selectors
from web.portal.agreements.forms import (
    AnswerForm,
    DeletionForm,
    NonRenewalForm,
    TerminationForm,
    WithdrawForm,
)
from web.portal.agreements.gate import gate_invalidate
from web.portal.tenants.access import GATE_EXEMPT, error_message, place_error, portal_view
from web.public.documents import articles_of

REFUSALS = (DomainError, TransitionNotAllowed)


def _scope_tenant(request: HttpRequest) -> tuple[Any, Any]:
    portal = request.portal  # type: ignore[attr-defined]
    return portal.scope, portal.tenant


# --- home -----------------------------------------------------------------------------------


@portal_view()
def home(request: HttpRequest) -> HttpResponse:
    scope, tenant = _scope_tenant(request)
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


def _document_status(request: HttpRequest, version_id: int) -> DocumentStatus:
    scope, tenant = _scope_tenant(request)
    try:
        return selectors.document_status_for_version(
            scope=scope, tenant=tenant, version_id=version_id
        )
    except DomainError:
        raise Http404 from None


def _categories(version: Any) -> list[dict[str, str]]:
    labels = dict(ChangeCategory.choices)
    return [
        {
            "kind": str(c.get("kind") or ""),
            "kind_label": str(labels.get(c.get("kind"), "")),
            "title": str(c.get("title") or ""),
        }
        for c in (version.categories or [])
    ]


def _rejection_consequence(request: HttpRequest, status: DocumentStatus) -> dict[str, Any]:
    """What a rejection may lead to (R6), as concrete dates and the contracts concerned."""
    scope, tenant = _scope_tenant(request)
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


def _review_context(request: HttpRequest, version_id: int, **extra: Any) -> dict[str, Any]:
    status = _document_status(request, version_id)
    latest = status.version
    shown = next(
        v
        for v in (status.version, status.pending_version, status.version_in_force)
        if v is not None and v.pk == version_id
    )
    answerable = latest is not None and latest.pk == shown.pk
    today = clock.today()
    allowed = status.allowed_answers if answerable else frozenset()
    gated = any(item.version_id == shown.pk for item in _gate(request))
    return {
        "nav": "home",
        "today": today,
        "status": status,
        "version": shown,
        "is_latest": answerable,
        "is_pending": status.pending_version is not None and status.pending_version.pk == shown.pk,
        "days_left": (shown.effective_on - today).days if shown.effective_on else None,
        "categories": _categories(shown),
        "notice": notice_table(shown),
        "articles": articles_of(shown),
        "can_accept": Answer.ACCEPTED in allowed,
        "can_reject": Answer.REJECTED in allowed,
        "reject_refused_deemed": (
            answerable and status.status == ConsentStatus.DEEMED and Answer.REJECTED not in allowed
        ),
        "consequence": _rejection_consequence(request, status) if answerable else None,
        "is_explicit": shown.consent_mode == ConsentMode.EXPLICIT,
        "gated": gated,
        # The page says it itself; the layout's banner would repeat it.
        "hide_gate_banner": gated,
        **extra,
    }


def _gate(request: HttpRequest) -> tuple[Any, ...]:
    return getattr(request, "consent_gate", ())


@portal_view(gate=GATE_EXEMPT)
def review(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "agreements/portal/review.html", _review_context(request, pk))


_TRANSITION_MESSAGES = {
    REJECT_AFTER_EFFECTIVE: gettext_lazy(
        "この改定は既に効力を生じ、みなし同意となっています。改定に同意できない場合は、契約の解約をお申し込みください。"
    ),
    CASE_IN_EFFECT: gettext_lazy(
        "拒否による契約の終了が既に効力を生じているため、同意に切り替えることはできません。"
    ),
    ANSWER_NOT_ALLOWED: gettext_lazy("現在の状態では、この回答はできません。"),
}


def _evidence(request: HttpRequest) -> EvidenceInput:
    user = request.user
    return EvidenceInput(
        person_name=user.get_full_name() or user.first_name,  # type: ignore[union-attr]
        person_email=user.email,  # type: ignore[union-attr]
        ip_address=str(request.META.get("REMOTE_ADDR") or ""),
        user_agent=str(request.META.get("HTTP_USER_AGENT") or "")[:1000],
        obtained_at=clock.now(),
        method="portal",
    )


@portal_view(admin=True, methods=("POST",), gate=GATE_EXEMPT)
def answer(request: HttpRequest, pk: int) -> HttpResponse:
    status = _document_status(request, pk)
    if status.version is None or status.version.pk != pk:
        messages.warning(request, _("より新しい版が掲示されています。新しい版に回答してください。"))
        target = status.version.pk if status.version is not None else pk
        return redirect("portal:review", target)
    form = AnswerForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("回答を選んでください。"))
        return redirect("portal:review", pk)
    chosen = form.cleaned_data["answer"]
    if chosen == Answer.REJECTED and not form.cleaned_data["confirm"]:
        # Before a rejection is recorded its consequence is stated plainly (R6).
        return render(
            request, "agreements/portal/reject_confirm.html", _review_context(request, pk)
        )
    scope, tenant = _scope_tenant(request)
    try:
        record, created = consent_services.consent_answer(
            scope=scope,
            tenant=tenant,
            version=status.version,
            answer=chosen,
            evidence=_evidence(request),
        )
    except TransitionNotAllowed as error:
        text = _TRANSITION_MESSAGES.get(error.code, _TRANSITION_MESSAGES[ANSWER_NOT_ALLOWED])
        return _answer_refused(request, pk, str(text))
    except DomainError as error:
        return _answer_refused(request, pk, error_message(error))
    gate_invalidate(tenant.pk)
    if not created:
        messages.info(request, _("この回答は既に記録されています。"))
    elif chosen == Answer.ACCEPTED:
        messages.success(request, _("同意を記録しました。受領証は下記のとおりです。"))
    else:
        messages.warning(
            request,
            _("拒否を記録しました。終了が効力を生じるまでは、同意に切り替えることができます。"),
        )
    return redirect("portal:receipt", record.pk)


def _answer_refused(request: HttpRequest, pk: int, text: str) -> HttpResponse:
    return render(
        request,
        "agreements/portal/review.html",
        _review_context(request, pk, answer_error=text),
        status=409,
    )


# --- contracts ------------------------------------------------------------------------------


def _contract(request: HttpRequest, pk: int) -> Any:
    try:
        return contract_get(scope=request.scope, pk=pk)  # type: ignore[attr-defined]
    except DomainError:
        raise Http404 from None


@portal_view()
def contract_list(request: HttpRequest) -> HttpResponse:
    scope, tenant = _scope_tenant(request)
    today = clock.today()
    return render(
        request,
        "agreements/portal/contract_list.html",
        {
            "nav": "contracts",
            "today": today,
            "contracts": selectors.contracts_with_facts(scope=scope, tenant=tenant, today=today),
        },
    )


def _contract_context(request: HttpRequest, contract: Any, **extra: Any) -> dict[str, Any]:
    today = clock.today()
    return {
        "nav": "contracts",
        "today": today,
        "contract": contract,
        "facts": contract_facts(contract, today),
        "non_renewal": active_non_renewal(contract),
        "dependents": selectors.dependents_losing_prerequisite(
            scope=request.scope,  # type: ignore[attr-defined]
            contract=contract,
        ),
        "deletion_grace_days": settings.TERMS_DELETION_REQUEST_GRACE_DAYS,
        "non_renewal_form": extra.pop("non_renewal_form", None) or NonRenewalForm(),
        "termination_form": extra.pop("termination_form", None) or TerminationForm(),
        "deletion_form": extra.pop("deletion_form", None) or DeletionForm(),
        **extra,
    }


@portal_view()
def contract_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contract = _contract(request, pk)
    return render(
        request, "agreements/portal/contract_detail.html", _contract_context(request, contract)
    )


def _contract_refused(request: HttpRequest, contract: Any, **forms: Any) -> HttpResponse:
    return render(
        request,
        "agreements/portal/contract_detail.html",
        _contract_context(request, contract, **forms),
        status=409,
    )


@portal_view(admin=True, methods=("POST",))
def non_renewal(request: HttpRequest, pk: int) -> HttpResponse:
    contract = _contract(request, pk)
    form = NonRenewalForm(request.POST)
    if not form.is_valid():
        return _contract_refused(request, contract, non_renewal_form=form)
    try:
        made = contract_services.non_renewal_request(
            scope=request.scope,  # type: ignore[attr-defined]
            contract=contract,
            end_date=form.cleaned_data["end_date"],
        )
    except Conflict as error:
        if error.code == "non_renewal_late":
            # R11: refused with the deadline and an explicit choice of the next possible end.
            late = {
                "message": error_message(error),
                "deadline": error.details.get("deadline"),
                "period_end": error.details.get("period_end"),
                "next_possible_end": error.details.get("next_possible_end"),
            }
            return _contract_refused(request, contract, non_renewal_late=late)
        place_error(form, error)
        return _contract_refused(request, contract, non_renewal_form=form)
    except DomainError as error:
        place_error(form, error)
        return _contract_refused(request, contract, non_renewal_form=form)
    messages.success(
        request,
        _(
            "更新しない旨の申込を受け付けました。契約は%(end)sに終了します。%(deadline)sまでは取り下げられます。"
        )
        % {"end": _date(made.end_date), "deadline": _date(made.deadline)},
    )
    return redirect("portal:contract", contract.pk)


@portal_view(admin=True, methods=("POST",))
def non_renewal_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    contract = _contract(request, pk)
    form = WithdrawForm(request.POST)
    current = active_non_renewal(contract)
    if not form.is_valid() or current is None or current.pk != form.cleaned_data["request_id"]:
        raise Http404
    try:
        contract_services.non_renewal_withdraw(scope=request.scope, request=current)  # type: ignore[attr-defined]
    except DomainError as error:
        messages.error(request, error_message(error))
    else:
        messages.success(request, _("更新しない旨の申込を取り下げました。契約は自動更新されます。"))
    return redirect("portal:contract", contract.pk)


@portal_view(admin=True, methods=("POST",))
def termination(request: HttpRequest, pk: int) -> HttpResponse:
    contract = _contract(request, pk)
    form = TerminationForm(request.POST)
    if not form.is_valid():
        return _contract_refused(request, contract, termination_form=form)
    try:
        made = contract_services.termination_request(
            scope=request.scope,  # type: ignore[attr-defined]
            contract=contract,
            end_date=form.cleaned_data["end_date"],
            note=form.cleaned_data["note"],
        )
    except DomainError as error:
        place_error(form, error)
        return _contract_refused(request, contract, termination_form=form)
    messages.success(
        request,
        _("解約の申込を受け付けました。契約は%(end)sに終了します。")
        % {"end": _date(made.end_date)},
    )
    return redirect("portal:contract", contract.pk)


@portal_view(admin=True, methods=("POST",))
def deletion(request: HttpRequest, pk: int) -> HttpResponse:
    contract = _contract(request, pk)
    form = DeletionForm(request.POST)
    if not form.is_valid():
        return _contract_refused(request, contract, deletion_form=form)
    try:
        made = deletion_services.deletion_request(scope=request.scope, contract=contract)  # type: ignore[attr-defined]
    except DomainError as error:
        place_error(form, error)
        return _contract_refused(request, contract, deletion_form=form)
    messages.success(
        request,
        _("データ削除の依頼を受け付けました。%(due)sまでに削除します。")
        % {"due": _date(made.due_on)},
    )
    return redirect("portal:contract", contract.pk)


# --- receipts -------------------------------------------------------------------------------


@portal_view()
def receipt_list(request: HttpRequest) -> HttpResponse:
    scope, tenant = _scope_tenant(request)
    return render(
        request,
        "agreements/portal/receipt_list.html",
        {"nav": "receipts", "receipts": selectors.receipt_list(scope=scope, tenant=tenant)},
    )


def _receipt(request: HttpRequest, pk: int) -> Any:
    scope, tenant = _scope_tenant(request)
    try:
        return selectors.receipt_get(scope=scope, tenant=tenant, pk=pk)
    except DomainError:
        raise Http404 from None


@portal_view(gate=GATE_EXEMPT)
def receipt_detail(request: HttpRequest, pk: int) -> HttpResponse:
    record = _receipt(request, pk)
    return render(
        request,
        "agreements/portal/receipt_detail.html",
        {
            "nav": "receipts",
            **receipt_pdf.receipt_context(record),
            "verify_url": request.build_absolute_uri(reverse("verify")),
        },
    )


@portal_view(gate=GATE_EXEMPT)
def receipt_download(request: HttpRequest, pk: int) -> HttpResponse:
    record = _receipt(request, pk)
    pdf = receipt_pdf.render_receipt_pdf(
        record,
        language=translation.get_language() or settings.LANGUAGE_CODE,
        verify_url=request.build_absolute_uri(reverse("verify")),
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="receipt-{record.tenant_id}-{record.seq}.pdf"'
    )
    return response


def _date(value: date | None) -> str:
    return format_date(value)
