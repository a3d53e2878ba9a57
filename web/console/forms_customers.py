"""Forms of the console's customer pages (partners and their keys, tenants, users and
invitations, contracts): they check shapes; the services check the rules."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from agreements.enums import BillingCycle, TerminationReason
from agreements.models import Option, Product
from agreements.rulebook import rulebook_for
from tenants.enums import KeyScope, Locale, Role
from tenants.models import Partner
from web.console.widgets import DATE, NamedSelect

# Reasons staff may give for a termination from the console (R14): the product's own grounds
# from its rulebook (Biz 13.1 (1)–(5); ID+ 14.2), and the customer's own notice given through
# staff. Reasons with a procedure of their own (R6 cases, succession) are not offered here.
CONSOLE_TERMINATION_REASONS = frozenset(
    {
        TerminationReason.NON_PAYMENT,
        TerminationReason.TERMS_VIOLATION,
        TerminationReason.STATUS_LOST,
        TerminationReason.ANTISOCIAL_FORCES,
        TerminationReason.OWNER_ANTISOCIAL_FORCES,
        TerminationReason.LISTED_GROUNDS,
        # A discontinuation (Biz 7.2): offered only where the product's rulebook lists it.
        TerminationReason.SERVICE_DISCONTINUED,
    }
)


def _japanese() -> bool:
    return (translation.get_language() or "ja").startswith("ja")


def termination_ground(product_code: str, code: str) -> str:
    """A reason as the product's terms name it, with its article (R14), e.g.
    「第13条第1項第1号：お客様が利用料金を支払わないとき」; the reason's label without an article."""
    book = rulebook_for(product_code)
    entry = book.reason(code)
    article = book.reason_article_ja(code) if _japanese() else book.reason_article_en(code)
    grounds = entry.grounds if entry and entry.grounds else str(TerminationReason(code).label)
    if not article:
        return grounds
    return gettext("%(article)s：%(grounds)s") % {"article": article, "grounds": grounds}


def staff_termination_reasons(product_code: str) -> list[tuple[str, str]]:
    """The console's reason choices for a contract of `product_code`, labelled with the
    article and grounds of that product's terms (R14): never another product's wording."""
    book = rulebook_for(product_code)
    choices: list[tuple[str, str]] = []
    for code in book.staff_reasons:
        if code not in CONSOLE_TERMINATION_REASONS:
            continue
        entry = book.reason(code)
        labelled = termination_ground(product_code, code)
        if entry and entry.stated_ground:
            labelled = f"{labelled}{gettext('（該当した事由をメモ欄に具体的に記入）')}"
        if entry and entry.staff_note:
            labelled = f"{labelled}（{entry.staff_note}）"
        choices.append((code, labelled))
    choices.append(
        (TerminationReason.CUSTOMER_REQUEST, str(TerminationReason.CUSTOMER_REQUEST.label))
    )
    return choices


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
        queryset=Partner.objects.filter(is_active=True, sandbox_of__isnull=True).order_by("name"),
        required=False,
        empty_label=_("当社直販"),
        widget=NamedSelect,
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
    product = forms.ModelChoiceField(
        label=_("製品"),
        queryset=Product.objects.filter(sandbox__isnull=True).order_by("code"),
        widget=NamedSelect,
    )
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
    # Starts blank: the ground is the decision itself, so it is never pre-chosen for staff.
    reason = forms.ChoiceField(
        label=_("事由（利用規約の条項）"),
        choices=(),
        error_messages={"required": _("解約の事由を選択してください。")},
    )
    end_date = forms.DateField(label=_("終了日"), widget=DATE)
    note = forms.CharField(
        label=_("メモ"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )

    def __init__(self, *args: Any, product_code: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].choices = [  # type: ignore[attr-defined]
            ("", gettext("選択してください")),
            *staff_termination_reasons(product_code),
        ]
        if any(entry.stated_ground for entry in rulebook_for(product_code).reasons.values()):
            self.fields["note"].help_text = _(
                "利用規約の条項だけを事由とする場合は、お客様が該当した事由を具体的に記入してください。解約の通知に記載されます。"
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
    )
    on_date = forms.DateField(label=_("承継日"), widget=DATE)

    def __init__(self, *args: Any, product_code: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # R19: the product's own article (Biz 14, ID+ 20), never the other's.
        book = rulebook_for(product_code)
        article = (book.reason_article_ja if _japanese() else book.reason_article_en)(
            TerminationReason.SUCCESSION
        )
        field = self.fields["written_consent_ref"]
        field.help_text = (
            _("承諾書の文書番号など（利用規約%(article)s）") % {"article": article}
            if article
            else _("承諾書の文書番号など")
        )


class NonRenewalForm(forms.Form):
    end_date = forms.DateField(
        label=_("終了日"),
        widget=DATE,
        required=False,
        help_text=_("空欄の場合は現在の期間の終了日"),
    )
