"""Console pages for partners (resellers) and their API keys.

Views are thin: the form checks shapes, one service call does the work, then a redirect;
a service's refusal (DomainError) is shown beside the form.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from core.errors import DomainError
from tenants import selectors, services
from tenants.models import Partner
from web.console.access import (
    ConsoleRequest,
    Need,
    call_service,
    console_view,
    flash_domain_error,
    raise_404,
)
from web.console.audit_text import audit_rows
from web.console.forms_customers import KeyIssueForm, PartnerForm
from web.console.selectors import audit_for_partner


@console_view(Need.READ, methods=("GET", "POST"), post=Need.OPERATE)
def partner_list(request: ConsoleRequest) -> HttpResponse:
    form = PartnerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        ok, partner = call_service(
            request,
            form,
            services.partner_create,
            scope=request.scope,
            success=_("パートナーを登録しました。"),
            **form.cleaned_data,
        )
        if ok:
            return redirect("console:partner-detail", pk=partner.pk)
    partners = selectors.partner_list(scope=request.scope)
    return render(
        request,
        "tenants/console/partner_list.html",
        {"nav": "partners", "partners": partners, "form": form},
        status=400 if form.errors else 200,
    )


def _partner_page(
    request: ConsoleRequest,
    partner: Partner,
    *,
    key_form: KeyIssueForm | None = None,
    **extra: object,
) -> HttpResponse:
    scope = request.scope
    context = {
        "nav": "partners",
        "partner": partner,
        "keys": selectors.partner_key_list(scope=scope, partner=partner),
        "tenants": selectors.tenant_list(scope=scope).filter(partner=partner)[:200],
        "key_form": key_form if key_form is not None else KeyIssueForm(),
        "audit": audit_rows(audit_for_partner(partner)),
        **extra,
    }
    status = 400 if key_form is not None and key_form.errors else 200
    response = render(request, "tenants/console/partner_detail.html", context, status=status)
    if "issued_key" in extra:
        # The plain key is in this response only: never cache it anywhere.
        response["Cache-Control"] = "no-store"
    return response


@console_view(Need.READ)
def partner_detail(request: ConsoleRequest, pk: int) -> HttpResponse:
    try:
        partner = selectors.partner_get(scope=request.scope, pk=pk)
    except DomainError as error:
        raise_404(error)
    return _partner_page(request, partner)


@console_view(Need.DECIDE, methods=("POST",))
def partner_key_issue(request: ConsoleRequest, pk: int) -> HttpResponse:
    try:
        partner = selectors.partner_get(scope=request.scope, pk=pk)
    except DomainError as error:
        raise_404(error)
    form = KeyIssueForm(request.POST)
    if form.is_valid():
        ok, result = call_service(
            request,
            form,
            services.partner_key_issue,
            scope=request.scope,
            partner=partner,
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
        )
        if ok:
            key, plain = result
            # Shown once, in this response; only the hash is stored (no redirect, no session).
            return _partner_page(request, partner, issued_key=plain, issued=key)
    return _partner_page(request, partner, key_form=form)


@console_view(Need.DECIDE, methods=("POST",))
def partner_key_revoke(request: ConsoleRequest, pk: int, key_pk: int) -> HttpResponse:
    scope = request.scope
    try:
        key = selectors.partner_key_get(scope=scope, pk=key_pk)
        if key.partner_id != pk:
            raise_404(None)
        services.partner_key_revoke(scope=scope, key=key)
        messages.success(request, _("キー %(prefix)s… を失効させました。") % {"prefix": key.prefix})
    except DomainError as error:
        flash_domain_error(request, error)
    return redirect("console:partner-detail", pk=pk)
