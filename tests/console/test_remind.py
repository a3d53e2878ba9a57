"""Remind non-responders from the dashboard: its own audit and outbox rows, at most once per
24 hours per tenant and version, and the same staff roles as everywhere (Action.OPERATE)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from agreements.catalog import catalog_ensure
from agreements.services.consents.answers import consent_answer
from agreements.services.consents.reminders import consent_remind_now, reminder_counts
from core import clock
from core.enums import EventKind
from core.errors import Conflict, PermissionDenied
from core.models import AuditEntry, Event, Outbox
from tenants.enums import Role
from tenants.models import Membership
from tenants.scope import Scope
from tests.console.conftest import post_revision
from tests.factories.agreements import ContractFactory
from tests.factories.tenants import TenantFactory, UserFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def posted(world, editor, publisher):
    """A posted explicit-consent revision: world.tenant and 甲 have not answered, 乙 accepted."""
    version = post_revision(
        document=world.document,
        editor=editor,
        publisher=publisher,
        today=clock.today(),
        consent_mode="explicit",
    )
    catalog = catalog_ensure()
    tenants = {}
    for name in ("株式会社甲", "株式会社乙"):
        tenant = TenantFactory(name=name)
        ContractFactory(tenant=tenant, product=catalog.biz)
        Membership.objects.create(tenant=tenant, user=UserFactory(), role=Role.ADMIN)
        tenants[name] = tenant
    consent_answer(
        scope=Scope.system(), tenant=tenants["株式会社乙"], version=version, answer="accepted"
    )
    return version


def _reminder_tenants(version) -> list[int]:
    return sorted(
        Event.objects.filter(
            kind=EventKind.CONSENT_REMINDER, subject_id=version.pk, payload__reminder="manual"
        ).values_list("tenant_id", flat=True)
    )


def test_r4_editor_reminds_the_tenants_that_have_not_answered(
    client, posted, editor, world
) -> None:
    client.force_login(editor)
    page = client.get(reverse("console:dashboard-remind", args=[posted.pk]))
    assert page.context["counts"].due == 2
    response = client.post(reverse("console:dashboard-remind", args=[posted.pk]), follow=True)
    assert "2社に再通知しました" in response.content.decode()
    reminded = _reminder_tenants(posted)
    assert len(reminded) == 2
    assert world.tenant.pk in reminded
    outbox = Outbox.objects.filter(kind=EventKind.CONSENT_REMINDER, tenant_id__in=reminded)
    assert outbox.filter(channel="email").count() >= 2
    audit = AuditEntry.objects.get(action="remind", object_id=posted.pk)
    assert audit.actor == editor
    assert audit.data["sent"] == 2
    assert sorted(audit.data["tenant_ids"]) == reminded


def test_r4_a_second_reminder_within_24_hours_sends_nothing(posted, editor, publisher) -> None:
    first = consent_remind_now(scope=Scope.staff(editor), version=posted)
    assert first.sent == 2
    outbox_before = Outbox.objects.count()
    with pytest.raises(Conflict) as refused:  # nobody left to remind: refused, not recorded
        consent_remind_now(scope=Scope.staff(publisher), version=posted)
    assert refused.value.code == "nobody_to_remind"
    assert Outbox.objects.count() == outbox_before
    assert AuditEntry.objects.filter(action="remind", object_id=posted.pk).count() == 1
    counts = reminder_counts(scope=Scope.staff(editor), version=posted)
    assert (counts.due, counts.recent) == (0, 2)
    with time_machine.travel(clock.now() + timedelta(hours=24, minutes=1)):
        third = consent_remind_now(scope=Scope.staff(editor), version=posted)
    assert third.sent == 2


def test_r4_the_limit_is_per_tenant(posted, editor, world) -> None:
    consent_remind_now(scope=Scope.staff(editor), version=posted)
    newcomer = TenantFactory(name="株式会社丙")
    ContractFactory(tenant=newcomer, product=catalog_ensure().biz)
    from agreements.services.consents.projection import consent_state_rebuild

    consent_state_rebuild(tenant_ids=[newcomer.pk])
    again = consent_remind_now(scope=Scope.staff(editor), version=posted)
    assert again.sent == 1
    assert newcomer.pk in _reminder_tenants(posted)


def test_r4_viewer_sees_the_counts_but_cannot_remind(client, posted, viewer) -> None:
    client.force_login(viewer)
    page = client.get(reverse("console:dashboard-remind", args=[posted.pk]))
    assert page.status_code == 200
    assert "今すぐ再通知する" not in page.content.decode()
    response = client.post(reverse("console:dashboard-remind", args=[posted.pk]))
    assert response.status_code == 403
    assert _reminder_tenants(posted) == []
    with pytest.raises(PermissionDenied):
        consent_remind_now(scope=Scope.staff(viewer), version=posted)


def test_r4_publisher_may_remind(client, posted, publisher) -> None:
    client.force_login(publisher)
    client.post(reverse("console:dashboard-remind", args=[posted.pk]))
    assert len(_reminder_tenants(posted)) == 2


def test_r4_an_unposted_draft_cannot_be_reminded(client, world, editor) -> None:
    client.force_login(editor)
    response = client.post(reverse("console:dashboard-remind", args=[world.draft.pk]))
    assert response.status_code == 404


def test_r4_dashboard_row_links_to_the_reminder(client, posted, editor) -> None:
    client.force_login(editor)
    body = client.get(reverse("console:dashboard")).content.decode()
    assert reverse("console:dashboard-remind", args=[posted.pk]) in body


def test_r4_a_deemed_consent_revision_is_never_reminded(client, world, editor, publisher) -> None:
    """Under deemed consent silence is consent (R3): the reminder, which asks for an explicit
    answer, would mislead; the page says so and the service refuses."""
    version = post_revision(
        document=world.document, editor=editor, publisher=publisher, today=clock.today()
    )
    client.force_login(editor)
    page = client.get(reverse("console:dashboard-remind", args=[version.pk])).content.decode()
    assert 'data-testid="not-remindable"' in page
    assert "今すぐ再通知する" not in page
    with pytest.raises(Conflict):
        consent_remind_now(scope=Scope.staff(editor), version=version)
    assert _reminder_tenants(version) == []
    dashboard = client.get(reverse("console:dashboard")).content.decode()
    assert reverse("console:dashboard-remind", args=[version.pk]) not in dashboard


def test_r4_remind_page_shows_the_answer_deadline_the_customer_sees(
    client, posted, editor, world
) -> None:
    """No gating policy: the customer is still asked to answer by the day before the
    effective date (portal, e-mails); the page shows that day, not 「なし」."""
    from agreements.selectors.consents import consent_status_for_tenant
    from agreements.templatetags.jdates import jdate_wd

    portal = next(
        s
        for s in consent_status_for_tenant(scope=Scope.system(), tenant=world.tenant)
        if s.document == world.document
    )
    assert portal.deadline == posted.effective_on - timedelta(days=1)
    client.force_login(editor)
    page = client.get(reverse("console:dashboard-remind", args=[posted.pk])).content.decode()
    shown = page[page.index('data-testid="answer-by"') :]
    assert shown.split("</dd>")[0].count(jdate_wd(portal.deadline)) == 1
    # That silence does not limit use is said apart from the deadline.
    gate = page[page.index('data-testid="gate-deadline"') :].split("</dd>")[0]
    assert "未回答でも利用は制限されません" in gate


def test_r4_with_nobody_to_remind_the_button_is_disabled_and_a_post_refused(
    client, posted, editor
) -> None:
    consent_remind_now(scope=Scope.staff(editor), version=posted)
    client.force_login(editor)
    page = client.get(reverse("console:dashboard-remind", args=[posted.pk])).content.decode()
    assert 'data-testid="nobody-to-remind"' in page
    assert '<button type="submit" disabled aria-describedby="nobody-to-remind">' in page
    events = len(_reminder_tenants(posted))
    response = client.post(reverse("console:dashboard-remind", args=[posted.pk]), follow=True)
    body = response.content.decode()
    assert "再通知するテナントがありません" in body
    assert "0社に再通知しました" not in body
    assert len(_reminder_tenants(posted)) == events
    assert AuditEntry.objects.filter(action="remind", object_id=posted.pk).count() == 1


def test_r4_remind_page_counts_tenants_with_reminders_off_apart(
    client, posted, editor, world
) -> None:
    """A tenant that turned the optional reminders off is neither reminded nor counted as due:
    the page names how many (tenants.services.reminder_prefs)."""
    world.tenant.consent_reminders = False
    world.tenant.save()
    client.force_login(editor)
    page = client.get(reverse("console:dashboard-remind", args=[posted.pk]))
    counts = page.context["counts"]
    assert (counts.due, counts.recent, counts.reminders_off) == (1, 0, 1)
    body = page.content.decode()
    assert "リマインドを受け取らない設定" in body
    assert '<strong data-testid="remind-off">1</strong>' in body
    client.post(reverse("console:dashboard-remind", args=[posted.pk]))
    reminded = _reminder_tenants(posted)
    assert len(reminded) == 1
    assert world.tenant.pk not in reminded
    audit = AuditEntry.objects.get(action="remind", object_id=posted.pk)
    assert audit.data["skipped_off"] == 1
