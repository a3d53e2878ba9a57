"""The forms of a page that came back with errors, for the page's error summary and title.

A failed submit answers the same page again; base.html lists every error of every bound form
in the context at the top of the page (a focused role="alert" box whose links lead to the
fields) and prefixes the title with 「エラー: 」, so a screen reader and a reader of the tab
both hear that the submit failed before anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import template
from django.forms import BaseForm
from django.forms.formsets import BaseFormSet

register = template.Library()


@dataclass(frozen=True)
class PageError:
    """One error: the field's label and id (None for an error of the whole form)."""

    label: str | None
    field_id: str | None
    message: str


def _forms(value: Any) -> list[BaseForm]:
    if isinstance(value, BaseForm):
        return [value]
    if isinstance(value, BaseFormSet):
        return list(value.forms)
    return []


def form_errors(values: list[Any]) -> list[PageError]:
    """The errors of the bound forms among `values`, in field order, each form once."""
    errors: list[PageError] = []
    seen: set[int] = set()
    for value in values:
        for form in _forms(value):
            if id(form) in seen or not form.is_bound or not form.errors:
                continue
            seen.add(id(form))
            errors.extend(
                PageError(label=None, field_id=None, message=str(m))
                for m in form.non_field_errors()
            )
            for name, field_errors in form.errors.items():
                if name == "__all__" or name not in form.fields:
                    continue
                bound = form[name]
                errors.extend(
                    PageError(
                        label=str(bound.label),
                        field_id=bound.id_for_label or None,
                        message=str(m),
                    )
                    for m in field_errors
                )
    return errors


@register.simple_tag(takes_context=True)
def page_form_errors(context: template.Context) -> list[PageError]:
    """`{% page_form_errors as page_errors %}`: the errors of every form in the context."""
    return form_errors(list(context.flatten().values()))
