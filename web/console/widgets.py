"""Widgets shared by the console's forms."""

from __future__ import annotations

from django import forms

from agreements.templatetags.textlang import text_lang

# The browser's own date picker; the value round-trips as ISO 8601.
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class NamedSelect(forms.Select):
    """A select of names that are data (partners, products, tenants): each option says its
    language (`lang="ja"` for a Japanese name), as the page marks such names elsewhere
    (textlang). Screen readers do not all honour `lang` inside a list box, so pages that
    filter by such a name also show the chosen one as marked text (the dashboard's summary)."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):  # type: ignore[no-untyped-def]
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        option["attrs"]["lang"] = text_lang(label)
        return option
