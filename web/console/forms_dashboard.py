"""The consent dashboard's filter form, the form recording a notice's delivery (R3) and the
form scheduling a reminder (R4)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from agreements.enums import NoticeRoute, ReminderBasis
from agreements.models import Product
from agreements.services.consents.reach import STAFF_ROUTES
from tenants.models import Partner
from web.console.widgets import NamedSelect


class DashboardFilterForm(forms.Form):
    product = forms.ModelChoiceField(
        label=_("製品"),
        queryset=Product.objects.filter(sandbox__isnull=True).order_by("code"),
        required=False,
        empty_label=_("すべて"),
        widget=NamedSelect,
    )
    partner = forms.ChoiceField(label=_("販売経路"), required=False, widget=NamedSelect)

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["partner"].choices = [
            ("", _("すべて")),
            ("direct", _("当社直販")),
            *[
                (str(p.pk), p.name)
                for p in Partner.objects.filter(sandbox_of__isnull=True).order_by("name")
            ],
        ]

    def chosen(self) -> list[tuple[str, str]]:
        """The filters in force as (field label, chosen name), for the page to show as text:
        a name inside a list box cannot be relied on to be read in its language."""
        if not self.is_valid():
            return []
        shown = []
        product = self.cleaned_data.get("product")
        if product is not None:
            shown.append((str(self.fields["product"].label), product.name))
        partner = self.cleaned_data.get("partner")
        if partner:
            names = dict(self.fields["partner"].choices)  # type: ignore[attr-defined]
            shown.append((str(self.fields["partner"].label), str(names.get(partner, partner))))
        return shown


class NoticeDeliveryForm(forms.Form):
    """An out-of-band delivery of a posted notice to one tenant (R3): the routes staff may
    record (e-mail and portal views are recorded by the service itself), the day, the proof."""

    route = forms.ChoiceField(
        label=_("到達の方法"),
        choices=[(route.value, route.label) for route in STAFF_ROUTES],
        widget=forms.RadioSelect,
    )
    reached_on = forms.DateField(
        label=_("到達日"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("お知らせがお客様に届いた日（掲示日から本日まで）。"),
    )
    note = forms.CharField(
        label=_("確認の内容"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("郵送の追跡番号、通話の相手と日時、パートナーからの確認の記録など。"),
    )

    def route_value(self) -> NoticeRoute:
        return NoticeRoute(self.cleaned_data["route"])


class ReminderScheduleForm(forms.Form):
    """A reminder to a revision's non-responders on a day (R4): a date, or N days before the
    effective date or before the answer deadline."""

    basis = forms.ChoiceField(
        label=_("送信日の決め方"),
        choices=ReminderBasis.choices,
        initial=ReminderBasis.BEFORE_EFFECTIVE,
        widget=forms.RadioSelect,
    )
    days_before = forms.IntegerField(
        label=_("何日前"),
        min_value=0,
        max_value=365,
        required=False,
        help_text=_("「効力発生日の前」「回答期限の前」を選んだときの日数。"),
    )
    on = forms.DateField(
        label=_("送信日"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("「指定日」を選んだときの日付。"),
    )

    def __init__(self, *args: Any, has_deadline: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not has_deadline:
            # No answer deadline (no gating policy): the choice is not offered at all.
            self.fields["basis"].choices = [
                (value, label)
                for value, label in ReminderBasis.choices
                if value != ReminderBasis.BEFORE_DEADLINE
            ]
            self.fields["days_before"].help_text = _("「効力発生日の前」を選んだときの日数。")

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        basis = data.get("basis")
        if basis == ReminderBasis.ON_DATE and not data.get("on"):
            self.add_error("on", _("送信日を指定してください。"))
        elif basis in (ReminderBasis.BEFORE_EFFECTIVE, ReminderBasis.BEFORE_DEADLINE) and (
            data.get("days_before") is None
        ):
            self.add_error("days_before", _("日数を指定してください。"))
        return data
