"""Customer portal pages for contracts: dates and deadlines, non-renewal (R11), termination
(R13) and data deletion (R15), each confirmed on screen before it is filed (R13).

Thin views: a form validates; without `confirm` the service's outcome is previewed
(web.confirm) and shown for confirmation; with it, one service call and a redirect to
the request's receipt; a refusal is shown beside the form that caused it. Every read is built from `request.scope` (the current
tenant), so another tenant's URL answers 404.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from agreements.enums import DeletionKind, DeletionStatus
from agreements.models import Contract, DataDeletion, NonRenewalRequest, Termination
from agreements.rulebook import rulebook_for
from agreements.rules import endings
from agreements.selectors.contracts import (
    active_non_renewal,
    contract_facts,
    contract_get,
    scheduled_termination,
)
from agreements.services import contracts as contract_services
from agreements.services import deletions as deletion_services
from agreements.templatetags.jdates import format_date
from core import clock
from core.errors import Conflict, DomainError
from web.confirm import Preview, preview
from web.portal import selectors, selectors_review
from web.portal.access import error_message, member_scope, place_error, portal_view
from web.portal.forms import (
    DeletionForm,
    DeletionWithdrawForm,
    NonRenewalForm,
    TerminationForm,
    WithdrawForm,
)
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
            # R4: the version of each document that binds the tenant.
            "documents": selectors.documents_in_force(scope=scope, tenant=tenant),
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
        # R13: what the customer filed is shown as 依頼済み with its receipt.
        "termination": scheduled_termination(contract),
        "requested_deletions": [
            d
            for d in contract.deletions.all()
            if d.kind == DeletionKind.REQUESTED and d.status != DeletionStatus.CANCELLED
        ],
        # Whom a viewer asks: the buttons are an admin's (named, not silently missing).
        "admins": (
            []
            if request.portal.is_admin
            else selectors_review.tenant_admins(scope=request.scope, tenant=contract.tenant)
        ),
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


@portal_view(admin=True, methods=("POST",), back="portal:contract")
def non_renewal(request: PortalRequest, pk: int) -> HttpResponse:
    contract = _contract(request, pk)
    form = NonRenewalForm(request.POST)
    if not form.is_valid():
        return _contract_refused(request, contract, non_renewal_form=form)

    def file() -> NonRenewalRequest:
        return contract_services.non_renewal_request(
            scope=request.scope,
            contract=contract,
            end_date=form.cleaned_data["end_date"],
        )

    try:
        if not form.cleaned_data["confirm"]:
            return _confirm(request, contract, "non_renewal", preview(file, contract=contract))
        made = file()
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
    return redirect("portal:request-receipt", "non-renewal", made.pk)


@portal_view(admin=True, methods=("POST",))
def non_renewal_withdraw(request: PortalRequest, pk: int) -> HttpResponse:
    contract = _contract(request, pk)
    form = WithdrawForm(request.POST)
    current = active_non_renewal(contract)
    if not form.is_valid() or current is None or current.pk != form.cleaned_data["request_id"]:
        raise Http404

    def withdraw() -> NonRenewalRequest:
        return contract_services.non_renewal_withdraw(scope=request.scope, request=current)

    try:
        if not form.cleaned_data["confirm"]:
            # Shown, not done: the contract then renews, which the customer confirms first.
            return _withdraw_confirm(
                request, contract, "non_renewal", current, preview(withdraw, contract=contract)
            )
        withdraw()
    except DomainError as error:
        messages.error(request, error_message(error))
    else:
        messages.success(request, _("更新しない旨の申込を取り下げました。契約は自動更新されます。"))
    return redirect("portal:contract", contract.pk)


@portal_view(admin=True, methods=("POST",), back="portal:contract")
def termination(request: PortalRequest, pk: int) -> HttpResponse:
    contract = _contract(request, pk)
    form = TerminationForm(request.POST)
    if not form.is_valid():
        return _contract_refused(request, contract, termination_form=form)

    def file() -> Termination:
        return contract_services.termination_request(
            scope=request.scope,
            contract=contract,
            end_date=form.cleaned_data["end_date"],
            note=form.cleaned_data["note"],
        )

    try:
        if not form.cleaned_data["confirm"]:
            return _confirm(
                request, contract, "termination", preview(file, contract=contract), form=form
            )
        made = file()
    except DomainError as error:
        place_error(form, error)
        return _contract_refused(request, contract, termination_form=form)
    messages.success(
        request,
        _("解約の申込を受け付けました。契約は%(end)sに終了します。")
        % {"end": _date(made.end_date)},
    )
    return redirect("portal:request-receipt", "termination", made.pk)


@portal_view(admin=True, methods=("POST",), back="portal:contract")
def deletion(request: PortalRequest, pk: int) -> HttpResponse:
    contract = _contract(request, pk)
    form = DeletionForm(request.POST)
    if not form.is_valid():
        return _contract_refused(request, contract, deletion_form=form)

    def file() -> DataDeletion:
        return deletion_services.deletion_request(scope=request.scope, contract=contract)

    try:
        if not form.cleaned_data["confirm"]:
            return _confirm(request, contract, "deletion", preview(file, contract=contract))
        made = file()
    except DomainError as error:
        place_error(form, error)
        return _contract_refused(request, contract, deletion_form=form)
    # R15: a deletion date is promised only where the product's terms have a timetable; an
    # ID+ customer is told the date the product is ordered by, and to see its contract.
    promised = rulebook_for(contract.product.code).deletion_timetable is not None
    messages.success(
        request,
        (
            _("データ削除の依頼を受け付けました。%(due)sまでに削除します。")
            if promised
            else _(
                "データ削除の依頼を受け付けました。%(due)sに製品へ削除を指示します。削除の時期は、ご契約内容をご確認ください。"
            )
        )
        % {"due": _date(made.due_on)},
    )
    return redirect("portal:request-receipt", "deletion", made.pk)


@portal_view(admin=True, methods=("POST",))
def deletion_withdraw(request: PortalRequest, pk: int) -> HttpResponse:
    """Withdraw the customer's deletion request before it is ordered (R15)."""
    contract = _contract(request, pk)
    form = DeletionWithdrawForm(request.POST)
    if not form.is_valid():
        raise Http404
    current = next(
        (
            d
            for d in contract.deletions.all()
            if d.kind == DeletionKind.REQUESTED and d.pk == form.cleaned_data["deletion_id"]
        ),
        None,
    )
    if current is None:
        raise Http404

    def withdraw() -> DataDeletion:
        return deletion_services.deletion_withdraw(scope=request.scope, deletion=current)

    try:
        if not form.cleaned_data["confirm"]:
            return _withdraw_confirm(
                request, contract, "deletion", current, preview(withdraw, contract=contract)
            )
        withdraw()
    except DomainError as error:
        messages.error(request, error_message(error))
    else:
        messages.success(
            request,
            _("データ削除の依頼を取り下げました。受領証には取り下げた日時が記載されます。"),
        )
    return redirect("portal:contract", contract.pk)


def _confirm(
    request: PortalRequest,
    contract: Contract,
    kind: str,
    shown: Preview[Any],
    *,
    form: TerminationForm | None = None,
) -> HttpResponse:
    """The confirmation screen: what the request records and what the terms attach to it."""
    made = shown.made
    end = getattr(made, "end_date", None) or shown.facts.known_end
    book = shown.facts.rulebook
    claims_months = book.claims_window_months
    return render(
        request,
        "agreements/portal/request_confirm.html",
        {
            "nav": "contracts",
            "kind": kind,
            "contract": contract,
            "made": made,
            "end": end,
            "facts": shown.facts,
            "claims_window_closes": (
                endings.claims_window_closes(end=end, months=claims_months)
                if end and claims_months
                else None
            ),
            "dependents": selectors.dependents_losing_prerequisite(
                scope=request.scope, contract=contract
            )
            if kind != "deletion"
            else [],
            "form": form,
        },
    )


def _withdraw_confirm(
    request: PortalRequest,
    contract: Contract,
    kind: str,
    current: NonRenewalRequest | DataDeletion,
    shown: Preview[Any],
) -> HttpResponse:
    """The confirmation screen before a filed request is withdrawn: what stays in force then
    (the contract renews; the data is kept as the terms say), from the service's own preview."""
    end = getattr(current, "end_date", None)
    return render(
        request,
        "agreements/portal/withdraw_confirm.html",
        {
            "nav": "contracts",
            "kind": kind,
            "contract": contract,
            "current": current,
            "facts": shown.facts,
            # The contract does not end on the requested end: it renews the next day.
            "renews_on": end + timedelta(days=1) if end else None,
            # R15: withdrawing a non-renewal cancels the deletion requests that relied on it.
            "deletions_cancelled": (
                [
                    d
                    for d in contract.deletions.all()
                    if d.kind == DeletionKind.REQUESTED and d.status == DeletionStatus.SCHEDULED
                ]
                if kind == "non_renewal"
                else []
            ),
        },
    )


def _date(value: date | None) -> str:
    return format_date(value, weekday=True)
