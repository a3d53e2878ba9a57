"""Japanese by default, English complete, the choice remembered (cookie for a year, and the
session while signed in)."""

from __future__ import annotations

import pytest
from django.conf import settings

from web.portal.middleware import SESSION_LANGUAGE_KEY

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_portal_is_japanese_by_default(world, viewer_client) -> None:
    body = viewer_client.get("/portal/").content.decode()
    assert '<html lang="ja">' in body
    assert "契約と期限" in body


def test_language_switch_is_remembered(world, viewer_client) -> None:
    response = viewer_client.post("/i18n/setlang/", {"language": "en", "next": "/portal/"})
    assert response["Location"] == "/portal/"
    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert (cookie.value, cookie["max-age"]) == ("en", 365 * 24 * 3600)
    body = viewer_client.get("/portal/").content.decode()
    assert '<html lang="en">' in body
    for text in ("Contracts and deadlines", "Upcoming and unanswered revisions", "Log out"):
        assert text in body
    assert "Sat, 28 Feb 2026" in body  # the next non-renewal deadline, as an English date
    assert viewer_client.session[SESSION_LANGUAGE_KEY] == "en"
    # Without the cookie (blocked or lost) the signed-in session keeps the choice.
    del viewer_client.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert '<html lang="en">' in viewer_client.get("/portal/contracts/").content.decode()


def test_english_pages_have_no_untranslated_interface_text(
    world, admin_client, viewer_client
) -> None:
    """Every portal page in English: no Japanese outside the terms' own data (titles, bodies,
    tenant names) — the binding Japanese text is shown as such."""
    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    admin_client.post(f"/portal/changes/{world.v2.pk}/answer/", {"answer": "accepted"})
    record = world.tenant.consent_records.get()
    viewer_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    pages = [
        "/portal/",
        "/portal/contracts/",
        f"/portal/contracts/{world.contract.pk}/",
        "/portal/receipts/",
        f"/portal/receipts/{record.pk}/",
        "/portal/members/",
        "/portal/password/",
        f"/portal/changes/{world.v2.pk}/",
        f"/verify/?hash={record.hash}",
    ]
    data = {
        world.tenant.name,
        world.document.title,
        world.v2.title,
        "自動更新への対応",
        "第２条（本規約の変更）",
        world.admin.user.first_name,
    }
    import re

    admin_pages = [
        f"/portal/contracts/{world.contract.pk}/",
        "/portal/members/",
        f"/portal/changes/{world.v2.pk}/",
    ]
    visits = [(viewer_client, url) for url in pages] + [(admin_client, u) for u in admin_pages]
    for client, url in visits:
        body = client.get(url).content.decode()
        body = re.sub(
            r'<article class="terms-doc" lang="ja"[^>]*>.*?</article>', "", body, flags=re.S
        )
        body = re.sub(r'<table class="diff-table"[^>]*lang="ja">.*?</table>', "", body, flags=re.S)
        body = re.sub(r'<option value="ja" lang="ja"[^>]*>[^<]*</option>', "", body)
        for text in data:
            body = body.replace(text, "")
        japanese = re.findall(r"[\u3040-\u30ff\u4e00-\u9fff]+", body)
        assert japanese == [], (url, japanese)
