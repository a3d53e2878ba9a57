"""An editor drafts a revision of the Optimal Biz terms, a publisher schedules it, the notice
is posted on its date (clock moved) and the public notice shows the before/after table."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from playwright.sync_api import expect

from agreements.catalog import BIZ, catalog_ensure
from agreements.enums import VersionStatus
from agreements.models import TermsVersion
from agreements.services.imports import terms_import
from agreements.services.versions import notices_post_due
from core import clock
from tenants.scope import Scope
from tests.console.conftest import make_staff
from tests.factories.agreements import ContractFactory
from tests.factories.tenants import TenantFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TOKYO = ZoneInfo("Asia/Tokyo")
ARTICLE_19 = (
    "1. お客様が各サービスを利用するためには、別途サービス毎に定める個別規程への同意が必要となります。\n"
    "2. 各サービスは、申込時所定の利用権を取得する必要があります。\n"
    "3. 本規約と個別規程の定めが異なる場合には、個別規程の定めが優先するものとします。"
)


@pytest.fixture
def biz_in_force(seeds_dir):
    catalog = catalog_ensure()
    text = next(seeds_dir.glob("000_*.txt")).read_text(encoding="utf-8")
    version = terms_import(
        scope=Scope.system(),
        product_code=BIZ,
        label="2024-11-22",
        effective_on=date(2024, 11, 22),
        text=text,
        historical=True,
    )
    tenant = TenantFactory(name="株式会社ブラウザ商事")
    ContractFactory(tenant=tenant, product=catalog.biz, start_date=date(2025, 4, 1))
    return version


def test_editor_drafts_publisher_schedules_notice_is_posted(
    page, live_server, login, shot, biz_in_force
) -> None:
    editor = make_staff("editor", username="legal-editor")
    publisher = make_staff("publisher", username="legal-publisher")
    document = biz_in_force.document
    with time_machine.travel(datetime(2025, 6, 2, 10, 0, tzinfo=TOKYO), tick=True) as traveller:
        # --- the editor drafts -----------------------------------------------------------
        login(editor)
        page.get_by_role("link", name=document.title).first.click()
        page.fill("#id_label", "2025-06 改定")
        page.get_by_role("button", name="下書きを作成").click()
        expect(page.get_by_role("heading", name="改定案の編集: 2025-06 改定")).to_be_visible()
        draft = TermsVersion.objects.get(document=document, label="2025-06 改定")
        assert draft.status == VersionStatus.DRAFT
        assert draft.articles.count() == 19  # a copy of the version in force

        article = page.locator("#article-19")
        article.locator("summary").click()
        article.locator("textarea").fill(ARTICLE_19)
        article.get_by_role("button", name="この条を保存").click()
        expect(page.get_by_text("第19条を保存しました。")).to_be_visible()

        # A type-(i) change: ten days' lead suffice (R2; type (ii) needs 30).
        page.select_option("#id_meta-legal_basis", "general_interest")
        page.fill("#id_meta-rationale", "個別規程との優先関係を明確にし、表記を統一するため。")
        # htmx saves while typing (progressive enhancement; the button below saves without JS).
        expect(page.locator("#meta-autosave")).to_contain_text("自動保存しました", timeout=10_000)
        for _ in range(50):  # the typed rationale reaches the database without a click
            if TermsVersion.objects.get(pk=draft.pk).rationale.startswith("個別規程"):
                break
            page.wait_for_timeout(200)
        else:
            pytest.fail("the autosave did not store the rationale")
        page.fill("#id_meta-notice_on", "2025-06-10")
        page.fill("#id_meta-effective_on", "2025-06-20")
        page.get_by_role("button", name="保存", exact=True).click()
        expect(page.get_by_text("下書きを保存しました。")).to_be_visible()
        shot("console-draft-edit")

        page.get_by_role("link", name="変更区分").first.click()
        page.fill("#id_cat-0-title", "個別規程との優先関係の明確化")
        page.select_option("#id_cat-0-kind", "substantive")
        page.fill("#id_cat-1-title", "表記の統一")
        page.select_option("#id_cat-1-kind", "editorial")
        page.get_by_role("button", name="変更区分を保存").click()
        page.select_option("select[name='change-19:1']", "2")
        page.select_option("select[name='change-19:3']", "1")
        page.get_by_role("button", name="変更区分を保存").click()
        expect(page.get_by_text("変更区分を保存しました。")).to_be_visible()

        page.goto(f"{live_server.url}/console/documents/{document.pk}/compare/?b={draft.pk}")
        compare = page.get_by_test_id("compare-table")
        expect(compare.locator("del", has_text=re.compile("^定$"))).to_have_count(1)
        expect(compare.locator("ins", has_text=re.compile("^程$"))).to_have_count(1)
        shot("console-compare")

        # --- a publisher other than the author schedules -------------------------------------
        page.get_by_role("button", name="ログアウト").click()
        login(publisher)
        page.goto(f"{live_server.url}/console/versions/{draft.pk}/")
        page.get_by_role("link", name="予定登録", exact=True).click()
        expect(page.locator("#id_notice_on")).to_have_value("2025-06-10")
        page.get_by_role("button", name="内容を確認").click()
        confirmation = page.get_by_test_id("schedule-confirmation")
        expect(confirmation.get_by_test_id("bound-tenants")).to_have_text("1")
        expect(confirmation).to_contain_text("相手方の一般の利益に適合する")
        expect(confirmation).to_contain_text("みなし同意")
        shot("console-schedule-confirm")
        page.get_by_role("button", name="予定登録する").click()
        expect(page.get_by_text("改定を予定登録しました。")).to_be_visible()
        draft.refresh_from_db()
        assert draft.status == VersionStatus.SCHEDULED
        assert draft.scheduled_by == publisher

        # Not public before its notice date.
        public = page.context.browser.new_page(locale="ja-JP")
        response = public.goto(f"{live_server.url}/notices/{draft.pk}/")
        assert response is not None
        assert response.status == 404

        # --- the notice date comes: the job posts it --------------------------------------------
        traveller.move_to(datetime(2025, 6, 10, 9, 0, tzinfo=TOKYO))
        assert clock.today() == date(2025, 6, 10)
        assert notices_post_due(today=clock.today())["posted"] == 1

        public.goto(f"{live_server.url}/notices/")
        public.get_by_role("link", name=f"{draft.title}改定のお知らせ").click()
        expect(public.get_by_role("heading", level=1)).to_have_text(f"{draft.title}改定のお知らせ")
        expect(public.get_by_test_id("effective-date")).to_contain_text("2025年6月20日")
        tables = public.get_by_test_id("notice-table")
        expect(tables).to_have_count(2)
        expect(
            public.get_by_role("heading", name="1. 個別規程との優先関係の明確化")
        ).to_be_visible()
        expect(public.get_by_role("heading", name="2. 表記の統一")).to_be_visible()
        new_row = tables.nth(0).locator("tbody tr")
        expect(new_row.locator("th")).to_have_text("第19条")
        expect(new_row.locator("td.before")).to_have_text("新設")
        expect(new_row.locator("td.after")).to_contain_text("個別規程の定めが優先する")
        typo_row = tables.nth(1).locator("tbody tr")
        expect(typo_row.locator("td.before del")).to_have_text("定")
        expect(typo_row.locator("td.after ins")).to_have_text("程")
        shot("public-notice", public)

        public.goto(f"{live_server.url}/terms/{BIZ}/")
        expect(public.get_by_test_id("last-revised")).to_contain_text("2024年11月22日")
        expect(public.get_by_role("link", name="改定のお知らせを見る")).to_be_visible()
        shot("public-terms", public)
        public.close()
