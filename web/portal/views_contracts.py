"""Customer portal pages for contracts: dates and deadlines, non-renewal (R11), termination
(R13) and data deletion (R15), each confirmed on screen before it is filed.

Thin views: a form validates, one service call, a redirect with a message; a refusal is
shown beside the form that caused it. Every read is built from `request.scope` (the current
tenant), so another tenant's URL answers 404.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from agreements.models import Contract
from agreements.selectors.contracts import active_non_renewal, contract_facts, contract_get
from agreements.services import contracts as contract_services
from agreements.services import deletions as deletion_services
from agreements.templatetags.jdates import format_date
from core import clock
from core.errors import Conflict, DomainError
from web.portal import selectors
from web.portal.access import error_message, member_scope, place_error, portal_view
from web.portal.forms import DeletionForm, NonRenewalForm, TerminationForm, WithdrawForm
from web.requests import PortalRequest


def _contract(request: PortalRequest, pk: int) -> Contract:
    try:
        return contract_get(scope=request.scope, pk=pk)
    except DomainError:
        raise Http404 from None


@portal_view()
def contract_list(request: PortalRequest) -> HttpResponse:
    scope, tenant = member_scope(request)
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


def _contract_context(request: PortalRequest, contract: Contract, **extra: Any) -> dict[str, Any]:
    today = clock.today()
    return {
        "nav": "contracts",
        "today": today,
        "contract": contract,
        "facts": contract_facts(contract, today),
        "non_renewal": active_non_renewal(contract),
        "dependents": selectors.dependents_losing_prerequisite(
            scope=request.scope,
            contract=contract,
        ),
        "deletion_grace_days": settings.TERMS_DELETION_REQUEST_GRACE_DAYS,
        "non_renewal_form": extra.pop("non_renewal_form", None) or NonRenewalForm(),
        "termination_form": extra.pop("termination_form", None) or TerminationForm(),
        "deletion_form": extra.pop("deletion_form", None) or DeletionForm(),
        **extra,
    }


@portal_view()
def contract_detail(request: PortalRequest, pk: int) -> HttpResponse:
    contract = _contract(request, pk)
    return render(
        request, "agreements/portal/contract_detail.html", _contract_context(request, contract)
    )


def _contract_refused(request: PortalRequest, contract: Contract, **forms: Any) -> HttpResponse:
    return render(
        request,
        "agreements/portal/contract_detail.html",
        _contract_context(request, contract, **forms),
        status=409,
    )


@portal_view(admin=True, methods=("POST",))
def non_renewal(request: PortalRequest, pk: int) -> HttpResponse:
    contract = _contract(request, pk)
    form = NonRenewalForm(request.POST)
    if not form.is_valid():
        return _contract_refused(request, contract, non_renewal_form=form)
    try:
        made = contract_services.non_renewal_request(
            scope=request.scope,
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
def non_renewal_withdraw(request: PortalRequest, pk: int) -> HttpResponse:
    contract = _contract(request, pk)
    form = WithdrawForm(request.POST)
    current = active_non_renewal(contract)
    if not form.is_valid() or current is None or current.pk != form.cleaned_data["request_id"]:
        raise Http404
    try:
        contract_services.non_renewal_withdraw(scope=request.scope, request=current)
    except DomainError as error:
        messages.error(request, error_message(error))
    else:
        messages.success(request, _("更新しない旨の申込を取り下げました。契約は自動更新されます。"))
    return redirect("portal:contract", contract.pk)


@portal_view(admin=True, methods=("POST",))
def termination(request: PortalRequest, pk: int) -> HttpResponse:
    contract = _contract(request, pk)
    form = TerminationForm(request.POST)
    if not form.is_valid():
        return _contract_refused(request, contract, termination_form=form)
    try:
        made = contract_services.termination_request(
            scope=request.scope,
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
def deletion(request: PortalRequest, pk: int) -> HttpResponse:
    contract = _contract(request, pk)
    form = DeletionForm(request.POST)
    if not form.is_valid():
        return _contract_refused(request, contract, deletion_form=form)
    try:
        made = deletion_services.deletion_request(scope=request.scope, contract=contract)
    except DomainError as error:
        place_error(form, error)
        return _contract_refused(request, contract, deletion_form=form)
    messages.success(
        request,
        _("データ削除の依頼を受け付けました。%(due)sまでに削除します。")
        % {"due": _date(made.due_on)},
    )
    return redirect("portal:contract", contract.pk)


def _date(value: date | None) -> str:
    return format_date(value)
