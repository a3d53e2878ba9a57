"""R4: reminders a publisher schedules for a day. The `scheduled_reminders` job sends each once,
on its day, to whoever has still not answered then (the rule of "remind now", its 24-hour limit
included); cancelled ones never go out; the dashboard shows what is scheduled."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse

from agreements.catalog import catalog_ensure
from agreements.enums import ReminderStatus
from agreements.jobs import job_run_one
from agreements.models import ScheduledReminder
from agreements.services.consents.answers import consent_answer
from agreements.services.consents.projection import consent_state_rebuild
from agreements.services.consents.reminder_schedule import (
    reminder_cancel,
    reminder_schedule,
    scheduled_reminders_send,
)
from agreements.services.consents.reminders import consent_remind_now, remindable
from core import clock
from core.enums import EventKind
from core.errors import Conflict, PermissionDenied, ValidationFailed
from core.models import AuditEntry, Event
from tenants.enums import Role
from tenants.models import Membership
from tenants.scope import Scope
from tests.console.conftest import make_staff, post_revision
from tests.factories.agreements import ContractFactory
from tests.factories.tenants import TenantFactory, UserFactory

pytestmark = [pytest.mark.integration]


def _posted(world, editor, publisher, *, consent_mode: str = "explicit", document=None):
    """A posted revision: world.tenant and 甲 have not answered, 乙 accepted."""
    document = document or world.document
    version = post_revision(
        document=document,
        editor=editor,
        publisher=publisher,
        today=clock.today(),
        consent_mode=consent_mode,
    )
    product = document.product
    tenants = {}
    for name in ("株式会社甲", "株式会社乙"):
        tenant = TenantFactory(name=name)
        ContractFactory(tenant=tenant, product=product)
        Membership.objects.create(tenant=tenant, user=UserFactory(), role=Role.ADMIN)
        tenants[name] = tenant
    consent_state_rebuild(tenant_ids=[t.pk for t in tenants.values()])
    consent_answer(
        scope=Scope.system(), tenant=tenants["株式会社乙"], version=version, answer="accepted"
    )
    return version, tenants


@pytest.fixture
def posted(db, world, editor, publisher):
    return _posted(world, editor, publisher)[0]


def _scheduled_reminded(version) -> list[int]:
    return sorted(
        Event.objects.filter(
            kind=EventKind.CONSENT_REMINDER, subject_id=version.pk, payload__reminder="scheduled"
        ).values_list("tenant_id", flat=True)
    )


def test_r4_publisher_schedules_days_before_the_effective_date_shown_on_the_dashboard(
    client, posted, publisher
) -> None:
    client.force_login(publisher)
    response = client.post(
        reverse("console:dashboard-remind-schedule", args=[posted.pk]),
        {"basis": "before_effective", "days_before": "7"},
        follow=True,
    )
    assert response.status_code == 200
    reminder = ScheduledReminder.objects.get(version=posted)
    assert reminder.send_on == posted.effective_on - timedelta(days=7)
    assert (reminder.status, reminder.created_by) == (ReminderStatus.SCHEDULED, publisher)
    audit = AuditEntry.objects.get(action="reminder_schedule", object_id=posted.pk)
    assert audit.data["send_on"] == reminder.send_on.isoformat()
    dashboard = client.get(reverse("console:dashboard")).content.decode()
    assert 'data-testid="scheduled-reminders"' in dashboard
    day = reminder.send_on
    assert f"{day.year}年{day.month}月{day.day}日" in dashboard


def test_r4_without_an_answer_deadline_the_form_offers_none_and_names_days_once(
    client, posted, publisher
) -> None:
    """No gating policy, no answer deadline: 「回答期限の前」 is not offered; a scheduled
    reminder reads 「効力発生日の7日前」, not 「効力発生日の前 7日前」."""
    client.force_login(publisher)
    url = reverse("console:dashboard-remind", args=[posted.pk])
    page = client.get(url)
    choices = [value for value, _label in page.context["form"].fields["basis"].choices]
    assert "before_deadline" not in choices
    client.post(
        reverse("console:dashboard-remind-schedule", args=[posted.pk]),
        {"basis": "before_effective", "days_before": "7"},
    )
    listed = client.get(url).content.decode()
    assert "効力発生日の7日前" in listed
    assert "効力発生日の前 7日前" not in listed


def test_r4_a_chosen_date_and_one_reminder_per_day(posted, publisher) -> None:
    day = clock.today() + timedelta(days=3)
    reminder_schedule(scope=Scope.staff(publisher), version=posted, basis="on_date", on=day)
    with pytest.raises(Conflict):
        reminder_schedule(scope=Scope.staff(publisher), version=posted, basis="on_date", on=day)
    with pytest.raises(ValidationFailed):  # a day that has passed
        reminder_schedule(
            scope=Scope.staff(publisher),
            version=posted,
            basis="on_date",
            on=clock.today() - timedelta(days=1),
        )
    with pytest.raises(ValidationFailed):  # no gating policy: no answer deadline to count from
        reminder_schedule(
            scope=Scope.staff(publisher), version=posted, basis="before_deadline", days_before=3
        )


def test_r4_before_the_answer_deadline_of_a_gating_policy(posted, publisher) -> None:
    type(posted).objects.filter(pk=posted.pk).update(
        gating_enabled=True, gating_rationale="契約上の根拠", gating_grace_days=30
    )
    posted.refresh_from_db()
    reminder = reminder_schedule(
        scope=Scope.staff(publisher), version=posted, basis="before_deadline", days_before=5
    )
    # Use may be limited from E+30: the last day to answer is E+29, five days before is E+24.
    assert reminder.send_on == posted.effective_on + timedelta(days=24)


def test_r4_only_publishers_schedule_and_cancel(client, posted, editor, viewer, publisher) -> None:
    for user in (editor, viewer):
        with pytest.raises(PermissionDenied):
            reminder_schedule(
                scope=Scope.staff(user), version=posted, basis="before_effective", days_before=1
            )
        client.force_login(user)
        response = client.post(
            reverse("console:dashboard-remind-schedule", args=[posted.pk]),
            {"basis": "before_effective", "days_before": "1"},
        )
        assert response.status_code == 403
    reminder = reminder_schedule(
        scope=Scope.staff(publisher), version=posted, basis="before_effective", days_before=1
    )
    with pytest.raises(PermissionDenied):
        reminder_cancel(scope=Scope.staff(editor), reminder=reminder)


def test_r4_a_deemed_consent_revision_of_a_product_with_the_clause_is_never_reminded(
    world, editor, publisher
) -> None:
    version, _ = _posted(world, editor, publisher, consent_mode="deemed")
    assert not remindable(version)  # Biz 2.1: silence is consent
    with pytest.raises(Conflict):
        reminder_schedule(
            scope=Scope.staff(publisher), version=version, basis="before_effective", days_before=1
        )


def test_r4_an_id_plus_revision_scheduled_as_deemed_asks_for_answers_and_is_reminded(
    world, editor, publisher
) -> None:
    # The ID+ text shows no deemed-consent clause (rulebook R3): silence is not consent.
    version, tenants = _posted(
        world, editor, publisher, consent_mode="deemed", document=catalog_ensure().id_plus_terms
    )
    assert remindable(version)
    reminder = reminder_schedule(
        scope=Scope.staff(publisher), version=version, basis="before_effective", days_before=1
    )
    with clock.frozen_at(reminder.send_on):
        job_run_one("scheduled_reminders", reminder.send_on)
    assert _scheduled_reminded(version) == [tenants["株式会社甲"].pk]  # 乙 accepted


def test_r4_the_job_sends_on_the_day_once_to_those_still_silent(posted, publisher, world) -> None:
    reminder = reminder_schedule(
        scope=Scope.staff(publisher), version=posted, basis="before_effective", days_before=7
    )
    day = reminder.send_on
    with clock.frozen_at(day - timedelta(days=1)):
        job_run_one("scheduled_reminders", day - timedelta(days=1))
    assert _scheduled_reminded(posted) == []
    # 甲 answers in the meantime: it is not reminded.
    kou = type(world.tenant).objects.get(name="株式会社甲")
    consent_answer(scope=Scope.system(), tenant=kou, version=posted, answer="accepted")
    with clock.frozen_at(day):
        first = job_run_one("scheduled_reminders", day)
        second = job_run_one("scheduled_reminders", day)
    assert first["service.sent"] == 1
    assert not second.get("service.sent")
    assert _scheduled_reminded(posted) == [world.tenant.pk]
    reminder.refresh_from_db()
    assert (reminder.status, reminder.sent) == (ReminderStatus.SENT, 1)
    audit = AuditEntry.objects.get(action="remind", object_id=posted.pk, actor=None)
    assert audit.data["tenant_ids"] == [world.tenant.pk]


def test_r4_a_tenant_reminded_within_24_hours_is_skipped(posted, publisher, editor) -> None:
    day = clock.today() + timedelta(days=2)
    reminder = reminder_schedule(
        scope=Scope.staff(publisher), version=posted, basis="on_date", on=day
    )
    with clock.frozen_at(day):
        consent_remind_now(scope=Scope.staff(editor), version=posted)
        job_run_one("scheduled_reminders", day)
    reminder.refresh_from_db()
    assert (reminder.status, reminder.sent, reminder.skipped_recent) == (ReminderStatus.SENT, 0, 2)
    assert _scheduled_reminded(posted) == []


def test_r4_a_cancelled_reminder_never_goes_out(client, posted, publisher) -> None:
    reminder = reminder_schedule(
        scope=Scope.staff(publisher), version=posted, basis="before_effective", days_before=2
    )
    client.force_login(publisher)
    response = client.post(
        reverse("console:dashboard-remind-cancel", args=[posted.pk, reminder.pk]), follow=True
    )
    assert response.status_code == 200
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.CANCELLED
    assert AuditEntry.objects.filter(action="reminder_cancel", object_id=posted.pk).exists()
    with clock.frozen_at(reminder.send_on):
        job_run_one("scheduled_reminders", reminder.send_on)
    assert _scheduled_reminded(posted) == []
    # The day may be scheduled again.
    reminder_schedule(
        scope=Scope.staff(publisher), version=posted, basis="before_effective", days_before=2
    )


def test_r4_of_missed_days_only_the_latest_goes_out(posted, publisher) -> None:
    today = clock.today()
    early, late = (
        reminder_schedule(
            scope=Scope.staff(publisher),
            version=posted,
            basis="on_date",
            on=today + timedelta(days=n),
        )
        for n in (1, 3)
    )
    catch_up = today + timedelta(days=5)  # the worker was down for days
    with clock.frozen_at(catch_up):
        job_run_one("scheduled_reminders", catch_up)
    early.refresh_from_db()
    late.refresh_from_db()
    assert (early.status, late.status) == (ReminderStatus.SKIPPED, ReminderStatus.SENT)
    assert len(_scheduled_reminded(posted)) == 2  # once per tenant, not twice


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks under real concurrency need PostgreSQL"
)
def test_r4_two_runs_at_once_send_each_reminder_once() -> None:
    catalog = catalog_ensure()
    editor, publisher = make_staff("editor"), make_staff("publisher")

    class _World:
        document = catalog.biz_terms

    ContractFactory(tenant=TenantFactory(name="株式会社丁"), product=catalog.biz)
    version, _ = _posted(_World, editor, publisher)
    reminder = reminder_schedule(
        scope=Scope.staff(publisher), version=version, basis="before_effective", days_before=3
    )
    day = reminder.send_on
    barrier = threading.Barrier(2)
    results: list[dict[str, int]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(scheduled_reminders_send(today=day))
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    # The clock is moved once, around both threads: it is process-wide, and two threads each
    # entering and leaving frozen_at would restore each other's instant and leave it behind.
    with clock.frozen_at(day):
        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert not errors, errors
    assert sorted(r["sent"] for r in results) == [0, 1]
    tenants = _scheduled_reminded(version)
    assert len(tenants) == len(set(tenants)) == 2
