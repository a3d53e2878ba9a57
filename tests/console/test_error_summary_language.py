"""The error summary of every page (templates/base.html) speaks the page's language: its
plural message must match the catalogue's (`n`), or English pages show it in Japanese."""

from __future__ import annotations

import pytest
from django import forms
from django.contrib.auth.models import AnonymousUser
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import translation

pytestmark = [pytest.mark.django_db]


@pytest.mark.parametrize(
    ("language", "count", "expected"),
    [
        ("en", 1, "There is 1 problem with what you entered"),
        ("en", 2, "There are 2 problems with what you entered"),
        ("ja", 2, "入力内容に2件の問題があります"),
    ],
)
def test_the_error_summary_is_in_the_pages_language(
    language: str, count: int, expected: str
) -> None:
    request = RequestFactory().get("/console/")
    request.user = AnonymousUser()
    fields = {f"field_{n}": forms.CharField() for n in range(count)}
    form = type("Form", (forms.Form,), fields)(data={})  # every field missing: `count` errors
    with translation.override(language):
        html = render_to_string("base.html", {"form": form}, request=request)
    assert expected in html
