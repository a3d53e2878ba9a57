"""Console pages for customers and contracts, termination cases, deletions and the audit log.

A tenant's page lives here (not in tenants/console) because it shows contracts and consents,
and the dependency runs one way: agreements reads tenants, never the reverse.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from agreements.enums import CaseStatus, DeletionStatus
from agreements.models import DataDeletion, TerminationCase
from agreements.rules import TransitionNotAllowed
from agreements.selectors.consents import consent_status_for_tenant, ledger_for_tenant
from agreements.selectors.contracts import contract_facts, contract_get, contract_list
from agreements.services import consents as consent_services
from agreements.services import contracts as contract_services
from agreements.services import deletions as deletion_services
from core import clock
from core.errors import DomainError
from core.models import AuditEntry
from tenants import selectors as tenant_selectors
from web.console.agreements.forms import (
    CaseDecisionForm,
    ContractForm,
    NonRenewalForm,
    SuccessionForm,
    TerminationForm,
)
from web.console.agreements.selectors import case_rows
from web.console.agreements.selectors import search as console_search
from web.console.tenants.access import Need, call_service, console_view, flash_domain_error
from web.console.tenants.forms import InvitationForm, RoleForm
from web.console.tenants.views import audit_for

ERRORS = (DomainError, TransitionNotAllowed)


def _tenant(request: HttpRequest, pk: int):  # type: ignore[no-untyped-def]
    try:
        return tenant_selectors.tenant_get(scope=request.scope, pk=pk)  # type: ignore[attr-defined]
    except DomainError as error:
        raise Http404(str(error)) from None


def _contract(request: HttpRequest, pk: int):  # type: ignore[no-untyped-def]
    try:
        return contract_get(scope=request.scope, pk=pk)  # type: ignore[attr-defined]
    except DomainError as error:
        raise Http404(str(error)) from None


# --- search ---------------------------------------------------------------------------------


@console_view(Need.READ)
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    result = console_search(query)
    # One hit goes straight to it; a single tenant found with its own contracts counts as one.
    if len(result.tenants) == 1 and not result.partners:
        tenant = result.tenants[0]
        if all(c.tenant_id == tenant.pk for c in result.contracts):
            return redirect("console:tenant-detail", pk=tenant.pk)
    if result.total == 1:
        if result.partners:
            return redirect("console:partner-detail", pk=result.partners[0].pk)
        return redirect("console:contract-detail", pk=result.contracts[0].pk)
    return render(
        request,
        "agreements/console/search.html",
        {"result": result, "search_query": query, "query": query},
    )


# --- tenants ----------------------------------------------------------------------------------


@console_view(Need.READ)
def tenant_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scope = request.scope  # type: ignore[attr-defined]
    tenant = _tenant(request, pk)
    today = clock.today()
    contracts = list(contract_list(scope=scope, tenant=tenant))
    return render(
        request,
        "agreements/console/tenant_detail.html",
        {
            "nav": "tenants",
            "tenant": tenant,
            "contracts": [(c, contract_facts(c, today)) for c in contracts],
            "statuses": consent_status_for_tenant(scope=scope, tenant=tenant),
            "cases": TerminationCase.objects.filter(tenant=tenant)
            .select_related("contract", "version", "contract__product")
            .order_by("-opened_at"),
            "ledger": ledger_for_tenant(scope=scope, tenant=tenant).select_related("version")[:50],
            "memberships": tenant_selectors.membership_list(scope=scope, tenant=tenant),
            "invitations": tenant_selectors.invitation_list(scope=scope, tenant=tenant),
            "invite_form": InvitationForm(),
            "role_form": RoleForm(),
            "audit": AuditEntry.objects.filter(tenant_id=tenant.pk).order_by("-at", "-pk")[:50],
        },
    )


# --- contracts --------------------------------------------------------------------------------


@console_view(Need.READ)
def contract_index(request: HttpRequest) -> HttpResponse:
    scope = request.scope  # type: ignore[attr-defined]
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
def contract_create(request: HttpRequest, pk: int) -> HttpResponse:
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
            errors=ERRORS,
            success=_("契約を登録しました。"),
            scope=request.scope,  # type: ignore[attr-defined]
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


def _contract_page(request: HttpRequest, contract, **forms) -> HttpResponse:  # type: ignore[no-untyped-def]
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
        "audit": audit_for(contract),
        "termination_form": forms.get("termination_form") or TerminationForm(),
        "succession_form": forms.get("succession_form")
        or SuccessionForm(initial={"on_date": today}),
        "non_renewal_form": forms.get("non_renewal_form") or NonRenewalForm(),
        "today": today,
    }
    return render(request, "agreements/console/contract_detail.html", context, status=status)


@console_view(Need.READ)
def contract_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _contract_page(request, _contract(request, pk))


@console_view(Need.DECIDE, methods=("POST",))
def contract_terminate(request: HttpRequest, pk: int) -> HttpResponse:
    """A staff termination (R14): no prior demand to cure, but always a notice to the tenant."""
    contract = _contract(request, pk)
    form = TerminationForm(request.POST)
    if form.is_valid():
        ok, _termination = call_service(
            request,
            form,
            contract_services.termination_request,
            errors=ERRORS,
            success=_("解約を登録しました。お客様に解約の通知を送信します。"),
            scope=request.scope,  # type: ignore[attr-defined]
            contract=contract,
            **form.cleaned_data,
        )
        if ok:
            return redirect("console:contract-detail", pk=contract.pk)
    return _contract_page(request, contract, termination_form=form)


@console_view(Need.DECIDE, methods=("POST",))
def contract_succession(request: HttpRequest, pk: int) -> HttpResponse:
    contract = _contract(request, pk)
    form = SuccessionForm(request.POST)
    if form.is_valid():
        try:
            successor = tenant_selectors.tenant_get(
                scope=request.scope,  # type: ignore[attr-defined]
                pk=form.cleaned_data["successor_tenant"],
            )
        except DomainError as error:
            form.add_error("successor_tenant", str(error.message))
        else:
            ok, new_contract = call_service(
                request,
                form,
                contract_services.succession,
                errors=ERRORS,
                success=_("地位の承継を登録しました。"),
                scope=request.scope,  # type: ignore[attr-defined]
                contract=contract,
                successor_tenant=successor,
                written_consent_ref=form.cleaned_data["written_consent_ref"],
                on_date=form.cleaned_data["on_date"],
            )
            if ok:
                return redirect("console:contract-detail", pk=new_contract.pk)
    return _contract_page(request, contract, succession_form=form)


@console_view(Need.OPERATE, methods=("POST",))
def contract_non_renewal(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a customer's non-renewal received by staff (e.g. in writing), R11."""
    contract = _contract(request, pk)
    form = NonRenewalForm(request.POST)
    if form.is_valid():
        ok, _request = call_service(
            request,
            form,
            contract_services.non_renewal_request,
            errors=ERRORS,
            fields_by_code={"non_renewal_late": "end_date"},
            success=_("更新しない旨の申込を登録しました。"),
            scope=request.scope,  # type: ignore[attr-defined]
            contract=contract,
            end_date=form.cleaned_data["end_date"],
        )
        if ok:
            return redirect("console:contract-detail", pk=contract.pk)
    return _contract_page(request, contract, non_renewal_form=form)


@console_view(Need.OPERATE, methods=("POST",))
def contract_non_renewal_withdraw(request: HttpRequest, pk: int, request_pk: int) -> HttpResponse:
    """Withdraw a non-renewal the customer takes back (R11); the contract renews again."""
    contract = _contract(request, pk)
    application = contract.non_renewal_requests.filter(pk=request_pk).first()
    if application is None:
        raise Http404
    try:
        contract_services.non_renewal_withdraw(scope=request.scope, request=application)  # type: ignore[attr-defined]
        messages.success(request, _("更新しない旨の申込を取り下げました。"))
    except ERRORS as error:
        flash_domain_error(request, error)
    return redirect("console:contract-detail", pk=contract.pk)


@console_view(Need.DECIDE, methods=("POST",))
def contract_deletion_request(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a customer's data-deletion request received by staff (R15)."""
    contract = _contract(request, pk)
    try:
        deletion = deletion_services.deletion_request(scope=request.scope, contract=contract)  # type: ignore[attr-defined]
        messages.success(
            request,
            _("データ削除の依頼を登録しました（期日 %(due)s）。") % {"due": deletion.due_on},
        )
    except ERRORS as error:
        flash_domain_error(request, error)
    return redirect("console:contract-detail", pk=contract.pk)


# --- cases ------------------------------------------------------------------------------------


@console_view(Need.READ)
def case_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", CaseStatus.OPEN)
    rows = case_rows(
        status=status, today=clock.today(), notice_days=settings.TERMS_TERMINATION_NOTICE_DAYS
    )
    return render(
        request,
        "agreements/console/case_list.html",
        {
            "nav": "cases",
            "rows": rows,
            "status": status,
            "statuses": CaseStatus.choices,
            "form": CaseDecisionForm(),
            "notice_days": settings.TERMS_TERMINATION_NOTICE_DAYS,
        },
    )


@console_view(Need.DECIDE, methods=("POST",))
def case_decide(request: HttpRequest, pk: int, decision: str) -> HttpResponse:
    case = TerminationCase.objects.filter(pk=pk).first()
    if case is None or decision not in ("confirm", "drop"):
        raise Http404
    form = CaseDecisionForm(request.POST)
    note = form.data.get("note", "") if form.is_valid() else ""
    service = consent_services.case_confirm if decision == "confirm" else consent_services.case_drop
    try:
        decided = service(scope=request.scope, case=case, note=note)  # type: ignore[attr-defined]
        if decision == "confirm":
            messages.success(
                request,
                _("解約案件を確定しました。契約は %(date)s に終了します。")
                % {"date": decided.end_date},
            )
        else:
            messages.success(request, _("解約案件を取り下げました。"))
    except ERRORS as error:
        flash_domain_error(request, error)
    return redirect("console:case-list")


# --- deletions --------------------------------------------------------------------------------


@console_view(Need.READ)
def deletion_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    deletions = DataDeletion.objects.select_related(
        "contract", "contract__product", "tenant"
    ).order_by("due_on", "pk")
    if status in DeletionStatus.values:
        deletions = deletions.filter(status=status)
    page = Paginator(deletions, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "agreements/console/deletion_list.html",
        {
            "nav": "deletions",
            "page_obj": page,
            "deletions": page.object_list,
            "status": status,
            "statuses": DeletionStatus.choices,
            "today": clock.today(),
        },
    )


# --- audit ------------------------------------------------------------------------------------


@console_view(Need.READ)
def audit_list(request: HttpRequest) -> HttpResponse:
    entries = AuditEntry.objects.select_related("actor").order_by("-at", "-pk")
    object_type = request.GET.get("type", "")
    object_id = request.GET.get("id", "")
    tenant_id = request.GET.get("tenant", "")
    if object_type:
        entries = entries.filter(object_type=object_type)
    if object_id.isdigit():
        entries = entries.filter(object_id=int(object_id))
    if tenant_id.isdigit():
        entries = entries.filter(tenant_id=int(tenant_id))
    page = Paginator(entries, 100).get_page(request.GET.get("page"))
    return render(
        request,
        "agreements/console/audit_list.html",
        {
            "nav": "audit",
            "page_obj": page,
            "entries": page.object_list,
            "object_type": object_type,
            "object_id": object_id,
            "tenant_id": tenant_id,
        },
    )
