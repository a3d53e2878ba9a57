"""Hourly housekeeping: expired sessions and Idempotency-Key records, old job runs and the
retry log of delivered messages go, in short batches; delivery evidence stays; stale
invitations expire. The retention and delivery settings come from the environment."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agreements.jobs.reconcile import reconcile
from core import clock
from core.models import Delivery, IdempotencyRecord, JobRun, Outbox
from core.retention import Budget, delete_in_batches
from tenants.enums import InvitationStatus
from tenants.models import Invitation
from terms_site.tasks import housekeeping
from tests.factories.tenants import TenantFactory
from tests.security.test_deploy_settings import run

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


NOTHING = {
    "idempotency_purged": 0,
    "invitations_expired": 0,
    "sessions_purged": 0,
    "job_runs_purged": 0,
    "delivery_attempts_purged": 0,
}


def _record(key: str, expires_in: timedelta) -> IdempotencyRecord:
    return IdempotencyRecord.objects.create(
        owner="partner:1",
        key=key,
        method="POST",
        path="/api/v1/x/",
        body_hash="0" * 64,
        expires_at=clock.now() + expires_in,
    )


def test_housekeeping_purges_expired_keys_and_expires_old_invitations() -> None:
    _record("old", timedelta(seconds=-1))
    _record("fresh", timedelta(hours=1))
    tenant = TenantFactory()
    stale = Invitation.objects.create(
        tenant=tenant,
        email="a@x.example",
        token_hash="a" * 64,
        expires_at=clock.now() - timedelta(minutes=1),
    )
    live = Invitation.objects.create(
        tenant=tenant,
        email="b@x.example",
        token_hash="b" * 64,
        expires_at=clock.now() + timedelta(days=1),
    )
    assert housekeeping() == {**NOTHING, "idempotency_purged": 1, "invitations_expired": 1}
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["fresh"]
    stale.refresh_from_db()
    live.refresh_from_db()
    assert (stale.status, live.status) == (InvitationStatus.EXPIRED, InvitationStatus.PENDING)
    assert housekeeping() == NOTHING  # idempotent


def test_housekeeping_is_on_the_beat_schedule() -> None:
    assert settings.CELERY_BEAT_SCHEDULE["housekeeping"]["task"] == "ops.housekeeping"


def test_housekeeping_deletes_expired_sessions_only() -> None:
    now = clock.now()
    for key, expires in [("gone-1", -60), ("gone-2", -1), ("live", 3600)]:
        Session.objects.create(
            session_key=key, session_data="x", expire_date=now + timedelta(seconds=expires)
        )
    assert housekeeping() == {**NOTHING, "sessions_purged": 2}
    assert list(Session.objects.values_list("session_key", flat=True)) == ["live"]


def _run(job: str, days_ago: int) -> JobRun:
    started = clock.now() - timedelta(days=days_ago)
    return JobRun.objects.create(
        job=job, business_date=started.date(), started_at=started, status="ok"
    )


def test_housekeeping_deletes_job_runs_past_their_retention(settings) -> None:
    settings.TERMS_RETENTION_JOB_RUNS_DAYS = 30
    _run("contracts_roll", 31)
    _run("notices_post", 45)
    kept = {_run("contracts_roll", 29).pk, _run("notices_post", 0).pk}
    assert housekeeping() == {**NOTHING, "job_runs_purged": 2}
    assert set(JobRun.objects.values_list("pk", flat=True)) == kept


def _message(key: str, status: str) -> Outbox:
    return Outbox.objects.create(
        kind="notice.posted",
        channel="email",
        dedupe_key=key,
        tenant_id=1,
        recipient="taro@customer.example",
        status=status,
        next_attempt_at=clock.now(),
        sent_at=clock.now() if status == "sent" else None,
    )


def _attempt(message: Outbox, number: int, days_ago: int, *, succeeded: bool, error: str) -> int:
    return Delivery.objects.create(
        outbox=message,
        attempt=number,
        succeeded=succeeded,
        error=error,
        duration_ms=None if not (succeeded or error) else 40,
        attempted_at=clock.now() - timedelta(days=days_ago),
    ).pk


def test_housekeeping_deletes_only_the_retry_log_of_delivered_messages(settings) -> None:
    settings.TERMS_RETENTION_DELIVERY_ATTEMPTS_DAYS = 180
    delivered = _message("sent-after-retries", "sent")
    gone = {
        _attempt(delivered, 1, 200, succeeded=False, error="451 try later"),
        _attempt(delivered, 2, 199, succeeded=False, error=""),  # never reported back
    }
    kept = {
        # The successful attempt is the evidence that the notice left (R3, R14).
        _attempt(delivered, 3, 199, succeeded=True, error=""),
    }
    recent = _message("sent-recently", "sent")
    kept.add(_attempt(recent, 1, 10, succeeded=False, error="451 try later"))
    kept.add(_attempt(recent, 2, 10, succeeded=True, error=""))
    # Never delivered: every attempt says why the notice did not reach the tenant.
    dead = _message("given-up", "dead")
    kept |= {_attempt(dead, n, 300, succeeded=False, error="550 no such user") for n in (1, 2)}
    waiting = _message("still-retrying", "failed")
    kept.add(_attempt(waiting, 1, 250, succeeded=False, error="timeout"))

    assert housekeeping() == {**NOTHING, "delivery_attempts_purged": 2}
    assert set(Delivery.objects.values_list("pk", flat=True)) == kept
    assert not gone & set(Delivery.objects.values_list("pk", flat=True))
    assert Outbox.objects.count() == 4  # messages are never deleted
    # What reconcile checks still holds: every sent message has its successful attempt.
    (finding,) = [f for f in reconcile() if f.name == "sent_without_successful_attempt"]
    assert finding.count == 0


def test_batched_delete_commits_a_batch_at_a_time_and_stops_at_its_budget() -> None:
    for n in range(5):
        _record(f"k{n}", timedelta(seconds=-1))
    expired = IdempotencyRecord.objects.filter(expires_at__lte=clock.now())
    assert delete_in_batches(expired, batch_size=2, budget=Budget(0)) == 0  # no time left
    with CaptureQueriesContext(connection) as queries:
        assert delete_in_batches(expired, batch_size=2) == 5
    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("DELETE")]
    assert len(deletes) == 3  # 2 + 2 + 1, each in its own transaction
    assert IdempotencyRecord.objects.count() == 0


def test_delivery_and_retention_settings_come_from_the_environment() -> None:
    probe = (
        "import django; django.setup(); from django.conf import settings as s; "
        "from agreements.jobs.registry import notice_hour; "
        "from tenants.delivery.outbox import delivery_batch_size, retry_delay; "
        "print(notice_hour(), delivery_batch_size(), retry_delay(2).total_seconds(), "
        "s.TERMS_RETENTION_JOB_RUNS_DAYS, s.TERMS_RETENTION_DELIVERY_ATTEMPTS_DAYS, "
        "s.TERMS_HOUSEKEEPING_BATCH_SIZE)"
    )
    result = run(
        ["-c", probe],
        TERMS_NOTICE_HOUR="6",
        TERMS_OUTBOX_BATCH_SIZE="25",
        TERMS_OUTBOX_BACKOFF_SECONDS="15",
        TERMS_RETENTION_JOB_RUNS_DAYS="30",
        TERMS_RETENTION_DELIVERY_ATTEMPTS_DAYS="365",
        TERMS_HOUSEKEEPING_BATCH_SIZE="200",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "6 25 30.0 30 365 200"


# Variables the docs name that are not Django settings: read by compose, the Makefile, the
# backup script, or only by the fault drills.
NOT_SETTINGS = {
    "TERMS_DEMO_ARGS",
    "TERMS_FAULT_HOOK",
    "TERMS_FAULT_ITEMS",
    "TERMS_GIT_COMMIT",
    "TERMS_IMAGE",
    "TERMS_MIGRATE_DATABASE_URL",
    "TERMS_RUN_HOST",
    "TERMS_RUN_PORT",
    "TERMS_WEB_PUBLISH",
    "TERMS_WORKER_CONCURRENCY",
}


def test_every_terms_variable_the_docs_name_is_read_from_the_environment() -> None:
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    named = {
        name
        for doc in [root / "README.md", *sorted((root / "docs").glob("*.md"))]
        for name in re.findall(r"\bTERMS_[A-Z0-9_]*[A-Z0-9]\b", doc.read_text(encoding="utf-8"))
    }
    read = set(
        re.findall(
            r'env\.\w+\(\s*"(TERMS_[A-Z0-9_]+)"', (root / "terms_site" / "settings.py").read_text()
        )
    )
    assert named - NOT_SETTINGS <= read, sorted(named - NOT_SETTINGS - read)
