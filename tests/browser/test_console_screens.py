"""Screenshots of the main pages over the demo data (test artefacts), with the checks a
reader would make: every page renders, the excerpt is marked, English says the Japanese
text governs, and the pages stay usable on a phone-sized screen."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from playwright.sync_api import expect

from agreements.catalog import ID_PLUS
from agreements.demo import demo_load
from agreements.models import Contract, TermsDocument, TermsVersion
from tenants.models import Partner, Tenant
from tests.console.conftest import make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TOKYO = ZoneInfo("Asia/Tokyo")
AS_OF = date(2025, 6, 2)


def test_screenshots_of_the_main_pages(page, live_server, login, shot, seeds_dir) -> None:
    with time_machine.travel(datetime(2025, 6, 2, 10, 0, tzinfo=TOKYO), tick=True):
        demo_load(as_of=AS_OF, terms_dir=seeds_dir)
        page.goto(f"{live_server.url}/console/login/")
        shot("console-login")
        login(make_staff("publisher", username="screen-publisher"))

        document = TermsDocument.objects.get(product__code="optimal-biz", slug="terms")
        version = TermsVersion.objects.filter(document=document).order_by("-pk").first()
        tenant = Tenant.objects.filter(contracts__isnull=False).order_by("pk").first()
        contract = Contract.objects.filter(tenant=tenant).order_by("pk").first()
        partner = Partner.objects.order_by("pk").first()
        pages = {
            "console-home": "/console/",
            "console-document": f"/console/documents/{document.pk}/",
            "console-version": f"/console/versions/{version.pk}/",
            "console-notice-preview": f"/console/versions/{version.pk}/notice/",
            "console-tenants": "/console/tenants/",
            "console-tenant": f"/console/tenants/{tenant.pk}/",
            "console-contract": f"/console/contracts/{contract.pk}/",
            "console-contracts": "/console/contracts/",
            "console-partners": "/console/partners/",
            "console-partner": f"/console/partners/{partner.pk}/",
            "console-cases": "/console/cases/?status=all",
            "console-deletions": "/console/deletions/",
            "console-audit": "/console/audit/",
            "console-search": f"/console/search/?q={tenant.name[:2]}",
        }
        for name, path in pages.items():
            response = page.goto(f"{live_server.url}{path}")
            assert response is not None
            assert response.status == 200, path
            expect(page.locator("main h1").first).to_be_visible()
            shot(name)

        public = page.context.browser.new_page(locale="ja-JP")
        for name, path in {
            "public-terms-index": "/terms/",
            "public-terms-biz": "/terms/optimal-biz/",
            "public-terms-idplus": f"/terms/{ID_PLUS}/",
            "public-notices": "/notices/",
        }.items():
            response = public.goto(f"{live_server.url}{path}")
            assert response is not None
            assert response.status == 200, path
            shot(name, public)
        public.goto(f"{live_server.url}/terms/{ID_PLUS}/")
        expect(public.locator(".excerpt-note")).to_be_visible()

        # English: the switch posts to /i18n/setlang/; the page says the Japanese text governs.
        public.select_option("#language-select", "en")
        public.locator(".language-switch button").click()
        expect(public.locator("html")).to_have_attribute("lang", "en")
        expect(public.locator(".governing-note")).to_be_visible()
        expect(public.locator("article.terms-doc")).to_have_attribute("lang", "ja")
        shot("public-terms-en", public)
        public.close()

        phone = page.context.browser.new_page(
            locale="ja-JP", viewport={"width": 390, "height": 844}
        )
        phone.goto(f"{live_server.url}/terms/optimal-biz/")
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, "the page must not scroll sideways on a phone"
        shot("public-terms-phone", phone)
        phone.close()
