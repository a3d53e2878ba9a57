"""A tenant that turned the optional consent reminders off (tenants.services.reminder_prefs) gets
none of them, from the job or from staff, but still every notice the terms require: the
revision's notice and the outstanding notice of the effective date (R2, R4)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from agreements.enums import ConsentMode
from agreements.jobs import lifecycle_run_day
from agreements.jobs.notice_jobs import CONSENT_REMINDERS
from agreements.services.consents import consent_states_open
from agreements.services.consents.reminders import consent_remind_now, reminders_send
from core import clock
from core.enums import EventKind
from core.models import Event
from tenants.scope import Scope
from tests.console.conftest import make_staff
from tests.factories.consents import EFFECTIVE_ON, NOTICE_ON, bound_tenant, posted_version

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _day(day: date) -> None:
    with clock.frozen_at(day):
        lifecycle_run_day(day)


def _kinds(tenant_id: int) -> list[tuple[str, str]]:
    events = Event.objects.filter(
        tenant_id=tenant_id,
        kind__in=[
            EventKind.NOTICE_POSTED,
            EventKind.CONSENT_REMINDER,
            EventKind.CONSENT_OUTSTANDING,
        ],
    ).order_by("id")
    return [
        (kind, (key or "").split(":")[2] if kind != EventKind.NOTICE_POSTED else "")
        for kind, key in events.values_list("kind", "payload__notice_key")
    ]


def _gated_revision():
    return posted_version(
        mode=ConsentMode.EXPLICIT,
        posted=False,
        gating_enabled=True,
        gating_rationale="回答のない利用を続けさせられない法的理由",
        gating_grace_days=21,
    )


def test_r4_reminders_off_the_job_sends_only_the_required_notices():
    version = _gated_revision()
    quiet = bound_tenant(version.document, term_months=36).tenant
    quiet.consent_reminders = False
    quiet.save()
    usual = bound_tenant(version.document, term_months=36).tenant
    day = NOTICE_ON
    while day <= EFFECTIVE_ON + timedelta(days=30):
        _day(day)
        day += timedelta(days=1)
    assert _kinds(usual.pk) == [
        (EventKind.NOTICE_POSTED, ""),
        (EventKind.CONSENT_REMINDER, "before7"),
        (EventKind.CONSENT_REMINDER, "before1"),
        (EventKind.CONSENT_OUTSTANDING, "outstanding"),
        (EventKind.CONSENT_REMINDER, "week1"),
        (EventKind.CONSENT_REMINDER, "week2"),
    ]
    assert _kinds(quiet.pk) == [
        (EventKind.NOTICE_POSTED, ""),
        (EventKind.CONSENT_OUTSTANDING, "outstanding"),
    ]


def test_r4_reminders_turned_off_after_planning_are_not_sent():
    """The job re-reads the setting when it sends: a reminder planned before the tenant turned
    reminders off is not sent."""
    version = _gated_revision()
    _day(NOTICE_ON)
    tenant = bound_tenant(version.document, term_months=36).tenant
    consent_states_open(version=version)
    remind_on = EFFECTIVE_ON - timedelta(days=7)
    with clock.frozen_at(remind_on):
        assert CONSENT_REMINDERS.plan(remind_on) == 1
    tenant.consent_reminders = False
    tenant.save()
    _day(remind_on)
    assert (EventKind.CONSENT_REMINDER, "before7") not in _kinds(tenant.pk)


def test_r4_reminders_off_remind_now_and_reminders_send_skip_the_tenant():
    version = posted_version(mode=ConsentMode.EXPLICIT)
    quiet = bound_tenant(version.document, term_months=36).tenant
    quiet.consent_reminders = False
    quiet.save()
    usual = bound_tenant(version.document, term_months=36).tenant
    consent_states_open(version=version)
    with clock.frozen_at(EFFECTIVE_ON - timedelta(days=3)):
        sent = reminders_send(version=version, now=clock.now(), key="remind:x", label="manual")
        assert (sent.tenant_ids, sent.skipped_off) == ([usual.pk], 1)
    editor = make_staff("editor")
    with clock.frozen_at(EFFECTIVE_ON + timedelta(days=2)):
        done = consent_remind_now(scope=Scope.staff(editor), version=version)
    assert done.tenant_ids == [usual.pk]
    assert not Event.objects.filter(tenant_id=quiet.pk, kind=EventKind.CONSENT_REMINDER).exists()
