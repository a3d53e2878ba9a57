"""Customer requests and answers in the portal, in a real browser (Debian's chromium, ja-JP):
a non-renewal confirmed before filing with a receipt /verify/ accepts (R11, R13); a deletion
request shown as 依頼済み and withdrawn (R15); what a viewer is told and whom to ask; an
objection to a deemed-consent revision (R3, R6). Screenshots in test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from playwright.sync_api import Page, expect

from agreements.enums import ConsentMode, DeletionKind, DeletionStatus, NonRenewalStatus
from agreements.models import ConsentRecord, DataDeletion, NonRenewalRequest, RequestReceipt
from agreements.services import contracts as contract_services
from tenants.scope import Scope
from tests.browser.axe import axe_violations, describe
from tests.portal.conftest import PASSWORD, biz_renewing, build_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TOKYO = ZoneInfo("Asia/Tokyo")
DAY = datetime(2025, 2, 10, 10, 0, tzinfo=TOKYO)  # before the 2025-02-28 deadline


def portal_login(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/portal/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    expect(page).to_have_url(re.compile(r"/portal/"))


def test_non_renewal_is_confirmed_then_filed_with_a_receipt_that_verifies(
    page: Page, live_server, shot, settings
) -> None:
    settings.TERMS_PORTAL_BASE_URL = "https://terms.example.jp/"
    base = live_server.url
    with time_machine.travel(DAY, tick=True):
        world = build_world(name="株式会社更新停止", product=biz_renewing())
        world.tenant.corporate_number = "1234567890123"
        world.tenant.save(update_fields=["corporate_number"])
        portal_login(page, base, world.admin.user.username)
        page.goto(f"{base}/portal/contracts/{world.contract.pk}/")
        page.get_by_test_id("non-renewal-apply").click()
        # R13: the first click only shows what would be filed.
        expect(page.get_by_test_id("confirm-step")).to_be_visible()
        expect(page.get_by_test_id("confirm-end")).to_contain_text("2025年3月31日（月）")
        assert not NonRenewalRequest.objects.filter(contract=world.contract).exists()
        shot("portal-non-renewal-confirm")
        page.get_by_test_id("confirm-file").click()

        expect(page.get_by_test_id("request-receipt")).to_be_visible()
        request = NonRenewalRequest.objects.get(contract=world.contract)
        assert request.status == NonRenewalStatus.ACTIVE
        receipt = RequestReceipt.objects.get(non_renewal=request)
        expect(page.get_by_test_id("receipt-digest")).to_have_text(receipt.digest)
        expect(page.get_by_test_id("receipt-end")).to_contain_text("2025年3月31日（月）")
        expect(page.get_by_test_id("receipt-person")).to_contain_text("管理 太郎")
        expect(page.get_by_test_id("receipt-person")).not_to_contain_text("<")
        expect(page.get_by_test_id("receipt-filed-at")).to_contain_text("2025年2月10日（月）")
        expect(page.get_by_test_id("request-receipt")).to_contain_text("1234567890123")
        # The printed /verify/ address is the public one, not the host this test reached.
        expect(page.get_by_test_id("receipt-verify")).to_contain_text(
            "https://terms.example.jp/verify/"
        )
        shot("portal-non-renewal-receipt")

        pdf = page.request.get(f"{base}/portal/requests/non-renewal/{request.pk}/pdf/")
        assert pdf.ok
        assert pdf.body().startswith(b"%PDF")

        page.get_by_test_id("receipt-verify-link").click()
        expect(page.get_by_test_id("verify-result")).to_contain_text("有効")
        expect(page.get_by_test_id("verify-result")).to_contain_text("更新しない旨の申込")
        shot("portal-non-renewal-verify")

        # The contract page now says 依頼済み instead of offering the same form again.
        page.goto(f"{base}/portal/contracts/{world.contract.pk}/")
        expect(page.get_by_test_id("non-renewal-requested")).to_be_visible()
        expect(page.get_by_test_id("non-renewal-apply")).to_have_count(0)


def test_deletion_request_is_shown_as_filed_and_can_be_withdrawn(
    page: Page, live_server, shot
) -> None:
    base = live_server.url
    with time_machine.travel(DAY, tick=True):
        world = build_world(name="株式会社削除依頼", product=biz_renewing())
        contract_services.non_renewal_request(
            scope=Scope.tenant_user(world.admin),
            contract=world.contract,
        )
        portal_login(page, base, world.admin.user.username)
        page.goto(f"{base}/portal/contracts/{world.contract.pk}/")
        page.get_by_test_id("deletion-apply").click()
        expect(page.get_by_test_id("confirm-step")).to_be_visible()
        page.get_by_test_id("confirm-file").click()
        expect(page.get_by_test_id("request-receipt")).to_be_visible()
        deletion = DataDeletion.objects.get(contract=world.contract, kind=DeletionKind.REQUESTED)
        # R15: due the later of the day after the end (2025-04-01) and request + 14 days.
        assert deletion.due_on == date(2025, 4, 1)

        page.goto(f"{base}/portal/contracts/{world.contract.pk}/")
        filed = page.get_by_test_id("deletion-requested")
        expect(filed).to_contain_text("依頼済み")
        expect(filed).to_contain_text("2025年2月10日（月）にご依頼いただきました")
        expect(filed).to_contain_text("2025年4月1日（火）までに削除します")
        # One consistent statement: the request, not the company's later permission (R15).
        expect(page.get_by_test_id("deletion-primary")).to_contain_text(
            "ご依頼により、2025年4月1日（火）までに削除します"
        )
        expect(page.locator("#deletion")).not_to_contain_text("当社の判断で削除することがあります")
        expect(page.get_by_test_id("deletion-apply")).to_have_count(0)
        shot("portal-deletion-requested")

        page.get_by_test_id("deletion-withdraw").click()
        expect(page.get_by_test_id("page-heading")).to_be_focused()  # confirmed first
        page.get_by_test_id("confirm-withdraw").click()
        expect(page.locator(".message-success")).to_contain_text("取り下げました")
        deletion.refresh_from_db()
        assert deletion.status == DeletionStatus.CANCELLED
        assert deletion.withdrawn_at is not None
        expect(page.get_by_test_id("deletion-requested")).to_have_count(0)
        expect(page.get_by_test_id("deletion-apply")).to_be_visible()  # may ask again
        shot("portal-deletion-withdrawn")

        page.goto(f"{base}/portal/receipts/")
        expect(page.get_by_test_id("request-receipts")).to_contain_text("取り下げ済み")
        page.goto(f"{base}/portal/requests/deletion/{deletion.pk}/")
        expect(page.get_by_test_id("receipt-status")).to_contain_text("取り下げ済み")
        expect(page.get_by_test_id("receipt-intact")).to_be_visible()  # still the filed content
        shot("portal-deletion-receipt-withdrawn")


def test_a_viewer_is_told_why_there_are_no_buttons_and_whom_to_ask(
    page: Page, live_server, shot
) -> None:
    base = live_server.url
    with time_machine.travel(DAY, tick=True):
        world = build_world(name="株式会社閲覧者", product=biz_renewing())
        portal_login(page, base, world.viewer.user.username)
        page.goto(f"{base}/portal/changes/{world.v2.pk}/")
        note = page.get_by_test_id("viewer-note")
        expect(note).to_contain_text("管理者が行います")
        expect(note.get_by_test_id("tenant-admins")).to_contain_text("管理 太郎")
        expect(note.get_by_test_id("tenant-admins")).to_contain_text(world.admin.user.email)
        expect(page.get_by_test_id("accept")).to_have_count(0)
        shot("portal-viewer-review")

        page.goto(f"{base}/portal/contracts/{world.contract.pk}/")
        expect(page.get_by_test_id("viewer-note")).to_contain_text("更新しない旨の申込")
        expect(page.get_by_test_id("tenant-admins")).to_contain_text("管理 太郎")
        expect(page.get_by_test_id("non-renewal-apply")).to_have_count(0)
        shot("portal-viewer-contract")

        # An admin's page reached anyway (a link kept from before a role change) says whom to ask.
        world.admin.title = "情報システム部長"
        world.admin.save(update_fields=["title"])
        response = page.goto(f"{base}/portal/members/{world.admin.pk}/remove/")
        assert response is not None
        assert response.status == 403
        admins = page.get_by_test_id("tenant-admins")
        expect(admins).to_contain_text("管理 太郎（情報システム部長）")
        expect(admins).to_contain_text(world.admin.user.email)
        violations = axe_violations(page)
        assert violations == [], describe(page.url, violations)
        shot("portal-viewer-admin-only")


def test_a_deemed_revision_offers_one_objection_with_its_consequence(
    page: Page, live_server, shot
) -> None:
    base = live_server.url
    with time_machine.travel(datetime(2025, 3, 10, 10, 0, tzinfo=TOKYO), tick=True):
        world = build_world(
            name="株式会社みなし同意", mode=ConsentMode.DEEMED, product=biz_renewing()
        )
        portal_login(page, base, world.admin.user.username)
        page.goto(f"{base}/portal/changes/{world.v2.pk}/")
        # R3: silence is consent; no acceptance is asked for, one objection is offered.
        expect(page.get_by_test_id("accept")).to_have_count(0)
        expect(page.get_by_test_id("deemed-explain")).to_contain_text("2025年3月31日（月）")
        expect(page.get_by_test_id("reject")).to_have_text("異議を申し出る…")
        expect(page.get_by_test_id("reject-consequence")).to_contain_text("異議を申し出ると")
        shot("portal-deemed-review")

        page.get_by_test_id("reject").click()
        expect(page.get_by_role("heading", name="異議を申し出る前にご確認ください")).to_be_visible()
        page.fill("#id_reason", "データの保管場所の変更に同意できないため。")
        page.fill("#id_person_title", "情報システム部長")
        shot("portal-deemed-objection-confirm")
        page.get_by_test_id("reject-confirm").click()

        expect(page).to_have_url(re.compile(r"/portal/receipts/\d+/$"))
        expect(page.get_by_test_id("receipt-title")).to_have_text("異議の申出の受領証")
        expect(page.get_by_test_id("receipt-person")).to_contain_text(
            "管理 太郎（情報システム部長）"
        )
        expect(page.get_by_test_id("receipt-reason")).to_contain_text("保管場所の変更")
        expect(page.get_by_test_id("receipt")).not_to_contain_text("T10:")  # no raw ISO stamp
        record = ConsentRecord.objects.get(tenant=world.tenant, version=world.v2)
        assert (record.evidence.person_title, record.evidence.reason) == (
            "情報システム部長",
            "データの保管場所の変更に同意できないため。",
        )
        shot("portal-deemed-objection-receipt")

        page.goto(f"{base}/portal/changes/{world.v2.pk}/")
        expect(page.get_by_test_id("objection-filed")).to_contain_text("2025年3月10日（月）")
        expect(page.get_by_test_id("accept")).to_have_text("異議を取り下げる")
