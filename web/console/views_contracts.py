"""Console pages for contracts: the list, a direct-sales contract, a contract's page with
its periods, and the staff actions on it (termination R14, succession R19, non-renewal R11,
data deletion R15).

Views are thin: the form checks shapes, one service call does the work, then a redirect;
a service's refusal is shown beside the form.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.forms import BaseForm
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from agreements.models import Contract
from agreements.selectors.contracts import contract_facts, contract_get, contract_list
from agreements.services import contracts as contract_services
from agreements.services import deletions as deletion_services
from agreements.templatetags.jdates import jdate_wd
from core import clock
from core.errors import DomainError
from tenants import selectors as tenant_selectors
from tenants.models import Tenant
from web.confirm import preview
from web.console.access import (
    REFUSALS,
    ConsoleRequest,
    Need,
    call_service,
    console_view,
    flash_domain_error,
)
from web.console.audit_text import audit_rows
from web.console.forms_customers import (
    ContractForm,
    NonRenewalForm,
    SuccessionForm,
    TerminationForm,
    termination_ground,
)
from web.console.selectors import audit_for, contract_requests


def _tenant(request: ConsoleRequest, pk: int) -> Tenant:
    try:
        return tenant_selectors.tenant_get(scope=request.scope, pk=pk)
    except DomainError as error:
        raise Http404(str(error)) from None


def _contract(request: ConsoleRequest, pk: int) -> Contract:
    try:
        return contract_get(scope=request.scope, pk=pk)
    except DomainError as error:
        raise Http404(str(error)) from None


@console_view(Need.READ)
def contract_index(request: ConsoleRequest) -> HttpResponse:
    scope = request.scope
    contracts = contract_list(scope=scope).order_by("-pk")
    status = request.GET.get("status", "")
    if status:
        contracts = contracts.filter(status=status)
    page = Paginator(contracts, 50).get_page(request.GET.get("page"))
    today = clock.today()
    return render(
        request,
        "agreements/console/contract_list.html",
        {
            "nav": "contracts",
            "page_obj": page,
            "rows": [(c, contract_facts(c, today)) for c in page.object_list],
            "status": status,
        },
    )


@console_view(Need.OPERATE, methods=("GET", "POST"))
def contract_create(request: ConsoleRequest, pk: int) -> HttpResponse:
    """A direct-sales contract for tenant `pk` (partners register theirs through the API)."""
    tenant = _tenant(request, pk)
    form = ContractForm(request.POST or None, initial={"start_date": clock.today()})
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data["options"] = list(data["options"])
        ok, contract = call_service(
            request,
            form,
            contract_services.contract_create,
            errors=REFUSALS,
            success=_("契約を登録しました。"),
            scope=request.scope,
            tenant=tenant,
            **data,
        )
        if ok:
            return redirect("console:contract-detail", pk=contract.pk)
    return render(
        request,
        "agreements/console/contract_form.html",
        {"nav": "contracts", "tenant": tenant, "form": form},
        status=400 if form.errors else 200,
    )


def _contract_page(request: ConsoleRequest, contract: Contract, **forms: BaseForm) -> HttpResponse:
    today = clock.today()
    status = 400 if any(f.errors for f in forms.values()) else 200
    context = {
        "nav": "contracts",
        "contract": contract,
        "facts": contract_facts(contract, today),
        "periods": contract.periods.order_by("seq"),
        "terminations": contract.terminations.order_by("-pk"),
        "non_renewals": contract.non_renewal_requests.order_by("-pk"),
        "deletions": contract.deletions.order_by("due_on", "pk"),
        "cases": contract.cases.select_related("version").order_by("-opened_at"),
        "audit": audit_rows(audit_for(contract)),
        # Customers' requests are not audited: their records are the history.
        "requests": contract_requests([contract]),
        "termination_form": forms.get("termination_form")
        or TerminationForm(product_code=contract.product.code),
        "succession_form": forms.get("succession_form")
        or SuccessionForm(initial={"on_date": today}, product_code=contract.product.code),
        "non_renewal_form": forms.get("non_renewal_form") or NonRenewalForm(),
        "today": today,
    }
    return render(request, "agreements/console/contract_detail.html", context, status=status)


@console_view(Need.READ)
def contract_detail(request: ConsoleRequest, pk: int) -> HttpResponse:
    return _contract_page(request, _contract(request, pk))


def _dry_run(
    request: ConsoleRequest,
    form: BaseForm,
    service: Callable[..., Any],
    *,
    contract: Contract,
    **kwargs: Any,
) -> bool:
    """Run `service` and roll everything it did back (web.confirm.preview, as the portal's
    confirmation steps): a confirmation page is shown only for what the service would
    record. A refusal lands on `form`, as on filing."""
    checked = preview(
        lambda: call_service(request, form, service, errors=REFUSALS, contract=contract, **kwargs)[
            0
        ],
        contract=contract,
    )
    return bool(checked.made)


@console_view(Need.DECIDE, methods=("POST",))
def contract_terminate(request: ConsoleRequest, pk: int) -> HttpResponse:
    """A staff termination (R14): no prior demand to cure, but always a notice to the tenant.

    Two steps: the first POST is checked by the service (rolled back) and answers a
    confirmation page; only that page's POST (confirm=1) records it and sends the notice.
    """
    contract = _contract(request, pk)
    form = TerminationForm(request.POST, product_code=contract.product.code)
    if form.is_valid():
        kwargs = {"scope": request.scope, "contract": contract, **form.cleaned_data}
        if request.POST.get("confirm") != "1":
            if _dry_run(request, form, contract_services.termination_request, **kwargs):
                return _termination_confirm(request, contract, form)
        else:
            ok, _termination = call_service(
                request,
                form,
                contract_services.termination_request,
                errors=REFUSALS,
                success=_("解約を登録しました。お客様に解約の通知を送信します。"),
                **kwargs,
            )
            if ok:
                return redirect("console:contract-detail", pk=contract.pk)
    return _contract_page(request, contract, termination_form=form)


def _termination_confirm(
    request: ConsoleRequest, contract: Contract, form: TerminationForm
) -> HttpResponse:
    """What the termination will record and that the customer is told; nothing is saved yet."""
    data = form.cleaned_data
    return render(
        request,
        "agreements/console/termination_confirm.html",
        {
            "nav": "contracts",
            "contract": contract,
            "ground": termination_ground(contract.product.code, data["reason"]),
            "reason": data["reason"],
            "end_date": data["end_date"],
            "note": data["note"],
        },
    )


@console_view(Need.DECIDE, methods=("POST",))
def contract_succession(request: ConsoleRequest, pk: int) -> HttpResponse:
    contract = _contract(request, pk)
    form = SuccessionForm(request.POST, product_code=contract.product.code)
    if form.is_valid():
        try:
            successor = tenant_selectors.tenant_get(
                scope=request.scope,
                pk=form.cleaned_data["successor_tenant"],
            )
        except DomainError as error:
            form.add_error("successor_tenant", str(error.message))
        else:
            ok, new_contract = call_service(
                request,
                form,
                contract_services.succession,
                errors=REFUSALS,
                success=_("地位の承継を登録しました。"),
                scope=request.scope,
                contract=contract,
                successor_tenant=successor,
                written_consent_ref=form.cleaned_data["written_consent_ref"],
                on_date=form.cleaned_data["on_date"],
            )
            if ok:
                return redirect("console:contract-detail", pk=new_contract.pk)
    return _contract_page(request, contract, succession_form=form)


@console_view(Need.OPERATE, methods=("POST",))
def contract_non_renewal(request: ConsoleRequest, pk: int) -> HttpResponse:
    """Record a customer's non-renewal received by staff (e.g. in writing), R11."""
    contract = _contract(request, pk)
    form = NonRenewalForm(request.POST)
    if form.is_valid():
        ok, _request = call_service(
            request,
            form,
            contract_services.non_renewal_request,
            errors=REFUSALS,
            fields_by_code={"non_renewal_late": "end_date"},
            success=_("更新しない旨の申込を登録しました。"),
            scope=request.scope,
            contract=contract,
            end_date=form.cleaned_data["end_date"],
        )
        if ok:
            return redirect("console:contract-detail", pk=contract.pk)
    return _contract_page(request, contract, non_renewal_form=form)


@console_view(Need.OPERATE, methods=("POST",))
def contract_non_renewal_withdraw(
    request: ConsoleRequest, pk: int, request_pk: int
) -> HttpResponse:
    """Withdraw a non-renewal the customer takes back (R11); the contract renews again."""
    contract = _contract(request, pk)
    application = contract.non_renewal_requests.filter(pk=request_pk).first()
    if application is None:
        raise Http404
    try:
        contract_services.non_renewal_withdraw(scope=request.scope, request=application)
        messages.success(request, _("更新しない旨の申込を取り下げました。"))
    except REFUSALS as error:
        flash_domain_error(request, error)
    return redirect("console:contract-detail", pk=contract.pk)


@console_view(Need.DECIDE, methods=("POST",))
def contract_deletion_request(request: ConsoleRequest, pk: int) -> HttpResponse:
    """Record a customer's data-deletion request received by staff (R15)."""
    contract = _contract(request, pk)
    try:
        deletion = deletion_services.deletion_request(scope=request.scope, contract=contract)
        messages.success(
            request,
            _("データ削除の依頼を登録しました（期日 %(due)s）。")
            % {"due": jdate_wd(deletion.due_on)},
        )
    except REFUSALS as error:
        flash_domain_error(request, error)
    return redirect("console:contract-detail", pk=contract.pk)
