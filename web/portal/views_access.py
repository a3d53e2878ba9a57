"""Portal access: sign-in, passwords and invitations (all reachable while an answer is owed).

Views stay thin: the form validates, one service call, a redirect with a message; a
service's refusal is shown beside the form.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters

from core import clock
from core.errors import DomainError
from tenants import services
from tenants.enums import InvitationStatus
from web import ratelimit
from web.portal.access import gate_exempt, place_error
from web.portal.forms import (
    InvitationAcceptForm,
    PortalLoginForm,
    PortalPasswordResetForm,
    portal_may_sign_in,
)
from web.portal.middleware import SESSION_TENANT_KEY
from web.portal.selectors import invitation_for_token


def _home() -> str:
    return reverse("portal:home")


# --- sign-in and sign-out -------------------------------------------------------------------


class PortalLoginView(auth_views.LoginView):
    template_name = "tenants/portal/login.html"
    authentication_form = PortalLoginForm
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        return _home()

    def form_invalid(self, form: PortalLoginForm) -> HttpResponse:  # type: ignore[override]
        # Locked by axes (terms_site/signin.py): say so beside the form, with 429.
        if not ratelimit.signin_locked_out(self.request):
            return super().form_invalid(form)
        form.errors.clear()
        form.add_error(None, ratelimit.SIGNIN_LOCKED_OUT)
        response = super().form_invalid(form)
        response.status_code = ratelimit.TOO_MANY_REQUESTS
        return response


class PortalLogoutView(auth_views.LogoutView):
    next_page = reverse_lazy("portal:login")

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        messages.info(request, _("ログアウトしました。"))
        return response


# --- passwords ------------------------------------------------------------------------------


class PortalPasswordChangeView(auth_views.PasswordChangeView):
    template_name = "tenants/portal/password_change.html"
    success_url = reverse_lazy("portal:home")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        messages.success(self.request, _("パスワードを変更しました。"))
        return response


class PortalPasswordResetView(auth_views.PasswordResetView):
    template_name = "tenants/portal/password_reset.html"
    email_template_name = "tenants/portal/password_reset_email.txt"
    subject_template_name = "tenants/portal/password_reset_subject.txt"
    form_class = PortalPasswordResetForm
    success_url = reverse_lazy("portal:password-reset-done")

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        email = str(request.POST.get("email", ""))
        allowed = ratelimit.hit(ratelimit.RESET_PER_ADDRESS, ratelimit.client_address(request))
        allowed = ratelimit.hit(ratelimit.RESET_PER_ACCOUNT, email) and allowed
        if not allowed:
            form = self.get_form()
            form.is_valid()
            form.add_error(
                None,
                _(
                    "再設定メールの送信回数が上限に達しました。1時間ほど待ってから、もう一度お試しください。"
                ),
            )
            response = self.form_invalid(form)
            response.status_code = ratelimit.TOO_MANY_REQUESTS
            return response
        return super().post(request, *args, **kwargs)


class PortalPasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "tenants/portal/password_reset_done.html"


class PortalPasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "tenants/portal/password_reset_confirm.html"
    success_url = reverse_lazy("portal:password-reset-complete")

    def get_user(self, uidb64: str) -> Any:
        # A staff account's link (however obtained) is no link here: staff passwords are not
        # the portal's to set.
        user = super().get_user(uidb64)
        return None if user is None or not portal_may_sign_in(user) else user


class PortalPasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "tenants/portal/password_reset_complete.html"


login_view = gate_exempt(PortalLoginView.as_view())
logout_view = gate_exempt(PortalLogoutView.as_view())
password_change = gate_exempt(PortalPasswordChangeView.as_view())
password_reset = gate_exempt(PortalPasswordResetView.as_view())
password_reset_done = gate_exempt(PortalPasswordResetDoneView.as_view())
password_reset_confirm = gate_exempt(PortalPasswordResetConfirmView.as_view())
password_reset_complete = gate_exempt(PortalPasswordResetCompleteView.as_view())


# --- invitations ----------------------------------------------------------------------------


@gate_exempt
@sensitive_post_parameters("password", "password_confirm")
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """Join a tenant from an invitation link: set a password (or confirm the existing one)."""
    invitation = invitation_for_token(token)
    usable = (
        invitation is not None
        and invitation.status == InvitationStatus.PENDING
        and invitation.expires_at > clock.now()
        and invitation.tenant.is_active
    )
    form = InvitationAcceptForm(request.POST or None)
    refusal = ""
    if not usable:
        refusal = _invitation_refusal_text(invitation)
    elif request.method == "POST" and form.is_valid():
        try:
            membership = services.invitation_accept(
                token=token,
                password=form.cleaned_data["password"],
                name=form.cleaned_data["name"],
                request=request,
            )
        except DomainError as error:
            if ratelimit.signin_locked_out(request):
                # Locked by axes (terms_site/signin.py): the sign-in page's answer, 429 (and
                # Retry-After from the lockout handler).
                form.add_error(None, ratelimit.SIGNIN_LOCKED_OUT)
                return render(
                    request,
                    "tenants/portal/invitation_accept.html",
                    {"invitation": invitation, "form": form, "refusal": ""},
                    status=ratelimit.TOO_MANY_REQUESTS,
                )
            place_error(form, error)
        else:
            if not portal_may_sign_in(membership.user):
                # No portal session for a staff account, however it got here (staff sign in
                # at the console only).
                return redirect("portal:login")
            login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
            request.session[SESSION_TENANT_KEY] = membership.tenant_id
            messages.success(
                request,
                _("%(tenant)sのポータルへようこそ。") % {"tenant": membership.tenant.name},
            )
            return redirect("portal:home")
    # An unknown link is 404; a used, revoked or expired one is gone (410).
    status = 200 if usable else 404 if invitation is None else 410
    return render(
        request,
        "tenants/portal/invitation_accept.html",
        {"invitation": invitation if usable else None, "form": form, "refusal": refusal},
        status=status,
    )


def _invitation_refusal_text(invitation: Any) -> str:
    if invitation is None:
        return _("この招待リンクは無効です。招待した方に再送を依頼してください。")
    if invitation.status == InvitationStatus.ACCEPTED:
        return _("この招待は既に使用されています。ログインしてご利用ください。")
    if invitation.status == InvitationStatus.REVOKED:
        return _("この招待は取り消されました。")
    return _("この招待の有効期限が切れています。招待した方に再送を依頼してください。")
