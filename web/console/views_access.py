"""The console's sign-in and sign-out pages (staff only; customers use the portal).

Throttling is django-axes (terms_site/signin.py): a locked account or address is refused
before its password is checked, and the form says so with status 429.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth import views as auth_views
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from tenants.services import profile_update
from web import ratelimit
from web.console.access import ConsoleRequest, Need, call_service, console_view
from web.console.forms_access import StaffLoginForm


class ConsoleLoginView(auth_views.LoginView):
    template_name = "tenants/console/login.html"
    authentication_form = StaffLoginForm
    redirect_authenticated_user = False

    def get_default_redirect_url(self) -> str:
        return reverse("console:home")

    def form_invalid(self, form: StaffLoginForm) -> HttpResponse:  # type: ignore[override]
        if not ratelimit.signin_locked_out(self.request):
            return super().form_invalid(form)
        form.errors.clear()
        form.add_error(None, ratelimit.SIGNIN_LOCKED_OUT)
        response = super().form_invalid(form)
        response.status_code = ratelimit.TOO_MANY_REQUESTS
        return response


class ConsoleLogoutView(auth_views.LogoutView):
    next_page = "console:login"


class ProfileForm(forms.Form):
    display_name = forms.CharField(
        label=_("お名前"),
        max_length=150,
        required=False,
        help_text=_("コンソールの画面に、ログイン名の代わりに表示されます。"),
    )


# Every staff member, whatever their role, names themselves: their own record only.
@console_view(Need.READ, methods=("GET", "POST"), post=Need.READ)
def profile(request: ConsoleRequest) -> HttpResponse:
    """The signed-in staff member sets their display name."""
    form = ProfileForm(request.POST or None, initial={"display_name": request.user.get_full_name()})
    if request.method == "POST" and form.is_valid():
        ok, _result = call_service(
            request,
            form,
            profile_update,
            scope=request.scope,
            user=request.user,
            display_name=form.cleaned_data["display_name"],
            success=_("お名前を保存しました。"),
        )
        if ok:
            return redirect("console:profile")
    return render(
        request,
        "tenants/console/profile.html",
        {"nav": "", "form": form},
        status=400 if form.errors else 200,
    )
