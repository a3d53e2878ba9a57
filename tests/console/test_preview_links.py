"""The console's notice preview never links staff to a public page that answers 404: a
version not yet public links to the staff's full text; once public, to its public page."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from agreements.catalog import catalog_ensure
from core import clock
from tests.console.conftest import post_revision

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

LINK = re.compile(r'href="([^"]+)" data-testid="revised-text-link"')


def test_notice_preview_of_a_draft_links_to_a_page_that_works_for_staff(
    client, world, editor
) -> None:
    client.force_login(editor)
    page = client.get(reverse("console:version-notice", args=[world.draft.pk])).content.decode()
    href = LINK.search(page).group(1).replace("&amp;", "&")
    assert href.startswith(reverse("console:compare", args=[world.document.pk]))
    assert client.get(href).status_code == 200
    assert 'data-testid="staff-text-note"' in page
    # The public URL the preview used to offer answers 404 for a draft.
    public = reverse(
        "public:terms-version",
        args=[world.document.product.code, world.document.slug, world.draft.pk],
    )
    client.logout()
    assert client.get(public).status_code == 404


def test_notice_preview_of_a_posted_version_links_to_its_public_page(
    client, world, editor, publisher
) -> None:
    version = post_revision(
        document=world.document, editor=editor, publisher=publisher, today=clock.today()
    )
    client.force_login(editor)
    page = client.get(reverse("console:version-notice", args=[version.pk])).content.decode()
    href = LINK.search(page).group(1)
    assert href == reverse(
        "public:terms-version",
        args=[world.document.product.code, world.document.slug, version.pk],
    )
    assert 'data-testid="staff-text-note"' not in page
    client.logout()
    assert client.get(href).status_code == 200


def test_document_page_offers_the_public_page_only_when_there_is_one(client, world, editor) -> None:
    client.force_login(editor)
    page = client.get(reverse("console:document-detail", args=[world.document.pk]))
    assert 'data-testid="public-page-link"' in page.content.decode()
    # A document with no version in force: its public page would answer 404.
    empty = catalog_ensure().id_plus_terms
    page = client.get(reverse("console:document-detail", args=[empty.pk]))
    assert page.status_code == 200
    assert 'data-testid="public-page-link"' not in page.content.decode()
