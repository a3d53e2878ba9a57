"""A designer's pass over the console: the schedule confirmation starts with focus on what is
being confirmed, like the other confirmation pages, and the consent dashboard's export button
wraps on a 390 px phone in English instead of being clipped."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from playwright.sync_api import expect

from agreements.catalog import catalog_ensure
from agreements.enums import VersionStatus
from tests.console.conftest import make_staff, post_revision
from tests.factories.agreements import ContractFactory, VersionFactory
from tests.factories.tenants import TenantFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TOKYO = ZoneInfo("Asia/Tokyo")
TODAY = date(2025, 6, 2)
PHONE = 390


def test_schedule_confirmation_starts_with_focus_on_its_heading(page, live_server, login) -> None:
    with time_machine.travel(datetime(2025, 6, 2, 10, 0, tzinfo=TOKYO), tick=True):
        catalog = catalog_ensure()
        current = VersionFactory(
            document=catalog.biz_terms,
            label="2024",
            effective_on=date(2024, 1, 1),
            articles=[("本規約について", "本規約は本製品のお客様に適用されます。")],
        )
        draft = VersionFactory(
            document=catalog.biz_terms,
            label="2025-06 改定",
            status=VersionStatus.DRAFT,
            based_on=current,
            notice_on=date(2025, 6, 10),
            effective_on=date(2025, 6, 20),
            legal_basis="general_interest",
            rationale="表記を統一するため。",
            created_by=make_staff("editor"),
            articles=[("本規約について", "本規約は本製品を利用するお客様に適用されます。")],
        )
        login(make_staff("publisher"))
        page.goto(f"{live_server.url}/console/versions/{draft.pk}/schedule/")
        page.get_by_role("button", name="内容を確認").click()
        expect(page.get_by_test_id("schedule-confirmation")).to_be_visible()
        # `autofocus` is applied by the browser once the page is ready, which may come after
        # the confirmation is visible: wait for the focus rather than read it at once.
        expect(page.locator("h2", has_text="次の内容で予定登録します")).to_be_focused()


def test_dashboard_export_button_wraps_on_a_phone_in_english(
    page, live_server, login, shot
) -> None:
    with time_machine.travel(datetime(2025, 6, 2, 10, 0, tzinfo=TOKYO), tick=True):
        catalog = catalog_ensure()
        VersionFactory(document=catalog.biz_terms, label="2024", effective_on=date(2024, 1, 1))
        ContractFactory(tenant=TenantFactory(), product=catalog.biz, start_date=date(2025, 4, 1))
        post_revision(
            document=catalog.biz_terms,
            editor=make_staff("editor"),
            publisher=make_staff("publisher"),
            today=TODAY,
        )
        login(make_staff("viewer"))
        english = page
        english.context.add_cookies(
            [{"name": "django_language", "value": "en", "url": live_server.url}]
        )
        english.set_viewport_size({"width": PHONE, "height": 844})
        english.goto(f"{live_server.url}/console/dashboard/")
        link = english.get_by_test_id("auditor-export-link").first
        expect(link).to_contain_text("Answers for auditors (CSV)")
        # The label fits its button (no text cut off), and the button fits the visible part
        # of the table's scrolling box: nothing of it is hidden past the box's edge.
        clipped = link.evaluate("(el) => el.scrollWidth > el.clientWidth + 1")
        assert not clipped
        overflow = link.evaluate(
            """(el) => el.getBoundingClientRect().right
                 - el.closest('.table-wrap').getBoundingClientRect().right"""
        )
        assert overflow <= 0
        shot("console-phone-dashboard-en")
