"""Japanese data on English pages is marked lang="ja" (WCAG 3.1.2, language of parts): company,
product and document names, version names and labels, so that a screen reader reads them as
Japanese. Rendered English console and portal pages: no text with kana or kanji outside an
element marked lang="ja"."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from agreements.catalog import catalog_ensure
from agreements.models import Contract
from agreements.services.consents.answers import consent_answer
from agreements.templatetags.textlang import ja_text
from core import clock
from tenants.models import Membership
from tenants.scope import Scope
from tests.console.conftest import make_staff, post_revision
from tests.console.test_no_iso_dates import visible_text
from tests.portal.conftest import build_world

CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]+")


# Text that cannot hold a marked part: the document's <title> and a select's <option>s (the
# page's language applies; an option of names says its own language, checked below, and the
# chosen name is also shown as marked text where a page filters by it).
NO_PARTS = re.compile(r"<(title|option)\b[^>]*>.*?</\1>", re.S)


def unmarked_japanese(html: str) -> list[str]:
    return CJK.findall(visible_text(NO_PARTS.sub("", html), skip_ja=True))


@pytest.mark.unit
def test_ja_text_marks_japanese_only_on_pages_that_are_not_japanese() -> None:
    with translation.override("en"):
        assert ja_text("株式会社甲 <b>") == '<span lang="ja">株式会社甲 &lt;b&gt;</span>'
        assert ja_text("Optimal Biz") == "Optimal Biz"
    with translation.override("ja"):
        assert ja_text("株式会社甲") == "株式会社甲"


@pytest.mark.unit
def test_the_check_finds_unmarked_japanese() -> None:
    html = '<p>Company: 株式会社甲 <span lang="ja">株式会社乙</span></p>'
    assert unmarked_japanese(html) == ["株式会社甲"]


@pytest.mark.integration
@pytest.mark.django_db
def test_english_console_pages_mark_japanese_names(client, world, editor, publisher) -> None:
    version = post_revision(
        document=world.document, editor=editor, publisher=publisher, today=clock.today()
    )
    consent_answer(scope=Scope.system(), tenant=world.tenant, version=version, answer="rejected")
    contract = Contract.objects.filter(tenant=world.tenant).first()
    assert contract is not None
    catalog_ensure()
    client.force_login(make_staff("publisher"))
    pages = [
        reverse("console:home"),
        reverse("console:document-detail", args=[world.document.pk]),
        reverse("console:dashboard"),
        reverse("console:dashboard-drill", args=[version.pk]),
        reverse("console:dashboard-remind", args=[version.pk]),
        reverse("console:tenant-detail", args=[world.tenant.pk]),
        reverse("console:tenant-list"),
        reverse("console:contract-list"),
        reverse("console:contract-detail", args=[contract.pk]),
        reverse("console:case-list"),
        reverse("console:partner-detail", args=[world.partner.pk]),
    ]
    found = {}
    for url in pages:
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 200, url
        if words := unmarked_japanese(response.content.decode()):
            found[url] = words
    assert found == {}
    # The tenant's Japanese name is there, marked.
    body = client.get(
        reverse("console:tenant-detail", args=[world.tenant.pk]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert f'<span lang="ja">{world.tenant.name}</span>' in body


@pytest.mark.integration
@pytest.mark.django_db
def test_english_portal_and_public_pages_mark_japanese_names() -> None:
    with clock.frozen_at(clock.today()):
        world = build_world()
        client = Client()
        client.force_login(world.admin.user)
        pages = [
            reverse("portal:home"),
            reverse("portal:contracts"),
            reverse("portal:contract", args=[world.contract.pk]),
            reverse("portal:members"),
            reverse("portal:receipts"),
            reverse("portal:review", args=[world.v2.pk]),
            reverse("public:terms-index"),
            reverse("public:notice-list"),
            reverse("public:notice-detail", args=[world.v2.pk]),
        ]
        found = {}
        for url in pages:
            response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
            assert response.status_code == 200, url
            if words := unmarked_japanese(response.content.decode()):
                found[url] = words
    assert found == {}


OPTION = re.compile(r"<option\b([^>]*)>([^<]*)</option>")


@pytest.mark.integration
@pytest.mark.django_db
def test_english_console_selects_of_names_mark_each_option_and_show_the_chosen_one(
    client, world
) -> None:
    """Japanese partner and product names inside a select carry lang="ja"; screen readers do
    not all honour it there, so the dashboard also shows the chosen filter as marked text."""
    catalog_ensure()
    client.force_login(make_staff("viewer"))
    for url in (reverse("console:dashboard"), reverse("console:tenant-list")):
        html = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        options = OPTION.findall(html)
        named = [(attrs, text) for attrs, text in options if text == world.partner.name]
        assert named, url
        for attrs, text in options:
            if CJK.search(text):
                assert 'lang="ja"' in attrs, (url, text)
    page = client.get(
        reverse("console:dashboard"),
        {"partner": str(world.partner.pk)},
        HTTP_ACCEPT_LANGUAGE="en",
    ).content.decode()
    summary = page.split('data-testid="filter-summary">', 1)[1].split("</p>", 1)[0]
    assert f'Sales channel <strong lang="ja">{world.partner.name}</strong>' in summary
    assert (
        "filter-summary"
        not in client.get(reverse("console:dashboard"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    )


@pytest.mark.integration
@pytest.mark.django_db
def test_english_portal_shows_the_tenant_in_use_as_marked_text_beside_the_switcher() -> None:
    with clock.frozen_at(clock.today()):
        world = build_world()
        other = build_world(name="第二商事株式会社")
        Membership.objects.create(tenant=other.tenant, user=world.admin.user, role="admin")
        client = Client()
        client.force_login(world.admin.user)
        html = client.get(reverse("portal:home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="tenant-select"' in html
    current = re.search(
        r'<span class="tenant-name" lang="(\w+)" data-testid="current-tenant">([^<]*)</span>', html
    )
    assert current is not None
    assert current.group(1) == "ja"
    assert current.group(2) in (world.tenant.name, other.tenant.name)
