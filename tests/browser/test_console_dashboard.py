"""The dashboard's numbers equal counts taken straight from the database, and the drill-down
lists the tenants behind a number; CSV export starts with a BOM."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from playwright.sync_api import expect

from agreements.catalog import catalog_ensure
from agreements.enums import ConsentStatus
from agreements.models import ConsentState, Contract
from agreements.services.consents import consent_answer
from tenants.scope import Scope
from tests.console.conftest import make_staff, post_revision
from tests.factories.agreements import ContractFactory, VersionFactory
from tests.factories.tenants import PartnerFactory, TenantFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TOKYO = ZoneInfo("Asia/Tokyo")
TODAY = date(2025, 6, 2)


def test_dashboard_numbers_equal_database_counts(page, live_server, login, shot) -> None:
    with time_machine.travel(datetime(2025, 6, 2, 10, 0, tzinfo=TOKYO), tick=True):
        catalog = catalog_ensure()
        document = catalog.biz_terms
        VersionFactory(document=document, label="2024", effective_on=date(2024, 1, 1))
        partner = PartnerFactory(name="ブラウザ販売株式会社")
        tenants = [TenantFactory() for _ in range(5)] + [
            TenantFactory(partner=partner) for _ in range(3)
        ]
        for tenant in tenants:
            ContractFactory(tenant=tenant, product=catalog.biz, start_date=date(2025, 4, 1))
        # Bound by another product only: must not count.
        ContractFactory(product=catalog.id_plus, start_date=date(2025, 4, 1))
        editor, publisher = make_staff("editor"), make_staff("publisher")
        version = post_revision(document=document, editor=editor, publisher=publisher, today=TODAY)
        system = Scope.system()
        for tenant in tenants[:3]:
            consent_answer(scope=system, tenant=tenant, version=version, answer="accepted")
        for tenant in (tenants[3], tenants[6]):
            consent_answer(scope=system, tenant=tenant, version=version, answer="rejected")

        login(make_staff("viewer"))
        page.goto(f"{live_server.url}/console/dashboard/")
        row = page.locator(f"[data-testid=dashboard-table] tr[data-version='{version.pk}']")
        expect(row).to_have_count(1)
        shot("console-dashboard")

        bound = (
            Contract.objects.filter(product=catalog.biz, status="active")
            .values("tenant")
            .distinct()
            .count()
        )

        def shown(status: str) -> int:
            return int(row.locator(f"a[data-status='{status}']").get_attribute("data-count"))

        assert shown("bound") == bound == 8
        for status in ("accepted", "rejected", "deemed", "outstanding"):
            in_db = ConsentState.objects.filter(version=version, status=status).count()
            assert shown(status) == in_db, status
        assert (
            shown("no_answer")
            == ConsentState.objects.filter(version=version, status=ConsentStatus.NO_ANSWER).count()
        )
        assert shown("accepted") == 3
        assert shown("rejected") == 2

        # Filtered by partner, the numbers are the partner's tenants only.
        page.select_option("#id_partner", str(partner.pk))
        page.get_by_role("button", name="絞り込む").click()
        expect(row.locator("a[data-status='bound']")).to_have_attribute("data-count", "3")
        expect(row.locator("a[data-status='rejected']")).to_have_attribute("data-count", "1")

        # Drill down: the tenants behind "accepted".
        page.goto(f"{live_server.url}/console/dashboard/")
        row.locator("a[data-status='accepted']").click()
        expect(page.get_by_test_id("drill-count")).to_have_text("3")
        for tenant in tenants[:3]:
            expect(page.get_by_role("link", name=tenant.name)).to_be_visible()
        shot("console-dashboard-drill")

        # CSV for Excel: UTF-8 with a byte order mark.
        response = page.request.get(f"{live_server.url}/console/dashboard/?format=csv")
        body = response.body()
        assert body.startswith(b"\xef\xbb\xbf")
        assert document.title in body.decode("utf-8-sig")
