"""Public pages: the terms in force with 最終改定, stable version URLs, notices from their
posting on, excerpts marked, and the English note that the Japanese text governs."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from agreements.catalog import BIZ, ID_PLUS
from agreements.services.imports import terms_import, terms_import_notice
from agreements.services.versions import version_draft_create
from core import clock
from tenants.scope import Scope
from tests.console.conftest import make_staff, post_revision

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def biz(seeds_dir):
    text = next(seeds_dir.glob("000_*.txt")).read_text(encoding="utf-8")
    return terms_import(
        scope=Scope.system(),
        product_code=BIZ,
        label="2024-11-22",
        effective_on=date(2024, 11, 22),
        text=text,
        historical=True,
    )


def test_terms_in_force_show_the_last_revised_date(client, biz) -> None:
    response = client.get(reverse("public:terms-current", args=[BIZ]))
    assert response.status_code == 200
    body = response.content.decode()
    assert response.context["last_revised"] == "2024年11月22日"
    assert "第１９条（各サービスの個別規定）" in body
    assert 'lang="ja"' in body


def test_each_version_has_a_stable_url_and_drafts_are_not_public(client, biz) -> None:
    url = reverse("public:terms-version", args=[BIZ, "terms", biz.pk])
    assert client.get(url).status_code == 200
    draft = version_draft_create(
        scope=Scope.staff(make_staff("editor")), document=biz.document, label="draft"
    )
    assert (
        client.get(reverse("public:terms-version", args=[BIZ, "terms", draft.pk])).status_code
        == 404
    )
    assert client.get(reverse("public:notice-detail", args=[draft.pk])).status_code == 404


def test_notice_is_public_once_posted_with_the_before_after_table(client, biz) -> None:
    version = post_revision(
        document=biz.document,
        editor=make_staff("editor"),
        publisher=make_staff("publisher"),
        today=clock.today(),
    )
    listing = client.get(reverse("public:notice-list"))
    assert version in list(listing.context["notices"])
    response = client.get(reverse("public:notice-detail", args=[version.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "■改定日:" in body
    assert "改定前" in body and "改定後" in body  # noqa: PT018 -- one table header
    assert "<ins>" in body
    pending = client.get(reverse("public:terms-current", args=[BIZ]))
    assert pending.context["pending"] == version


def test_excerpts_are_marked(client, seeds_dir) -> None:
    text = next(seeds_dir.glob("003_*.txt")).read_text(encoding="utf-8")
    terms_import_notice(scope=Scope.system(), product_code=ID_PLUS, text=text)
    response = client.get(reverse("public:terms-current", args=[ID_PLUS]))
    assert response.status_code == 200
    assert "excerpt-note" in response.content.decode()


def test_english_pages_say_the_japanese_text_governs(client, biz) -> None:
    url = reverse("public:terms-current", args=[BIZ])
    japanese = client.get(url, HTTP_ACCEPT_LANGUAGE="ja")
    assert "governing-note" not in japanese.content.decode()
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    body = english.content.decode()
    assert '<html lang="en">' in body
    assert "governing-note" in body
    assert '<article class="terms-doc" lang="ja">' in body


def test_unknown_product_is_404(client) -> None:
    assert client.get(reverse("public:terms-current", args=["no-such"])).status_code == 404
