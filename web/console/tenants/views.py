"""Console pages for partners and their keys, tenants, users and invitations.

Views are thin: the form checks shapes, one service call does the work, then a redirect;
a service's refusal (DomainError) is shown beside the form. The tenant's own page (its
contracts and consents) lives in agreements/console, which may read both apps.
"""

from __future__ import annotations

from typing import NoReturn

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from core.errors import DomainError
from core.models import AuditEntry
from tenants import selectors, services
from tenants.models import Partner
from web.console.tenants.access import Need, call_service, console_view, flash_domain_error
from web.console.tenants.forms import (
    InvitationForm,
    KeyIssueForm,
    PartnerForm,
    RoleForm,
    StaffLoginForm,
    TenantForm,
)


class ConsoleLoginView(auth_views.LoginView):
    template_name = "tenants/console/login.html"
    authentication_form = StaffLoginForm
    redirect_authenticated_user = False

    def get_default_redirect_url(self) -> str:
        return reverse("console:home")


class ConsoleLogoutView(auth_views.LogoutView):
    next_page = "console:login"


def audit_for(obj: object, limit: int = 50):
    """The audit trail of one object, newest first (every staff action is audited)."""
    return AuditEntry.objects.filter(
        object_type=obj._meta.label_lower,  # type: ignore[attr-defined]
        object_id=obj.pk,  # type: ignore[attr-defined]
    ).order_by("-at", "-pk")[:limit]


# --- partners -----------------------------------------------------------------------------


@console_view(Need.READ, methods=("GET", "POST"))
def partner_list(request: HttpRequest) -> HttpResponse:
    form = PartnerForm(request.POST or None)
    if request.method == "POST":
        if not request.console.can_operate:  # type: ignore[attr-defined]
            raise DjangoPermissionDenied
        if form.is_valid():
            ok, partner = call_service(
                request,
                form,
                services.partner_create,
                scope=request.scope,  # type: ignore[attr-defined]
                success=_("パートナーを登録しました。"),
                **form.cleaned_data,
            )
            if ok:
                return redirect("console:partner-detail", pk=partner.pk)
    partners = selectors.partner_list(scope=request.scope)  # type: ignore[attr-defined]
    return render(
        request,
        "tenants/console/partner_list.html",
        {"nav": "partners", "partners": partners, "form": form},
        status=400 if form.errors else 200,
    )


def _partner_page(request: HttpRequest, partner: Partner, **extra: object) -> HttpResponse:
    scope = request.scope  # type: ignore[attr-defined]
    context = {
        "nav": "partners",
        "partner": partner,
        "keys": selectors.partner_key_list(scope=scope, partner=partner),
        "tenants": selectors.tenant_list(scope=scope).filter(partner=partner)[:200],
        "key_form": KeyIssueForm(),
        "audit": audit_for(partner),
        **extra,
    }
    status = 400 if extra.get("key_form") is not None and extra["key_form"].errors else 200  # type: ignore[union-attr]
    response = render(request, "tenants/console/partner_detail.html", context, status=status)
    if "issued_key" in extra:
        # The plain key is in this response only: never cache it anywhere.
        response["Cache-Control"] = "no-store"
    return response


@console_view(Need.READ)
def partner_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        partner = selectors.partner_get(scope=request.scope, pk=pk)  # type: ignore[attr-defined]
    except DomainError as error:
        raise_404(error)
    return _partner_page(request, partner)


@console_view(Need.DECIDE, methods=("POST",))
def partner_key_issue(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        partner = selectors.partner_get(scope=request.scope, pk=pk)  # type: ignore[attr-defined]
    except DomainError as error:
        raise_404(error)
    form = KeyIssueForm(request.POST)
    if form.is_valid():
        ok, result = call_service(
            request,
            form,
            services.partner_key_issue,
            scope=request.scope,  # type: ignore[attr-defined]
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
def partner_key_revoke(request: HttpRequest, pk: int, key_pk: int) -> HttpResponse:
    scope = request.scope  # type: ignore[attr-defined]
    try:
        key = selectors.partner_key_get(scope=scope, pk=key_pk)
        if key.partner_id != pk:
            raise_404(None)
        services.partner_key_revoke(scope=scope, key=key)
        messages.success(request, _("キー %(prefix)s… を失効させました。") % {"prefix": key.prefix})
    except DomainError as error:
        flash_domain_error(request, error)
    return redirect("console:partner-detail", pk=pk)


# --- tenants ------------------------------------------------------------------------------


@console_view(Need.READ)
def tenant_list(request: HttpRequest) -> HttpResponse:
    scope = request.scope  # type: ignore[attr-defined]
    query = request.GET.get("q", "").strip()
    tenants = selectors.tenant_list(scope=scope, search=query or None)
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
    )


@console_view(Need.OPERATE, methods=("GET", "POST"))
def tenant_create(request: HttpRequest) -> HttpResponse:
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
            scope=request.scope,  # type: ignore[attr-defined]
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
def tenant_edit(request: HttpRequest, pk: int) -> HttpResponse:
    scope = request.scope  # type: ignore[attr-defined]
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


@console_view(Need.OPERATE, methods=("POST",))
def tenant_invite(request: HttpRequest, pk: int) -> HttpResponse:
    scope = request.scope  # type: ignore[attr-defined]
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
def invitation_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    scope = request.scope  # type: ignore[attr-defined]
    try:
        invitation = selectors.invitation_get(scope=scope, pk=pk)
        services.invitation_revoke(scope=scope, invitation=invitation)
        messages.success(request, _("招待を取り消しました。"))
    except DomainError as error:
        flash_domain_error(request, error)
        return redirect("console:tenant-list")
    return redirect("console:tenant-detail", pk=invitation.tenant_id)


@console_view(Need.OPERATE, methods=("POST",))
def membership_role(request: HttpRequest, pk: int) -> HttpResponse:
    scope = request.scope  # type: ignore[attr-defined]
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
def membership_remove(request: HttpRequest, pk: int) -> HttpResponse:
    scope = request.scope  # type: ignore[attr-defined]
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


def raise_404(error: Exception | None) -> NoReturn:
    """An object out of reach is a 404 page, whatever the service called it."""
    raise Http404(str(error) if error else "")
