"""Portal forms for access and colleagues; the services validate the rest."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.utils.translation import gettext_lazy as _

from tenants.enums import Role


class PortalLoginForm(AuthenticationForm):
    username = forms.CharField(
        label=_("メールアドレス"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("パスワード"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    error_messages = {
        "invalid_login": _(
            "メールアドレスまたはパスワードが正しくありません。大文字と小文字は区別されます。"
        ),
        "inactive": _("このアカウントは無効です。"),
    }


class PortalPasswordResetForm(PasswordResetForm):
    email = forms.EmailField(
        label=_("メールアドレス"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class InvitationAcceptForm(forms.Form):
    name = forms.CharField(
        label=_("お名前"),
        max_length=150,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    password = forms.CharField(
        label=_("パスワード"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_(
            "8文字以上で、よく使われる語や数字だけのものは使えません。既にアカウントをお持ちの場合は、そのパスワードを入力してください。"
        ),
    )
    password_confirm = forms.CharField(
        label=_("パスワード（確認）"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if (
            data.get("password")
            and data.get("password_confirm")
            and data["password"] != data["password_confirm"]
        ):
            self.add_error("password_confirm", _("確認用のパスワードが一致しません。"))
        return data


class InviteForm(forms.Form):
    email = forms.EmailField(
        label=_("招待する方のメールアドレス"),
        max_length=150,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    role = forms.ChoiceField(
        label=_("役割"),
        choices=Role.choices,
        initial=Role.VIEWER,
        help_text=_("管理者は規約への回答と各種申込ができます。閲覧者は参照のみです。"),
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("役割"), choices=Role.choices)


class SwitchTenantForm(forms.Form):
    tenant = forms.IntegerField(label=_("テナント"), min_value=1)
