"""A legal-ops team through a revision without surprises: a draft behind a scheduled version
is flagged and rebased, the withdraw page counts what it touches, and the dashboard reminds
the tenants that have not answered."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from playwright.sync_api import expect

from agreements.catalog import catalog_ensure
from agreements.enums import VersionStatus
from agreements.models import TermsVersion
from agreements.services.consents import consent_answer
from core.enums import EventKind
from core.models import Event
from tenants.scope import Scope
from tests.console.conftest import make_staff, post_revision
from tests.factories.agreements import ContractFactory, VersionFactory
from tests.factories.tenants import TenantFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 12, 16, 10, 0, tzinfo=TOKYO)
TODAY = NOW.date()
IN_FORCE = [
    ("本規約について", "本規約は本製品を利用するお客様に適用されます。"),
    ("本規約の変更", "当社は本規約を変更できるものとします。"),
]


def _biz_with_tenants(count: int):
    catalog = catalog_ensure()
    current = VersionFactory(
        document=catalog.biz_terms,
        label="2024-11-22",
        effective_on=date(2024, 11, 22),
        articles=IN_FORCE,
    )
    tenants = [TenantFactory(name=f"株式会社ブラウザ{n}") for n in range(count)]
    for tenant in tenants:
        ContractFactory(tenant=tenant, product=catalog.biz, start_date=date(2025, 4, 1))
    return catalog, current, tenants


def test_a_draft_behind_the_scheduled_version_is_flagged_and_rebased(
    page, live_server, login, shot
) -> None:
    with time_machine.travel(NOW, tick=True):
        catalog, current, _tenants = _biz_with_tenants(1)
        editor = make_staff("editor", username="legal-editor")
        VersionFactory(
            document=catalog.biz_terms,
            label="2027-02 改定",
            status=VersionStatus.SCHEDULED,
            notice_on=date(2027, 1, 5),
            effective_on=date(2027, 2, 1),
            based_on=current,
            articles=[
                *IN_FORCE,
                ("反社会的勢力の排除", "お客様は反社会的勢力でないことを表明します。"),
            ],
        )
        draft = VersionFactory(
            document=catalog.biz_terms,
            label="2027-06 改定",
            status=VersionStatus.DRAFT,
            effective_on=None,
            based_on=current,
            created_by=editor,
            articles=[("本規約について", "本規約はすべてのお客様に適用されます。"), IN_FORCE[1]],
        )
        login(editor)
        # Starting a new draft: warned, and the scheduled version is offered first.
        page.goto(f"{live_server.url}/console/documents/{catalog.biz_terms.pk}/")
        expect(page.get_by_test_id("scheduled-warning")).to_contain_text("2027-02 改定")
        expect(page.locator("#id_based_on option:checked")).to_contain_text("2027-02 改定")
        shot("console-draft-create-while-scheduled")

        page.goto(f"{live_server.url}/console/versions/{draft.pk}/edit/")
        warning = page.get_by_test_id("rebase-warning")
        expect(warning).to_contain_text("2027-02 改定")
        expect(warning).to_contain_text("2027年2月1日（月）")
        shot("console-rebase-warning")
        warning.get_by_role("button", name="予定登録済みの版を元に付け替える").click()
        expect(page.locator(".message-success")).to_contain_text("取り込んだ条: 第3条")
        expect(page.get_by_text("第3条（反社会的勢力の排除）", exact=True)).to_be_visible()
        expect(page.get_by_test_id("rebase-warning")).to_have_count(0)
        shot("console-rebased")
        rebased = TermsVersion.objects.get(pk=draft.pk)
        assert rebased.based_on.label == "2027-02 改定"
        assert rebased.articles.filter(number=3).exists()


def test_withdraw_page_counts_answers_and_cases(page, live_server, login, shot) -> None:
    with time_machine.travel(NOW, tick=True):
        catalog, _current, tenants = _biz_with_tenants(3)
        editor, publisher = make_staff("editor"), make_staff("publisher")
        version = post_revision(
            document=catalog.biz_terms, editor=editor, publisher=publisher, today=TODAY
        )
        system = Scope.system()
        consent_answer(scope=system, tenant=tenants[0], version=version, answer="accepted")
        consent_answer(scope=system, tenant=tenants[1], version=version, answer="rejected")
        login(make_staff("publisher", username="second-publisher"))
        page.goto(f"{live_server.url}/console/versions/{version.pk}/withdraw/")
        expect(page.get_by_test_id("impact-answers")).to_contain_text("2")
        expect(page.get_by_test_id("impact-answers")).to_contain_text("同意 1件 · 拒否 1件")
        expect(page.get_by_test_id("impact-tenants")).to_contain_text("2社")
        expect(page.get_by_test_id("impact-cases")).to_contain_text("1")
        expect(page.get_by_test_id("impact-cases")).to_contain_text("取り下げられ")
        shot("console-withdraw-impact")


def test_r4_dashboard_reminds_non_responders_once_a_day(page, live_server, login, shot) -> None:
    with time_machine.travel(NOW, tick=True):
        catalog, _current, tenants = _biz_with_tenants(3)
        editor, publisher = make_staff("editor"), make_staff("publisher")
        version = post_revision(
            document=catalog.biz_terms,
            editor=editor,
            publisher=publisher,
            today=TODAY,
            consent_mode="explicit",
        )
        consent_answer(scope=Scope.system(), tenant=tenants[0], version=version, answer="accepted")
        login(make_staff("editor", username="ops-editor"))
        page.goto(f"{live_server.url}/console/dashboard/")
        page.get_by_test_id("remind-link").first.click()
        expect(page.get_by_test_id("remind-due")).to_have_text("2")
        expect(page.get_by_test_id("remind-recent")).to_have_text("0")
        page.get_by_role("button", name="今すぐ再通知する").click()
        expect(page.get_by_text("2社に再通知しました")).to_be_visible()
        expect(page.get_by_test_id("remind-due")).to_have_text("0")
        expect(page.get_by_test_id("remind-recent")).to_have_text("2")
        expect(page.get_by_role("button", name="今すぐ再通知する")).to_be_disabled()
        shot("console-remind")
        assert (
            Event.objects.filter(kind=EventKind.CONSENT_REMINDER, subject_id=version.pk).count()
            == 2
        )
