"""The consent dashboard's filter form."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from agreements.models import Product
from tenants.models import Partner


class DashboardFilterForm(forms.Form):
    product = forms.ModelChoiceField(
        label=_("製品"),
        queryset=Product.objects.order_by("code"),
        required=False,
        empty_label=_("すべて"),
    )
    partner = forms.ChoiceField(label=_("販売経路"), required=False)

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["partner"].choices = [
            ("", _("すべて")),
            ("direct", _("当社直販")),
            *[(str(p.pk), p.name) for p in Partner.objects.order_by("name")],
        ]
