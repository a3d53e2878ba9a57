"""The staff sign-in form."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _


class StaffLoginForm(AuthenticationForm):
    """Django's login form, for staff only (customers sign in to the portal).

    A customer's correct password here is refused without a session; saying why reveals
    nothing the portal's own sign-in (same account budget) would not.
    """

    error_messages = {
        **AuthenticationForm.error_messages,
        "not_staff": _("このアカウントでは管理コンソールを利用できません。"),
    }

    def confirm_login_allowed(self, user) -> None:  # type: ignore[no-untyped-def]
        super().confirm_login_allowed(user)
        if not user.is_staff:
            raise forms.ValidationError(self.error_messages["not_staff"], code="not_staff")
