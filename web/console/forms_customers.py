"""Forms of the console's customer pages (partners and their keys, tenants, users and
invitations, contracts): they check shapes; the services check the rules."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from agreements.enums import BillingCycle, TerminationReason
from agreements.models import Option, Product
from tenants.enums import KeyScope, Locale, Role
from tenants.models import Partner
from web.console.widgets import DATE

# Reasons staff may give for a termination from the console (R14, Biz 13.1 (1)–(5)).
STAFF_TERMINATION_REASONS = [
    (value, label)
    for value, label in TerminationReason.choices
    if value
    in {
        TerminationReason.NON_PAYMENT,
        TerminationReason.TERMS_VIOLATION,
        TerminationReason.STATUS_LOST,
        TerminationReason.ANTISOCIAL_FORCES,
        TerminationReason.OWNER_ANTISOCIAL_FORCES,
        TerminationReason.CUSTOMER_REQUEST,
    }
]


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


class ContractForm(forms.Form):
    product = forms.ModelChoiceField(label=_("製品"), queryset=Product.objects.order_by("code"))
    options = forms.ModelMultipleChoiceField(
        label=_("オプション"),
        queryset=Option.objects.select_related("product").order_by("product__code", "code"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    start_date = forms.DateField(
        label=_("利用開始日"), widget=DATE, help_text=_("管理者アカウントの発行日（R9）")
    )
    term_months = forms.IntegerField(label=_("利用期間(月)"), min_value=1, initial=12)
    auto_renew = forms.NullBooleanField(
        label=_("自動更新"),
        required=False,
        widget=forms.Select(
            choices=[("unknown", _("規約に従う")), ("true", _("あり")), ("false", _("なし"))]
        ),
        help_text=_("Optimal Biz の規約には自動更新条項がないため、注文書の定めを入力します。"),
    )
    notice_months = forms.IntegerField(label=_("更新拒絶期間(月)"), min_value=0, required=False)
    billing_cycle = forms.ChoiceField(label=_("請求サイクル"), choices=BillingCycle.choices)
    cycle_months = forms.IntegerField(
        label=_("請求サイクル(月)"),
        min_value=1,
        required=False,
        help_text=_("複数年契約の場合のみ（24以上）"),
    )
    amount_jpy = forms.IntegerField(label=_("サイクルあたり料金(円)"), min_value=0, required=False)
    lump_sum_jpy = forms.IntegerField(label=_("一括料金(円)"), min_value=0, required=False)
    order_ref = forms.CharField(label=_("注文番号"), max_length=100, required=False)


class TerminationForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("事由（利用規約13条1項など）"), choices=STAFF_TERMINATION_REASONS
    )
    end_date = forms.DateField(label=_("終了日"), widget=DATE)
    note = forms.CharField(
        label=_("メモ"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )


class SuccessionForm(forms.Form):
    successor_tenant = forms.IntegerField(
        label=_("承継先テナントID"),
        min_value=1,
        help_text=_("承継先のテナントを先に登録してください。"),
    )
    written_consent_ref = forms.CharField(
        label=_("書面による承諾の記録"),
        max_length=255,
        help_text=_("承諾書の文書番号など（利用規約14条）"),
    )
    on_date = forms.DateField(label=_("承継日"), widget=DATE)


class NonRenewalForm(forms.Form):
    end_date = forms.DateField(
        label=_("終了日"),
        widget=DATE,
        required=False,
        help_text=_("空欄の場合は現在の期間の終了日"),
    )
