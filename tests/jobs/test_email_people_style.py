"""E-mails write dates and name versions as the pages do: one English date style everywhere
(Wed, 20 Jan 2027, never 20 January 2027; Japanese 2027年1月20日（水）), and an English message
names a version in English ("Revision of 1 Jun 2025") unless staff chose its name."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from django.template import Context, Template
from django.utils import translation

from agreements.enums import Answer, ConsentMode, LegalBasis, VersionStatus
from agreements.services.consents import consent_answer, consent_states_open
from agreements.services.consents.reminders import consent_remind_now
from agreements.services.versions.posting import notice_post
from agreements.templatetags import jdates
from core import clock
from core.enums import EventKind, OutboxChannel
from core.models import Outbox
from core.services import outbox_add
from tenants.delivery import email
from tenants.delivery.email import email_render
from tenants.scope import Scope
from tests.console.conftest import make_staff
from tests.factories.agreements import DocumentFactory, ProductFactory, VersionFactory
from tests.factories.consents import admin_scope, bound_tenant, posted_version
from tests.factories.tenants import TenantFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

NOTICE_ON = date(2025, 5, 1)
EFFECTIVE_ON = date(2025, 6, 1)


@pytest.mark.parametrize(
    ("day", "ja", "en"),
    [
        (date(2027, 1, 20), "2027年1月20日（水）", "Wed, 20 Jan 2027"),
        (date(2026, 12, 16), "2026年12月16日（水）", "Wed, 16 Dec 2026"),
        (date(2025, 9, 1), "2025年9月1日（月）", "Mon, 1 Sep 2025"),
    ],
)
def test_email_dates_are_written_as_the_pages_write_them(day, ja, en) -> None:
    """With the weekday, as pages write a date people act on (jdate_wd / jdatetime_wd)."""
    assert email.format_date(day, "ja") == ja
    assert email.format_date(day, "en") == en
    for language, expected in (("ja", ja), ("en", en)):
        with translation.override(language):
            assert jdates.format_date(day, weekday=True) == expected
    instant = clock.start_of_day(day).replace(hour=14, minute=5)
    with translation.override("en"):
        assert email.format_instant(instant, "en") == jdates.format_instant(instant, weekday=True)
    assert email.format_instant(instant, "en") == f"{en} 14:05 JST"
    assert email.format_instant(instant, "ja") == f"{ja} 14:05（日本時間）"


def test_english_email_has_no_written_out_month() -> None:
    row = outbox_add(
        kind=EventKind.RENEWAL_NOTICE,
        channel=OutboxChannel.EMAIL,
        dedupe_key="style:renewal",
        payload={
            "contract_id": 3,
            "product_name": "OPTiM ID+",
            "period_end": "2027-01-20",
            "deadline": "2026-12-20",
            "next_period_start": "2027-01-21",
            "next_period_end": "2028-01-20",
        },
        recipient="it@customer.example",
        locale="en",
    )
    assert row is not None
    subject, text, html = email_render(row)
    for body in (subject, text, html):
        assert "January" not in body
        assert "December" not in body
    assert "20 Jan 2027" in text
    assert "20 Dec 2026" in text


def _notice(public_name: str = ""):
    document = DocumentFactory(product=ProductFactory(code="optimal-biz"), title="Biz 利用規約")
    v1 = VersionFactory(document=document, label="2024-01", effective_on=date(2024, 1, 1))
    tenant = TenantFactory(name="英語商事")
    bound_tenant(document, tenant=tenant)
    version = posted_version(
        document,
        mode=ConsentMode.EXPLICIT,
        legal_basis=LegalBasis.EXPLICIT_CONSENT,
        label="2025-06 working",
        public_name=public_name,
        notice_on=NOTICE_ON,
        effective_on=EFFECTIVE_ON,
        posted=False,
        status=VersionStatus.SCHEDULED,
    )
    with clock.frozen_at(NOTICE_ON):
        assert notice_post(version=version)
    return v1, version, tenant


def _mail(tenant, kind: str, locale: str) -> tuple[str, str, str]:
    row = Outbox.objects.filter(tenant_id=tenant.pk, kind=kind, channel=OutboxChannel.EMAIL)
    found = row.order_by("pk").first()
    assert found is not None
    found.locale = locale
    return email_render(found)


def _english_page_name(version) -> str:
    with translation.override("en"):
        return Template("{% load rulebook %}{{ version|version_name }}").render(
            Context({"version": version})
        )


def _remind(version) -> None:
    with clock.frozen_at(NOTICE_ON):
        consent_states_open(version=version)
        consent_remind_now(scope=Scope.staff(make_staff("publisher")), version=version)


def test_english_reminder_names_the_version_in_english() -> None:
    _v1, version, tenant = _notice()
    _remind(version)
    subject, text, html = _mail(tenant, EventKind.CONSENT_REMINDER, "en")
    assert _english_page_name(version) == "Revision of 1 Jun 2025"
    assert "(Revision of 1 Jun 2025)" in text
    assert "(Revision of 1 Jun 2025)" in html
    for body in (subject, text, html):
        assert "2025年6月1日改定" not in body
        assert "2025-06 working" not in body  # never the internal working label
    # Japanese is as it was.
    _subject, text, _html = _mail(tenant, EventKind.CONSENT_REMINDER, "ja")
    assert "2025年6月1日改定" in text


def test_english_answer_email_names_the_answered_and_the_binding_version_in_english() -> None:
    _v1, version, tenant = _notice()
    with clock.frozen_at(NOTICE_ON):
        consent_states_open(version=version)
        consent_answer(
            scope=admin_scope(tenant), tenant=tenant, version=version, answer=Answer.ACCEPTED
        )
    subject, text, html = _mail(tenant, EventKind.ANSWER_RECORDED, "en")
    assert "Biz 利用規約 Revision of 1 Jun 2025" in subject
    assert "Revision of 1 Jun 2025" in text
    assert "Version binding you before this change: Biz 利用規約 Revision of 1 Jan 2024" in text
    for body in (subject, text, html):
        assert "改定 (" not in body
        assert "2024年1月1日改定" not in body


def test_english_email_keeps_the_name_staff_chose_as_english_pages_do() -> None:
    _v1, version, tenant = _notice(public_name="2025 summer revision")
    _remind(version)
    _subject, text, _html = _mail(tenant, EventKind.CONSENT_REMINDER, "en")
    assert _english_page_name(version) == "2025 summer revision"
    assert "(2025 summer revision)" in text
    assert "Revision of 1 Jun 2025" not in text


def test_an_instant_is_not_read_as_a_date_for_a_version_name() -> None:
    """A payload's datetime is an instant, not a business date: it names nothing."""
    names = email.version_names(
        {"name": "2025年6月1日改定", "effective_on": datetime(2025, 6, 1, tzinfo=clock.TOKYO)},
        "en",
    )
    assert names == {}
