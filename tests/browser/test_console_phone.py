"""The console fits a phone: at 390 px wide no main page scrolls sideways (wide tables
scroll inside their own container, the header wraps), over the demo data."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from agreements.demo import demo_load
from agreements.models import TermsDocument, TermsVersion
from tenants.models import Tenant
from tests.browser.axe import axe_violations, describe
from tests.console.conftest import make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TOKYO = ZoneInfo("Asia/Tokyo")
AS_OF = date(2025, 6, 2)
PHONE = 390

# The elements wider than the viewport, for a readable failure message.
_OVERFLOWING = """(width) => [...document.querySelectorAll('body *')]
  .filter((el) => el.getBoundingClientRect().right > width + 1)
  .filter((el) => !el.closest('.table-wrap') || el.matches('.table-wrap'))
  .slice(0, 8)
  .map((el) => el.tagName.toLowerCase() + (el.className ? '.' + el.className : '')
       + ' right=' + Math.round(el.getBoundingClientRect().right))"""


def test_console_pages_fit_a_phone(page, live_server, login, shot, seeds_dir) -> None:
    with time_machine.travel(datetime(2025, 6, 2, 10, 0, tzinfo=TOKYO), tick=True):
        demo_load(as_of=AS_OF, terms_dir=seeds_dir)
        login(make_staff("publisher", username="phone-publisher-with-a-long-name"))
        document = TermsDocument.objects.get(product__code="optimal-biz", slug="terms")
        version = TermsVersion.objects.filter(document=document).order_by("-pk").first()
        tenant = Tenant.objects.filter(contracts__isnull=False).order_by("pk").first()
        pages = {
            "home": "/console/",
            "dashboard": "/console/dashboard/",
            "versions": f"/console/documents/{document.pk}/",
            "version": f"/console/versions/{version.pk}/",
            "tenants": "/console/tenants/",
            "tenant": f"/console/tenants/{tenant.pk}/",
        }
        page.set_viewport_size({"width": PHONE, "height": 844})
        too_wide: dict[str, object] = {}
        for name, path in pages.items():
            response = page.goto(f"{live_server.url}{path}")
            assert response is not None
            assert response.status == 200, path
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > PHONE:
                too_wide[name] = (width, page.evaluate(_OVERFLOWING, PHONE))
            shot(f"console-phone-{name}")
        assert too_wide == {}, too_wide

        # A table wider than the phone scrolls inside its own container, not the page.
        page.goto(f"{live_server.url}/console/tenants/")
        wrap = page.locator(".table-wrap").first
        assert wrap.evaluate("(el) => getComputedStyle(el).overflowX") == "auto"

        for path in (pages["dashboard"], pages["tenant"]):
            page.goto(f"{live_server.url}{path}")
            violations = axe_violations(page)
            assert violations == [], describe(path, violations)


@pytest.mark.parametrize("width", [1366, PHONE])
def test_dashboard_chart_labels_are_whole_and_readable(
    page, live_server, login, shot, seeds_dir, width
) -> None:
    with time_machine.travel(datetime(2025, 6, 2, 10, 0, tzinfo=TOKYO), tick=True):
        demo_load(as_of=AS_OF, terms_dir=seeds_dir)
        login(make_staff("viewer"))
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server.url}/console/dashboard/")
        rows = page.locator("[data-testid=dashboard-table] tbody tr[data-version]")
        expected = []
        for pk in rows.evaluate_all("(trs) => trs.map((tr) => tr.dataset.version)"):
            version = TermsVersion.objects.select_related("document").get(pk=pk)
            expected.append(f"{version.document.title} {version.label}")
        assert expected, "the demo has a posted revision"
        chart = page.get_by_test_id("dashboard-chart")
        labels = chart.get_by_test_id("chart-label")
        # Whole: the document's title and the version's label, not cut to a length.
        assert labels.all_text_contents() == expected
        for index in range(labels.count()):
            label = labels.nth(index)
            bar = chart.locator("svg.chart-bar").nth(index)
            box, bar_box = label.bounding_box(), bar.bounding_box()
            assert box is not None
            assert bar_box is not None
            # Nothing hidden by overflow, inside the screen, beside or above its bar.
            assert label.evaluate("(el) => el.scrollWidth <= el.clientWidth")
            assert box["x"] >= 0
            assert box["x"] + box["width"] <= width
            assert bar_box["x"] + bar_box["width"] <= width
            beside = box["x"] + box["width"] <= bar_box["x"]
            above = box["y"] + box["height"] <= bar_box["y"]
            assert beside or above, (box, bar_box)
            # Readable: the text is drawn at the page's small size, not scaled down with an SVG.
            size = label.evaluate("(el) => parseFloat(getComputedStyle(el).fontSize)")
            assert size >= 12, size
            assert bar_box["width"] >= 100, bar_box
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page_shot = shot(f"console-dashboard-{width}")
        chart.screenshot(path=str(page_shot.with_name(f"console-dashboard-chart-{width}.png")))
        violations = axe_violations(page)
        assert violations == [], describe("/console/dashboard/", violations)
