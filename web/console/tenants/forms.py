"""Forms of the tenants console pages: they check shapes; the services check the rules."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from tenants.enums import KeyScope, Locale, Role
from tenants.models import Partner


class StaffLoginForm(AuthenticationForm):
    """Django's login form, for staff only (customers sign in to the portal)."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "not_staff": _("このアカウントでは管理コンソールを利用できません。"),
    }

    def confirm_login_allowed(self, user) -> None:  # type: ignore[no-untyped-def]
        super().confirm_login_allowed(user)
        if not user.is_staff:
            raise forms.ValidationError(self.error_messages["not_staff"], code="not_staff")


class PartnerForm(forms.Form):
    code = forms.SlugField(
        label=_("コード"),
        max_length=64,
        help_text=_("半角英数字とハイフン。APIやイベントで使われ、後から変更できません。"),
    )
    name = forms.CharField(label=_("名称"), max_length=255)
    contact_email = forms.EmailField(label=_("連絡先メールアドレス"), required=False)


class KeyIssueForm(forms.Form):
    name = forms.CharField(
        label=_("キーの名前"), max_length=100, help_text=_("用途が分かる名前（例: 本番連携）")
    )
    scopes = forms.MultipleChoiceField(
        label=_("権限"),
        choices=KeyScope.choices,
        initial=[KeyScope.READ, KeyScope.WRITE],
        widget=forms.CheckboxSelectMultiple,
    )


class TenantForm(forms.Form):
    name = forms.CharField(label=_("名称"), max_length=255)
    corporate_number = forms.CharField(
        label=_("法人番号"),
        required=False,
        max_length=20,
        help_text=_("13桁（全角・ハイフン可）。個人事業主など法人番号がない場合は空欄"),
    )
    partner = forms.ModelChoiceField(
        label=_("販売経路"),
        queryset=Partner.objects.filter(is_active=True).order_by("name"),
        required=False,
        empty_label=_("当社直販"),
    )
    locale = forms.ChoiceField(label=_("言語"), choices=Locale.choices, initial=Locale.JA)
    contact_email = forms.EmailField(label=_("連絡先メールアドレス"), required=False)
    external_ref = forms.CharField(label=_("パートナー側の識別子"), max_length=100, required=False)


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("メールアドレス"))
    role = forms.ChoiceField(label=_("役割"), choices=Role.choices, initial=Role.ADMIN)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("役割"), choices=Role.choices)
