"""Rights that no pending answer can block (R4), in a real browser (Debian's chromium,
headless, locale ja-JP): a tenant admin whose explicit-consent answer is pending — before the
revision's effective date (`no_answer`) and after it (`outstanding`) — files a non-renewal on
its deadline day through the portal and sees it recorded.

Screenshots go to test-artifacts/screenshots/. The clock is moved with time_machine in this
process, which is the clock the live server reads (it runs in a thread here).
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from playwright.sync_api import Page, expect

from agreements.enums import ConsentStatus, NonRenewalStatus
from agreements.models import ConsentState, NonRenewalRequest
from agreements.services.consents import consents_apply_effective
from core import clock
from tests.portal.conftest import PASSWORD, build_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TOKYO = ZoneInfo("Asia/Tokyo")
# The ID+ contract from 2024-04-01: first period ends 2025-03-31, non-renewal deadline 02-28.
DEADLINE_EVENING = datetime(2025, 2, 28, 23, 30, tzinfo=TOKYO)


def _login(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/portal/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="ログイン").click()


@pytest.mark.parametrize(
    ("notice_on", "effective_on", "status"),
    [
        (date(2025, 2, 10), date(2025, 3, 15), ConsentStatus.NO_ANSWER),
        (date(2025, 1, 10), date(2025, 2, 20), ConsentStatus.OUTSTANDING),
    ],
    ids=["before-effective", "after-effective"],
)
def test_portal_r4_non_renewal_on_its_deadline_day_with_an_unanswered_explicit_revision(
    page: Page,
    live_server,
    shot,
    notice_on: date,
    effective_on: date,
    status: ConsentStatus,
) -> None:
    base = live_server.url
    with time_machine.travel(DEADLINE_EVENING, tick=True):
        world = build_world(
            name=f"株式会社未回答{status.value}", notice_on=notice_on, effective_on=effective_on
        )
        if effective_on <= clock.today():
            consents_apply_effective(version=world.v2, today=effective_on)
        state = ConsentState.objects.get(tenant=world.tenant, document=world.document)
        assert (state.status, state.record_id) == (status, None)

        _login(page, base, world.admin.user.username)
        # Signed in at the home page, not sent to the review page: the pending answer is a
        # banner and the first item of the page.
        expect(page).to_have_url(f"{base}/portal/")
        expect(page.get_by_test_id("gate-banner")).to_be_visible()
        expect(page.get_by_test_id("pending-document").first).to_be_visible()
        shot(f"portal-rights-home-{status.value}")

        page.goto(f"{base}/portal/contracts/{world.contract.pk}/")
        expect(page).to_have_url(f"{base}/portal/contracts/{world.contract.pk}/")
        expect(page.get_by_test_id("gate-banner")).to_be_visible()
        expect(page.get_by_test_id("non-renewal-deadline")).to_contain_text("2025年2月28日")
        expect(page.get_by_test_id("non-renewal-deadline")).to_contain_text("あと0日")
        page.get_by_test_id("non-renewal-apply").click()
        # R13: confirmed on screen first, then filed with a receipt.
        expect(page.get_by_test_id("confirm-step")).to_be_visible()
        expect(page.get_by_test_id("confirm-end")).to_contain_text("2025年3月31日")
        page.get_by_test_id("confirm-file").click()

        expect(page.locator(".message-success")).to_contain_text("2025年3月31日")
        expect(page.get_by_test_id("request-receipt")).to_be_visible()
        page.goto(f"{base}/portal/contracts/{world.contract.pk}/")
        expect(page.get_by_test_id("non-renewal-active")).to_contain_text("2025年3月31日")
        shot(f"portal-rights-non-renewal-{status.value}")
        request = NonRenewalRequest.objects.get(contract=world.contract)
        assert (request.end_date, request.deadline, request.status) == (
            date(2025, 3, 31),
            date(2025, 2, 28),
            NonRenewalStatus.ACTIVE,
        )
        # The answer is still pending, and nothing about it was recorded by filing.
        state.refresh_from_db()
        assert (state.status, state.record_id) == (status, None)
