"""The helpers behind the error summary (base.html) and `lang` on text of unknown language."""

from __future__ import annotations

import pytest
from django import forms
from django.template import Context, Template

from agreements.templatetags.pageforms import form_errors
from agreements.templatetags.textlang import text_lang

pytestmark = pytest.mark.unit


class _Form(forms.Form):
    email = forms.EmailField(label="メールアドレス")
    name = forms.CharField(label="お名前")

    def clean(self):
        raise forms.ValidationError("全体の誤り")


def test_errors_of_bound_forms_in_field_order_with_the_field_ids() -> None:
    bound = _Form(data={"email": "not-an-address", "name": ""})
    unbound = _Form()
    errors = form_errors([bound, unbound, bound, "text", None])
    assert [(e.label, e.field_id) for e in errors] == [
        (None, None),
        ("メールアドレス", "id_email"),
        ("お名前", "id_name"),
    ]
    assert errors[0].message == "全体の誤り"


def test_a_valid_or_unbound_form_has_no_errors() -> None:
    class Ok(forms.Form):
        name = forms.CharField()

    assert form_errors([Ok(data={"name": "x"}), Ok()]) == []


def test_the_page_title_says_error_only_when_a_form_failed() -> None:
    template = Template(
        "{% load pageforms %}{% page_form_errors as e %}{% if e %}Error: {% endif %}{{ e|length }}"
    )
    assert template.render(Context({"form": _Form(data={})})) == "Error: 3"
    assert template.render(Context({"form": _Form()})) == "0"


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("デモ製作所株式会社", "ja"),
        ("OPTiM ID+サービス利用規約", "ja"),
        ("Demo Trading K.K.", "en"),
        ("Read a contract", "en"),
        ("", "en"),
    ],
)
def test_text_lang(text: str, lang: str) -> None:
    assert text_lang(text) == lang
