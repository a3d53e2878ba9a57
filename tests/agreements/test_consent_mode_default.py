"""R3/R4: the consent mode a revision starts with and how the console offers it follow the
product's rulebook. OPTiM ID+'s available text has no deemed-consent clause, so its drafts
start as explicit consent and its `deemed` choice is never called みなし同意."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from agreements.enums import ConsentMode
from agreements.services.version_drafts import version_draft_create
from core import clock
from tenants.scope import Scope
from tests.agreements.version_fixtures import *  # noqa: F403 -- fixtures
from tests.factories.agreements import VersionFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _draft(document, editor, label: str = "2025-04"):
    with clock.frozen_at(date(2025, 3, 3)):
        return version_draft_create(scope=Scope.staff(editor), document=document, label=label)


def test_r3_idplus_draft_starts_as_explicit_consent(catalog, editor):
    # Even when the version it copies was (wrongly) deemed-mode.
    VersionFactory(
        document=catalog.id_plus_terms,
        label="2022-04-27",
        effective_on=date(2022, 4, 27),
        consent_mode=ConsentMode.DEEMED,
    )
    assert _draft(catalog.id_plus_terms, editor).consent_mode == ConsentMode.EXPLICIT


def test_r3_biz_draft_keeps_deemed_consent_under_biz_2_1(catalog, editor):
    assert _draft(catalog.biz_terms, editor).consent_mode == ConsentMode.DEEMED


@pytest.mark.parametrize("page", ["version-edit", "version-schedule"])
def test_r3_idplus_console_mode_choice_is_a_request_with_a_warning(
    client, catalog, editor, publisher, page
):
    draft = _draft(catalog.id_plus_terms, editor)
    # The editor shapes the draft; a publisher who did not author it schedules it.
    client.force_login(editor if page == "version-edit" else publisher)
    html = client.get(reverse(f"console:{page}", args=[draft.pk])).content.decode()
    assert "回答のお願い（みなし同意の定めはありません）" in html
    assert "回答がないことを同意とみなす定めがありません" in html
    assert ">みなし同意<" not in html


def test_r3_biz_console_mode_choice_is_deemed_consent(client, catalog, editor):
    draft = _draft(catalog.biz_terms, editor)
    client.force_login(editor)
    html = client.get(reverse("console:version-edit", args=[draft.pk])).content.decode()
    assert ">みなし同意<" in html
    assert "回答のお願い（みなし同意の定めはありません）" not in html


@pytest.mark.parametrize(("product", "warned"), [("idplus", True), ("biz", False)])
def test_r2_legal_basis_warns_where_the_terms_have_no_change_clause(
    client, catalog, editor, publisher, product, warned
):
    document = catalog.id_plus_terms if product == "idplus" else catalog.biz_terms
    draft = _draft(document, editor)
    client.force_login(publisher)
    html = client.get(reverse("console:version-schedule", args=[draft.pk])).content.decode()
    assert ("変更条項）が見当たりません" in html) is warned


def test_r3_idplus_version_page_never_says_deemed_consent(client, catalog, editor):
    # Even a version that was saved in deemed mode is shown as a request for an answer.
    draft = _draft(catalog.id_plus_terms, editor)
    type(draft).objects.filter(pk=draft.pk).update(consent_mode=ConsentMode.DEEMED)
    client.force_login(editor)
    html = client.get(reverse("console:version-detail", args=[draft.pk])).content.decode()
    assert 'data-testid="consent-mode">回答のお願い（みなし同意の定めはありません）<' in html
