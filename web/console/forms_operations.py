"""Forms of the console's operations pages (termination cases, deletions, the products'
API keys): they check shapes; the services check the rules."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from agreements.enums import ProductKeyScope


class CaseDecisionForm(forms.Form):
    note = forms.CharField(
        label=_("メモ"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )


class DeletionAckForm(forms.Form):
    reference = forms.CharField(
        label=_("完了報告の参照"),
        max_length=255,
        help_text=_("製品側の作業記録・チケット番号など"),
    )
    note = forms.CharField(
        label=_("メモ"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )


class ProductKeyForm(forms.Form):
    name = forms.CharField(
        label=_("キーの名前"), max_length=100, help_text=_("例: 本番環境の Optimal Biz")
    )
    scopes = forms.MultipleChoiceField(
        label=_("権限"),
        choices=ProductKeyScope.choices,
        initial=[ProductKeyScope.STATUS_READ, ProductKeyScope.DELETION_ACK],
        widget=forms.CheckboxSelectMultiple,
    )
