"""The console's sign-in and sign-out pages (staff only; customers use the portal).

Throttling is django-axes (terms_site/signin.py): a locked account or address is refused
before its password is checked, and the form says so with status 429.
"""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.http import HttpResponse
from django.urls import reverse

from web import ratelimit
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
