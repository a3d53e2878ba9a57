"""Portal forms: sign-in and colleagues, answers and contract applications; the services
decide the rest."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.contrib.auth.signals import user_login_failed
from django.utils.translation import gettext_lazy as _

from agreements.enums import Answer
from tenants.enums import Locale, Role
from tenants.rules import has_control_characters

# --- answers and contract applications ------------------------------------------------------


class AnswerForm(forms.Form):
    answer = forms.ChoiceField(
        label=_("回答"),
        choices=[
            (Answer.ACCEPTED, Answer.ACCEPTED.label),
            (Answer.REJECTED, Answer.REJECTED.label),
        ],
    )
    # A rejection is only recorded once its consequence (R6) has been shown and confirmed.
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)
    # Who answers for the tenant, as they want it on the receipt; empty: the account's name.
    person_name = forms.CharField(
        label=_("回答する方のお名前（任意）"),
        required=False,
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        help_text=_("空欄の場合は、ログインしているアカウントのお名前を記録します。"),
    )
    person_title = forms.CharField(
        label=_("役職（任意）"),
        required=False,
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "organization-title"}),
    )
    reason = forms.CharField(
        label=_("理由（任意）"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("お書きいただいた理由は、回答の記録とともに当社の担当者が確認します。"),
    )

    def _one_line(self, name: str) -> str:
        # Printed on receipts as one line: no line breaks or control characters of the
        # writer's choosing.
        value = str(self.cleaned_data.get(name) or "").strip()
        if has_control_characters(value):
            raise forms.ValidationError(_("改行や制御文字は使用できません。"))
        return value

    def clean_person_name(self) -> str:
        return self._one_line("person_name")

    def clean_person_title(self) -> str:
        return self._one_line("person_title")


class NonRenewalForm(forms.Form):
    # Empty: the current period end. Set only by the explicit "end at the next possible end"
    # choice offered after a late application (R11).
    end_date = forms.DateField(required=False, widget=forms.HiddenInput)
    # R13: set only by the confirmation screen; without it the request is shown, not filed.
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)


class WithdrawForm(forms.Form):
    request_id = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    # Set only by the confirmation screen, which states that the contract then renews.
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)


class TerminationForm(forms.Form):
    end_date = forms.DateField(
        label=_("終了日"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("この日の終わりをもって契約が終了します。本日以降の日付を指定してください。"),
    )
    note = forms.CharField(
        label=_("連絡事項（任意）"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    # R13: set only by the confirmation screen, which shows what the product's own terms attach
    # to the end (accounts removed on the end date under ID+ 9.2, Biz 10.3's timetable, …);
    # without it the request is shown, not filed.
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)


class DeletionForm(forms.Form):
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)


class DeletionWithdrawForm(forms.Form):
    deletion_id = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    # Set only by the confirmation screen, which states what withdrawing leaves in place.
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)


# --- access and colleagues ------------------------------------------------------------------


def portal_may_sign_in(user: Any) -> bool:
    """Tenant users sign in to the portal; staff (superusers included) only to the console."""
    return not (user.is_staff or user.is_superuser)


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

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if not portal_may_sign_in(user):
            # A staff account at the portal is exactly a wrong password: the same message and
            # a counted failure, so neither the answer nor the lock-out tells it apart.
            user_login_failed.send(
                sender=__name__,
                credentials={"username": user.get_username()},
                request=self.request,
            )
            raise self.get_invalid_login_error()


class PortalPasswordResetForm(PasswordResetForm):
    email = forms.EmailField(
        label=_("メールアドレス"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def get_users(self, email: str) -> Iterator[Any]:
        # Staff passwords are not reset through the portal; the page answers as for an
        # unknown address.
        return (user for user in super().get_users(email) if portal_may_sign_in(user))


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


class ContactForm(forms.Form):
    """A further address for the tenant's notices (tenants.services.contact_add)."""

    name = forms.CharField(label=_("氏名・部署"), max_length=100)
    email = forms.EmailField(
        label=_("メールアドレス"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    locale = forms.ChoiceField(
        label=_("通知の言語"),
        choices=[("", _("テナントの設定に従う")), *Locale.choices],
        required=False,
    )


class ReminderPrefForm(forms.Form):
    """Whether the tenant receives the optional consent reminders
    (tenants.services.tenant_reminders_set)."""

    receive = forms.TypedChoiceField(
        label=_("同意のリマインド"),
        choices=[("1", _("受け取る")), ("0", _("受け取らない"))],
        coerce=lambda value: value == "1",
        widget=forms.RadioSelect,
    )


class ProfileForm(forms.Form):
    """The signed-in person's own name (and title in the current tenant's company)."""

    display_name = forms.CharField(
        label=_("お名前"),
        max_length=150,
        required=False,
        help_text=_(
            "メンバー一覧、回答のお名前の初期値、受領証に使われます。空欄ではメールアドレスを表示します。"
        ),
    )
    title = forms.CharField(
        label=_("役職"),
        max_length=100,
        required=False,
        help_text=_(
            "このテナントの会社での役職。回答の受領証に、回答した方の役職として記載されます。"
        ),
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("役割"), choices=Role.choices)


class SwitchTenantForm(forms.Form):
    tenant = forms.IntegerField(label=_("テナント"), min_value=1)
