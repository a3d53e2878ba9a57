"""Portal forms for answers and contract applications; the services decide the rest."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from agreements.enums import Answer


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


class NonRenewalForm(forms.Form):
    # Empty: the current period end. Set only by the explicit "end at the next possible end"
    # choice offered after a late application (R11).
    end_date = forms.DateField(required=False, widget=forms.HiddenInput)


class WithdrawForm(forms.Form):
    request_id = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


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
    confirm = forms.BooleanField(
        label=_("終了日にアカウントが削除され、復元できないことを理解しました。"),
        required=True,
    )


class DeletionForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("削除されたデータは復元できないことを理解しました。"),
        required=True,
    )
