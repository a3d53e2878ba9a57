"""The console's sign-in and sign-out pages (staff only; customers use the portal)."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import reverse

from web.console.forms_access import StaffLoginForm


class ConsoleLoginView(auth_views.LoginView):
    template_name = "tenants/console/login.html"
    authentication_form = StaffLoginForm
    redirect_authenticated_user = False

    def get_default_redirect_url(self) -> str:
        return reverse("console:home")


class ConsoleLogoutView(auth_views.LogoutView):
    next_page = "console:login"
