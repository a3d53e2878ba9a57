"""Portal pages for colleagues: the tenant switcher, members, invitations and roles.

Views stay thin: the form validates, one service call, a redirect with a message; a
service's refusal is shown beside the form.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from core.errors import DomainError
from tenants import selectors, services
from tenants.enums import Role
from tenants.models import Membership
from tenants.notify import tenant_recipients
from web.portal.access import (
    GATE_EXEMPT,
    error_message,
    member_portal,
    member_scope,
    portal_view,
    run_service,
)
from web.portal.forms import (
    ContactForm,
    InviteForm,
    ProfileForm,
    ReminderPrefForm,
    RoleForm,
    SwitchTenantForm,
)
from web.portal.middleware import SESSION_TENANT_KEY
from web.portal.selectors_review import tenant_admins
from web.requests import PortalRequest

# --- the tenant switcher --------------------------------------------------------------------


@portal_view(methods=("POST",), gate=GATE_EXEMPT)
def switch_tenant(request: PortalRequest) -> HttpResponse:
    form = SwitchTenantForm(request.POST)
    if not form.is_valid():
        raise Http404
    tenant_id = form.cleaned_data["tenant"]
    membership = next(
        (m for m in member_portal(request).memberships if m.tenant_id == tenant_id),
        None,
    )
    if membership is None:
        raise Http404
    request.session[SESSION_TENANT_KEY] = tenant_id
    messages.info(request, _("%(tenant)sに切り替えました。") % {"tenant": membership.tenant.name})
    return redirect("portal:home")


# --- colleagues -----------------------------------------------------------------------------


def _members_context(request: PortalRequest, **extra: Any) -> dict[str, Any]:
    scope, tenant = member_scope(request)
    members = selectors.membership_list(scope=scope, tenant=tenant)
    return {
        "nav": "members",
        "members": members,
        # The service refuses to remove or demote the last admin: not offered, but said.
        "sole_admin_id": _sole_admin_id(members),
        "invitations": selectors.invitation_list(scope=scope, tenant=tenant),
        "invite_form": extra.pop("invite_form", None) or InviteForm(),
        "contacts": selectors.notification_contact_list(scope=scope, tenant=tenant),
        # Everyone the tenant's notices go to, as the notification path decides (one source).
        "recipients": tenant_recipients([tenant]).get(tenant.pk, []),
        "contact_form": extra.pop("contact_form", None) or ContactForm(),
        "reminders_on": tenant.consent_reminders,
        "reminder_form": extra.pop("reminder_form", None)
        or ReminderPrefForm(initial={"receive": "1" if tenant.consent_reminders else "0"}),
        # Whom a viewer asks to change the setting.
        "admins": []
        if member_portal(request).is_admin
        else tenant_admins(scope=scope, tenant=tenant),
        **extra,
    }


def _sole_admin_id(members: Any) -> int | None:
    """The membership that is the tenant's only admin, if there is just one."""
    admins = [m.pk for m in members if m.role == Role.ADMIN]
    return admins[0] if len(admins) == 1 else None


@portal_view()
def members(request: PortalRequest) -> HttpResponse:
    return render(request, "tenants/portal/members.html", _members_context(request))


@portal_view(admin=True, methods=("POST",), back="portal:members")
def member_invite(request: PortalRequest) -> HttpResponse:
    form = InviteForm(request.POST)
    scope, tenant = member_scope(request)
    if form.is_valid():
        ok, _result = run_service(
            request,
            form,
            services.invitation_create,
            scope=scope,
            tenant=tenant,
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
            success=_("%(email)sに招待メールを送りました（有効期限7日）。")
            % {"email": form.cleaned_data["email"]},
        )
        if ok:
            return redirect("portal:members")
    return render(
        request, "tenants/portal/members.html", _members_context(request, invite_form=form)
    )


def _membership(request: PortalRequest, pk: int) -> Membership:
    try:
        return selectors.membership_get(scope=request.scope, pk=pk)
    except DomainError:
        raise Http404 from None


@portal_view(admin=True, methods=("POST",))
def member_role(request: PortalRequest, pk: int) -> HttpResponse:
    membership = _membership(request, pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("役割を選んでください。"))
        return redirect("portal:members")
    try:
        services.membership_set_role(
            scope=request.scope,
            membership=membership,
            role=form.cleaned_data["role"],
        )
    except DomainError as error:
        messages.error(request, error_message(error))
    else:
        messages.success(
            request,
            _("%(user)sの役割を変更しました。") % {"user": membership.user.get_username()},
        )
    return redirect("portal:members")


@portal_view(admin=True, methods=("GET", "POST"))
def member_remove(request: PortalRequest, pk: int) -> HttpResponse:
    """GET: the confirmation page (who is removed and what follows), whose form POSTs here;
    the member list links here, so nobody is removed by one press."""
    membership = _membership(request, pk)
    if request.method == "GET":
        return render(
            request,
            "tenants/portal/member_remove.html",
            {
                "nav": "members",
                "membership": membership,
                "is_self": membership.user_id == request.user.pk,
                "is_sole_admin": _sole_admin_id(
                    selectors.membership_list(scope=request.scope, tenant=membership.tenant)
                )
                == membership.pk,
            },
        )
    try:
        services.membership_remove(scope=request.scope, membership=membership)
    except DomainError as error:
        messages.error(request, error_message(error))
        return redirect("portal:members")
    messages.success(
        request,
        _("%(user)sをメンバーから外しました。") % {"user": membership.user.get_username()},
    )
    if membership.user_id == request.user.pk:
        request.session.pop(SESSION_TENANT_KEY, None)
        return HttpResponseRedirect(reverse("portal:home"))
    return redirect("portal:members")


@portal_view(admin=True, methods=("POST",))
def invitation_revoke(request: PortalRequest, pk: int) -> HttpResponse:
    try:
        invitation = selectors.invitation_get(scope=request.scope, pk=pk)
    except DomainError:
        raise Http404 from None
    try:
        services.invitation_revoke(scope=request.scope, invitation=invitation)
    except DomainError as error:
        messages.error(request, error_message(error))
    else:
        messages.success(
            request, _("%(email)sへの招待を取り消しました。") % {"email": invitation.email}
        )
    return redirect("portal:members")


# --- notification contacts ------------------------------------------------------------------


@portal_view(admin=True, methods=("POST",), back="portal:members")
def contact_add(request: PortalRequest) -> HttpResponse:
    form = ContactForm(request.POST)
    scope, tenant = member_scope(request)
    if form.is_valid():
        ok, _result = run_service(
            request,
            form,
            services.contact_add,
            scope=scope,
            tenant=tenant,
            name=form.cleaned_data["name"],
            email=form.cleaned_data["email"],
            locale=form.cleaned_data.get("locale") or "",
            success=_("%(email)sを通知の連絡先に追加しました。")
            % {"email": form.cleaned_data["email"]},
        )
        if ok:
            return redirect("portal:members")
    return render(
        request,
        "tenants/portal/members.html",
        _members_context(request, contact_form=form),
        status=400,
    )


@portal_view(admin=True, methods=("POST",))
def contact_remove(request: PortalRequest, pk: int) -> HttpResponse:
    scope, tenant = member_scope(request)
    try:
        contact = selectors.notification_contact_get(scope=scope, tenant=tenant, pk=pk)
    except DomainError:
        raise Http404 from None
    try:
        services.contact_remove(scope=scope, contact=contact)
    except DomainError as error:
        messages.error(request, error_message(error))
    else:
        messages.success(
            request, _("%(email)sを通知の連絡先から外しました。") % {"email": contact.email}
        )
    return redirect("portal:members")


@portal_view(admin=True, methods=("POST",), back="portal:members")
def reminder_pref(request: PortalRequest) -> HttpResponse:
    """The tenant admin turns the optional consent reminders on or off."""
    form = ReminderPrefForm(request.POST)
    scope, tenant = member_scope(request)
    if form.is_valid():
        receive = form.cleaned_data["receive"]
        ok, _result = run_service(
            request,
            form,
            services.tenant_reminders_set,
            scope=scope,
            tenant=tenant,
            receive=receive,
            success=_("同意のリマインドを受け取る設定にしました。")
            if receive
            else _("同意のリマインドを受け取らない設定にしました。"),
        )
        if ok:
            return redirect("portal:members")
    return render(
        request,
        "tenants/portal/members.html",
        _members_context(request, reminder_form=form),
        status=400,
    )


# --- the person's own name --------------------------------------------------------------------


@portal_view(methods=("GET", "POST"), gate=GATE_EXEMPT)
def profile(request: PortalRequest) -> HttpResponse:
    """The signed-in person sets their display name and their title in the current tenant."""
    membership = member_portal(request).membership
    assert membership is not None  # noqa: S101 -- checked by portal_view
    user = request.user
    form = ProfileForm(
        request.POST or None,
        initial={"display_name": user.get_full_name(), "title": membership.title},  # type: ignore[union-attr]
    )
    if request.method == "POST" and form.is_valid():
        ok, _result = run_service(
            request,
            form,
            services.profile_update,
            scope=request.scope,
            user=user,
            display_name=form.cleaned_data["display_name"],
            title=form.cleaned_data["title"],
            membership=membership,
            success=_("お名前と役職を保存しました。"),
        )
        if ok:
            return redirect("portal:profile")
    return render(
        request,
        "tenants/portal/profile.html",
        {"nav": "members", "form": form, "membership": membership},
        status=400 if form.errors else 200,
    )
