"""Staff see each job's last runs, the outbox with failures and dead letters, and can retry."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from core import clock
from core.enums import AuditAction, JobRunStatus, OutboxChannel, OutboxStatus
from core.models import AuditEntry, JobRun, Outbox
from core.services import outbox_add

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _dead(key: str) -> Outbox:
    row = outbox_add(
        kind="contract.renewed",
        channel=OutboxChannel.EMAIL,
        dedupe_key=key,
        payload={},
        recipient="it@customer.example",
    )
    assert row is not None
    Outbox.objects.filter(pk=row.pk).update(status=OutboxStatus.DEAD, last_error="smtp down")
    return row


def test_admin_job_runs_show_last_run_and_errors_per_job(admin_client):
    now = clock.now()
    JobRun.objects.create(
        job="renewal_notices", business_date=date(2025, 1, 1), started_at=now, counts={"sent": 3}
    )
    JobRun.objects.create(
        job="contracts_roll",
        business_date=date(2025, 1, 1),
        started_at=now,
        status=JobRunStatus.ERROR,
        error="OperationalError: server closed the connection",
    )
    response = admin_client.get(reverse("admin:core_jobrun_changelist"))
    assert response.status_code == 200
    summary = {row["job"]: row for row in response.context["job_summary"]}
    assert summary["contracts_roll"]["errors"] == 1
    assert summary["renewal_notices"]["errors"] == 0
    assert b'id="job-summary"' in response.content


def test_admin_outbox_dead_letters_filter_and_retry_action(admin_client, admin_user):
    dead = _dead("k1")
    _dead("k2")
    url = reverse("admin:core_outbox_changelist")
    listed = admin_client.get(url, {"problem": "dead"})
    assert listed.status_code == 200
    assert listed.context["cl"].result_count == 2
    response = admin_client.post(
        url, {"action": "retry", "_selected_action": [dead.pk]}, follow=True
    )
    assert response.status_code == 200
    dead.refresh_from_db()
    assert dead.status == OutboxStatus.PENDING
    entry = AuditEntry.objects.get(action=AuditAction.RETRY)
    assert (entry.actor, entry.object_id) == (admin_user, dead.pk)
    assert Outbox.objects.filter(status=OutboxStatus.DEAD).count() == 1
