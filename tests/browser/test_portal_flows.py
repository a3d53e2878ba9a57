"""The customer portal in a real browser (Debian's chromium, headless, locale ja-JP).

Each test saves screenshots of the pages it passes through (test-artifacts/screenshots/).
The clock is moved with time_machine in this process, which is the clock the live server
reads (it runs in a thread here).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from playwright.sync_api import Page, expect

from agreements.enums import CaseStatus, ConsentMode, NonRenewalStatus
from agreements.models import ConsentRecord, NonRenewalRequest, TerminationCase
from core.models import Outbox
from tenants.models import Membership
from tests.portal.conftest import PASSWORD, biz_renewing, build_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TOKYO = ZoneInfo("Asia/Tokyo")
REVIEW_DAY = datetime(2025, 3, 10, 10, 0, tzinfo=TOKYO)


def portal_login(page: Page, base: str, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/portal/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.get_by_role("button", name="ログイン").click()


def test_invited_colleague_sets_a_password_and_logs_in(page: Page, live_server, shot) -> None:
    base = live_server.url
    with time_machine.travel(REVIEW_DAY, tick=True):
        world = build_world(name="株式会社招待テスト")
        # The admin answers and invites a colleague through the members page.
        portal_login(page, base, world.admin.user.username)
        page.get_by_test_id("gate-banner").get_by_role("link").click()
        page.get_by_test_id("accept").click()
        page.goto(f"{base}/portal/members/")
        page.fill("#id_email", "hanako@customer.example")
        page.get_by_role("button", name="招待メールを送る").click()
        expect(page.locator(".message-success")).to_contain_text("hanako@customer.example")
        shot("portal-members")
        page.get_by_role("button", name="ログアウト").click()

        url = Outbox.objects.get(recipient="hanako@customer.example").payload["invitation_url"]
        path = re.sub(r"^https?://[^/]+", "", url)
        page.goto(f"{base}{path}")
        expect(page.get_by_role("heading", name="お客様ポータルへの招待")).to_be_visible()
        page.fill("#id_name", "招待 花子")
        page.fill("#id_password", "hanako-pass-2025")
        page.fill("#id_password_confirm", "hanako-pass-2025")
        shot("portal-invitation-accept")
        page.get_by_role("button", name="パスワードを設定して参加する").click()
        expect(page).to_have_url(f"{base}/portal/")
        expect(page.locator(".message-success")).to_contain_text("株式会社招待テスト")
        assert Membership.objects.get(user__username="hanako@customer.example").role == "viewer"

        page.get_by_role("button", name="ログアウト").click()
        expect(page).to_have_url(f"{base}/portal/login/")
        shot("portal-login")
        portal_login(page, base, "hanako@customer.example", "hanako-pass-2025")
        expect(page).to_have_url(f"{base}/portal/")
        expect(page.get_by_role("heading", name="株式会社招待テスト")).to_be_visible()


def test_admin_sees_the_banner_reviews_accepts_and_verifies_the_receipt(
    page: Page, live_server, shot, tmp_path
) -> None:
    base = live_server.url
    with time_machine.travel(REVIEW_DAY, tick=True):
        # Optimal Biz: the review states what a rejection leads to (R6, Biz 2.4).
        world = build_world(name="株式会社同意テスト", product=biz_renewing())
        portal_login(page, base, world.admin.user.username)
        # R4: the pending explicit revision is a banner and the home page's first item; no
        # page is blocked (the contracts page opens as itself).
        expect(page).to_have_url(f"{base}/portal/")
        page.goto(f"{base}/portal/contracts/")
        expect(page).to_have_url(f"{base}/portal/contracts/")
        page.get_by_test_id("gate-banner").get_by_role("link").click()
        expect(page).to_have_url(f"{base}/portal/changes/{world.v2.pk}/")
        expect(page.get_by_test_id("diff-table").locator("ins").first).to_be_visible()
        expect(page.get_by_test_id("reject-consequence")).to_contain_text("2025年4月9日")
        shot("portal-review")

        page.get_by_test_id("accept").click()
        expect(page).to_have_url(re.compile(r"/portal/receipts/\d+/$"))
        record = ConsentRecord.objects.get(tenant=world.tenant)
        expect(page.get_by_test_id("receipt-hash")).to_have_text(record.hash)
        shot("portal-receipt")

        with page.expect_download() as download_info:
            page.get_by_test_id("receipt-pdf").click()
        pdf = tmp_path / "receipt.pdf"
        download_info.value.save_as(pdf)
        assert pdf.read_bytes().startswith(b"%PDF-")

        # Anyone holding the hash can check it, signed out.
        page.get_by_role("button", name="ログアウト").click()
        page.goto(f"{base}/verify/")
        page.fill("#verify-hash", record.hash)
        page.get_by_role("button", name="確認する").click()
        expect(page.get_by_test_id("verify-result")).to_contain_text("有効")
        expect(page.get_by_test_id("verify-result")).to_contain_text(f"台帳の番号: {record.seq}")
        shot("public-verify")

        # The gate has opened: home lists the contract with its concrete deadline.
        portal_login(page, base, world.admin.user.username)
        expect(page).to_have_url(f"{base}/portal/")
        expect(page.get_by_test_id("contracts")).to_contain_text("2026年2月28日")
        shot("portal-home")
        page.goto(f"{base}/portal/receipts/")
        shot("portal-receipts")


def test_another_admin_rejects_and_the_case_exists(page: Page, live_server, shot) -> None:
    base = live_server.url
    with time_machine.travel(REVIEW_DAY, tick=True):
        # Optimal Biz: a rejection opens a case only where the terms have R6 (Biz 2.4).
        world = build_world(name="株式会社拒否テスト", product=biz_renewing())
        portal_login(page, base, world.admin.user.username)
        page.get_by_test_id("gate-banner").get_by_role("link").click()
        expect(page).to_have_url(f"{base}/portal/changes/{world.v2.pk}/")
        page.get_by_test_id("reject").click()
        expect(page.get_by_role("heading", name="改定を拒否する前にご確認ください")).to_be_visible()
        expect(page.get_by_test_id("reject-consequence")).to_contain_text("2025年4月9日")
        shot("portal-reject-confirm")
        page.get_by_test_id("reject-confirm").click()
        expect(page).to_have_url(re.compile(r"/portal/receipts/\d+/$"))
        case = TerminationCase.objects.get(tenant=world.tenant)
        assert (case.status, case.contract_id, case.version_id) == (
            CaseStatus.OPEN,
            world.contract.pk,
            world.v2.pk,
        )
        page.goto(f"{base}/portal/changes/{world.v2.pk}/")
        expect(page.get_by_test_id("consent-status")).to_have_text("拒否")
        expect(page.get_by_test_id("accept")).to_be_visible()  # can still switch


def test_non_renewal_on_the_deadline_day_and_the_day_after(page: Page, live_server, shot) -> None:
    base = live_server.url
    with time_machine.travel(datetime(2025, 2, 28, 23, 30, tzinfo=TOKYO), tick=True):
        first = build_world(name="株式会社期限当日", mode=ConsentMode.DEEMED)
        late = build_world(name="株式会社期限翌日", mode=ConsentMode.DEEMED)
        portal_login(page, base, first.admin.user.username)
        page.goto(f"{base}/portal/contracts/{first.contract.pk}/")
        expect(page.get_by_test_id("non-renewal-deadline")).to_contain_text("2025年2月28日")
        expect(page.get_by_test_id("non-renewal-deadline")).to_contain_text("あと0日")
        shot("portal-contract")
        page.get_by_test_id("non-renewal-apply").click()
        expect(page.get_by_test_id("confirm-step")).to_be_visible()  # R13: confirmed first
        page.get_by_test_id("confirm-file").click()
        expect(page.locator(".message-success")).to_contain_text("2025年3月31日")
        expect(page.get_by_test_id("request-receipt")).to_be_visible()
        request = NonRenewalRequest.objects.get(contract=first.contract)
        assert (request.end_date, request.status) == (date(2025, 3, 31), NonRenewalStatus.ACTIVE)
        page.get_by_role("button", name="ログアウト").click()

    with time_machine.travel(datetime(2025, 3, 1, 0, 30, tzinfo=TOKYO), tick=True):
        portal_login(page, base, late.admin.user.username)
        page.goto(f"{base}/portal/contracts/{late.contract.pk}/")
        page.get_by_test_id("non-renewal-apply").click()
        refusal = page.get_by_test_id("non-renewal-late")
        expect(refusal).to_contain_text("2025-02-28")  # the deadline that passed
        expect(refusal).to_contain_text("2026-03-31")  # the next possible end
        assert not NonRenewalRequest.objects.filter(contract=late.contract).exists()
        shot("portal-contract-late")
        page.get_by_test_id("non-renewal-next").click()
        expect(page.get_by_test_id("confirm-step")).to_be_visible()
        page.get_by_test_id("confirm-file").click()
        expect(page.locator(".message-success")).to_contain_text("2026年3月31日")
        request = NonRenewalRequest.objects.get(contract=late.contract)
        assert request.end_date == date(2026, 3, 31)


def test_language_switch_is_remembered(page: Page, live_server, shot) -> None:
    base = live_server.url
    with time_machine.travel(REVIEW_DAY, tick=True):
        world = build_world(name="株式会社言語テスト", mode=ConsentMode.DEEMED)
        portal_login(page, base, world.viewer.user.username)
        expect(page.locator("html")).to_have_attribute("lang", "ja")
        page.select_option("#language-select", "en")
        page.locator(".language-switch button").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.get_by_role("navigation", name="Main menu")).to_contain_text("Contracts")
        expect(page.get_by_test_id("contracts")).to_contain_text("Sat, 28 Feb 2026")
        shot("portal-home-en")
        page.goto(f"{base}/portal/changes/{world.v2.pk}/")
        expect(page.locator(".governing-note")).to_be_visible()
        shot("portal-review-en")
        # Signed out and in again: still English.
        page.get_by_role("button", name="Log out").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
        portal_login_en(page, base, world.viewer.user.username)
        expect(page).to_have_url(f"{base}/portal/")
        expect(page.locator("html")).to_have_attribute("lang", "en")


def portal_login_en(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/portal/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_portal_pages_fit_a_phone_screen(page: Page, live_server, shot) -> None:
    """Usable on a phone: no page scrolls sideways at 390 px (tables scroll in their box)."""
    base = live_server.url
    page.set_viewport_size({"width": 390, "height": 844})
    with time_machine.travel(REVIEW_DAY, tick=True):
        world = build_world(name="株式会社スマホ")
        portal_login(page, base, world.admin.user.username)
        expect(page).to_have_url(f"{base}/portal/")
        pages = {
            "review": f"/portal/changes/{world.v2.pk}/",
            "home": "/portal/",
            "contract": f"/portal/contracts/{world.contract.pk}/",
            "members": "/portal/members/",
        }
        for name, path in pages.items():
            if name == "home":
                page.goto(f"{base}/portal/changes/{world.v2.pk}/")
                page.get_by_test_id("accept").click()
            page.goto(f"{base}{path}")
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, (name, overflow)
            shot(f"portal-phone-{name}")
        # Keyboard: the skip link is the first stop and moves focus to the content.
        page.keyboard.press("Tab")
        expect(page.locator(".skip-link")).to_be_focused()
