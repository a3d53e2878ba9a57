"""Console pages for tenants (customers): search, list, create and edit, the tenant's own
page (its contracts, consents, cases, ledger and users), users and invitations.

Views are thin: the form checks shapes, one service call does the work, then a redirect;
a service's refusal (DomainError) is shown beside the form.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from agreements.models import TerminationCase
from agreements.selectors.consents import consent_status_for_tenant, ledger_for_tenant
from agreements.selectors.contracts import contract_facts, contract_list
from core import clock
from core.errors import DomainError
from core.models import AuditEntry
from tenants import selectors, services
from tenants.notify import tenant_recipients
from tenants.rules import has_control_characters
from web.console.access import (
    ConsoleRequest,
    Need,
    call_service,
    console_view,
    flash_domain_error,
    raise_404,
)
from web.console.audit_text import audit_rows
from web.console.forms_customers import InvitationForm, RoleForm, TenantForm
from web.console.selectors import SearchResult, contract_requests
from web.console.selectors import search as console_search

# How many requests the tenant page lists (newest first); each contract page has all of its own.
TENANT_REQUESTS_SHOWN = 10


# --- search -----------------------------------------------------------------------------------


def _search_query(request: ConsoleRequest) -> tuple[str, bool]:
    """The `q` of a search, or "" and True when it holds a control or invisible character
    (a NUL reached PostgreSQL as a 500): nothing is searched and the page says why."""
    query = request.GET.get("q", "").strip()
    if has_control_characters(query):
        messages.error(request, _("検索語に制御文字や不可視の文字は使用できません。"))
        return "", True
    return query, False


@console_view(Need.READ)
def search(request: ConsoleRequest) -> HttpResponse:
    query, refused = _search_query(request)
    if refused:
        return render(
            request,
            "agreements/console/search.html",
            {"result": SearchResult([], [], []), "search_query": "", "query": ""},
            status=400,
        )
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
def tenant_list(request: ConsoleRequest) -> HttpResponse:
    scope = request.scope
    query, refused = _search_query(request)
    tenants = selectors.tenant_list(scope=scope, search=query or None)
    if refused:
        tenants = tenants.none()
    partner_id = request.GET.get("partner", "")
    if partner_id == "direct":
        tenants = tenants.filter(partner__isnull=True)
    elif partner_id.isdigit():
        tenants = tenants.filter(partner_id=int(partner_id))
    page = Paginator(tenants, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "tenants/console/tenant_list.html",
        {
            "nav": "tenants",
            "page_obj": page,
            "tenants": page.object_list,
            "query": query,
            "partners": selectors.partner_list(scope=scope),
            "partner_filter": partner_id,
        },
        status=400 if refused else 200,
    )


@console_view(Need.OPERATE, methods=("GET", "POST"))
def tenant_create(request: ConsoleRequest) -> HttpResponse:
    initial = {}
    if request.GET.get("partner", "").isdigit():
        initial["partner"] = int(request.GET["partner"])
    form = TenantForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data["corporate_number"] = data["corporate_number"] or None
        ok, tenant = call_service(
            request,
            form,
            services.tenant_create,
            scope=request.scope,
            success=_("テナントを登録しました。"),
            **data,
        )
        if ok:
            return redirect("console:tenant-detail", pk=tenant.pk)
    return render(
        request,
        "tenants/console/tenant_form.html",
        {"nav": "tenants", "form": form, "tenant": None},
        status=400 if form.errors else 200,
    )


@console_view(Need.OPERATE, methods=("GET", "POST"))
def tenant_edit(request: ConsoleRequest, pk: int) -> HttpResponse:
    scope = request.scope
    try:
        tenant = selectors.tenant_get(scope=scope, pk=pk)
    except DomainError as error:
        raise_404(error)
    initial = {
        "name": tenant.name,
        "corporate_number": tenant.corporate_number or "",
        "partner": tenant.partner_id,
        "locale": tenant.locale,
        "contact_email": tenant.contact_email,
        "external_ref": tenant.external_ref,
    }
    form = TenantForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data["corporate_number"] = data["corporate_number"] or None
        changed = {k: v for k, v in data.items() if k in form.changed_data}
        ok, _tenant = call_service(
            request,
            form,
            services.tenant_update,
            scope=scope,
            tenant=tenant,
            success=_("テナントを更新しました。"),
            **changed,
        )
        if ok:
            return redirect("console:tenant-detail", pk=tenant.pk)
    return render(
        request,
        "tenants/console/tenant_form.html",
        {"nav": "tenants", "form": form, "tenant": tenant},
        status=400 if form.errors else 200,
    )


@console_view(Need.READ)
def tenant_detail(request: ConsoleRequest, pk: int) -> HttpResponse:
    scope = request.scope
    try:
        tenant = selectors.tenant_get(scope=scope, pk=pk)
    except DomainError as error:
        raise_404(error)
    today = clock.today()
    contracts = list(contract_list(scope=scope, tenant=tenant))
    requests = contract_requests(contracts)
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
            "memberships": selectors.membership_list(scope=scope, tenant=tenant),
            # Everyone the tenant's notices go to, as the notification path decides.
            "recipients": tenant_recipients([tenant]).get(tenant.pk, []),
            "invitations": selectors.invitation_list(scope=scope, tenant=tenant),
            "invite_form": InvitationForm(),
            "role_form": RoleForm(),
            "audit": audit_rows(
                AuditEntry.objects.filter(tenant_id=tenant.pk).order_by("-at", "-pk")[:50]
            ),
            # The latest requests over all the tenant's contracts (each contract has them all).
            "requests": requests[:TENANT_REQUESTS_SHOWN],
            "more_requests": max(0, len(requests) - TENANT_REQUESTS_SHOWN),
            "same_corporate_number": selectors.tenant_same_corporate_number(
                scope=scope, tenant=tenant
            ),
        },
    )


# --- users and invitations --------------------------------------------------------------------


@console_view(Need.OPERATE, methods=("POST",))
def tenant_invite(request: ConsoleRequest, pk: int) -> HttpResponse:
    scope = request.scope
    try:
        tenant = selectors.tenant_get(scope=scope, pk=pk)
    except DomainError as error:
        raise_404(error)
    form = InvitationForm(request.POST)
    if form.is_valid():
        ok, _result = call_service(
            request,
            form,
            services.invitation_create,
            scope=scope,
            tenant=tenant,
            success=_("招待メールを送信キューに登録しました。"),
            **form.cleaned_data,
        )
        if ok:
            return redirect("console:tenant-detail", pk=tenant.pk)
    for error in form.errors.values():
        for text in error:
            messages.error(request, text)
    return redirect(f"{reverse('console:tenant-detail', args=[tenant.pk])}#users")


@console_view(Need.OPERATE, methods=("POST",))
def invitation_revoke(request: ConsoleRequest, pk: int) -> HttpResponse:
    scope = request.scope
    try:
        invitation = selectors.invitation_get(scope=scope, pk=pk)
        services.invitation_revoke(scope=scope, invitation=invitation)
        messages.success(request, _("招待を取り消しました。"))
    except DomainError as error:
        flash_domain_error(request, error)
        return redirect("console:tenant-list")
    return redirect("console:tenant-detail", pk=invitation.tenant_id)


@console_view(Need.OPERATE, methods=("POST",))
def membership_role(request: ConsoleRequest, pk: int) -> HttpResponse:
    scope = request.scope
    try:
        membership = selectors.membership_get(scope=scope, pk=pk)
    except DomainError as error:
        raise_404(error)
    form = RoleForm(request.POST)
    if form.is_valid():
        try:
            services.membership_set_role(
                scope=scope, membership=membership, role=form.cleaned_data["role"]
            )
            messages.success(request, _("役割を変更しました。"))
        except DomainError as error:
            flash_domain_error(request, error)
    return redirect("console:tenant-detail", pk=membership.tenant_id)


@console_view(Need.OPERATE, methods=("POST",))
def membership_remove(request: ConsoleRequest, pk: int) -> HttpResponse:
    scope = request.scope
    try:
        membership = selectors.membership_get(scope=scope, pk=pk)
    except DomainError as error:
        raise_404(error)
    try:
        services.membership_remove(scope=scope, membership=membership)
        messages.success(request, _("ユーザーをテナントから外しました。"))
    except DomainError as error:
        flash_domain_error(request, error)
    return redirect("console:tenant-detail", pk=membership.tenant_id)
