from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from agreements.enums import ConsentStatus
from agreements.models import ConsentState
from core import clock
from core.models import JobRun, Outbox, PlannedAction
from core.services import heartbeat_write
from terms_site.backups import backup_succeeded
from terms_site.metrics import DatabaseCollector
from tests.factories.agreements import VersionFactory
from tests.factories.tenants import TenantFactory
from tests.ops.conftest import append_rows
from tests.security.test_deploy_settings import run

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

TOKEN = "scrape-token-for-tests"
NOW = datetime(2025, 4, 2, 9, 0, tzinfo=clock.TOKYO)


@pytest.fixture
def token(settings) -> str:
    settings.TERMS_METRICS_TOKEN = TOKEN
    return TOKEN


def scrape(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, metric: str, **labels: str) -> float:
    return samples[(metric, tuple(sorted(labels.items())))]


def test_metrics_is_absent_without_a_configured_token(client, settings) -> None:
    settings.TERMS_METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.parametrize(
    "header",
    [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Api-Key {TOKEN}", "Bearer"],
)
def test_metrics_refuses_a_missing_or_wrong_token(client, token, header) -> None:
    extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    response = client.get("/metrics", **extra)
    assert response.status_code == 403
    assert response.content == b""


def test_metrics_refuses_its_token_over_plain_http_outside_debug(client, token, settings) -> None:
    settings.TERMS_METRICS_REQUIRE_HTTPS = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}
    plain = client.get("/metrics", **auth)
    assert (plain.status_code, plain.content) == (403, b"https required\n")
    assert client.get("/metrics", secure=True, **auth).status_code == 200
    # Behind the TLS proxy, which says https in X-Forwarded-Proto.
    assert client.get("/metrics", HTTP_X_FORWARDED_PROTO="https", **auth).status_code == 200
    # A proxy header nobody configured to trust proves nothing.
    settings.SECURE_PROXY_SSL_HEADER = None
    assert client.get("/metrics", HTTP_X_FORWARDED_PROTO="https", **auth).status_code == 403


def test_metrics_requires_https_under_production_settings() -> None:
    probe = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.TERMS_METRICS_REQUIRE_HTTPS, s.SECURE_PROXY_SSL_HEADER)"
    )
    result = run(["-c", probe])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "True ('HTTP_X_FORWARDED_PROTO', 'https')"


def test_metrics_counts_requests_and_latency_per_route(client, token) -> None:
    before = scrape(client)
    key = (
        "django_http_requests_latency_seconds_by_view_method_count",
        (("method", "GET"), ("view", "admin:login")),
    )
    for _ in range(3):
        assert client.get("/admin/login/").status_code == 200
    after = scrape(client)
    assert after[key] - before.get(key, 0.0) == 3
    status_key = (
        "django_http_responses_total_by_status_view_method_total",
        (("method", "GET"), ("status", "200"), ("view", "admin:login")),
    )
    assert after[status_key] - before.get(status_key, 0.0) == 3


def test_metrics_reports_jobs_lag_and_duration(client, token) -> None:
    with clock.frozen_at(NOW):
        now = clock.now()
        for minutes, status, ms in [(5, "ok", 1200), (65, "ok", 800), (30, "error", 50)]:
            JobRun.objects.create(
                job="notices",
                business_date=date(2025, 4, 2),
                started_at=now - timedelta(minutes=minutes),
                finished_at=now - timedelta(minutes=minutes) + timedelta(milliseconds=ms),
                status=status,
                duration_ms=ms,
            )
        # Older than the 24 h window: not counted.
        JobRun.objects.create(
            job="notices",
            business_date=date(2025, 3, 30),
            status="ok",
            duration_ms=99_000,
            started_at=now - timedelta(days=3),
            finished_at=now - timedelta(days=3),
        )
        for key, due_on, status in [
            ("a", date(2025, 3, 31), "failed"),  # due since 2025-03-31 00:00 JST
            ("b", date(2025, 4, 2), "pending"),
            ("c", date(2025, 3, 1), "done"),  # done: no lag
            ("d", date(2025, 4, 9), "pending"),  # not yet due
        ]:
            PlannedAction.objects.create(
                job="renewals",
                key=key,
                subject_type="contract",
                subject_id=1,
                due_on=due_on,
                status=status,
            )
        samples = scrape(client)
    assert value(samples, "terms_job_runs_last_24h", job_name="notices", status="ok") == 2
    assert value(samples, "terms_job_runs_last_24h", job_name="notices", status="error") == 1
    assert value(samples, "terms_job_run_duration_last_24h_seconds_count", job_name="notices") == 3
    assert value(
        samples, "terms_job_run_duration_last_24h_seconds_sum", job_name="notices"
    ) == pytest.approx(2.05)
    assert value(samples, "terms_job_run_duration_max_last_24h_seconds", job_name="notices") == 1.2
    assert (
        value(samples, "terms_job_last_success_timestamp_seconds", job_name="notices")
        == (NOW - timedelta(minutes=5) + timedelta(milliseconds=1200)).timestamp()
    )
    # 2025-03-31 00:00 JST → 2025-04-02 09:00 JST = 57 hours.
    assert value(samples, "terms_job_lag_seconds", job_name="renewals") == 57 * 3600
    assert value(samples, "terms_job_lag_seconds", job_name="notices") == 0
    assert value(samples, "terms_job_actions_due", job_name="renewals", status="failed") == 1
    assert value(samples, "terms_job_actions_due", job_name="renewals", status="pending") == 1


def test_metrics_reports_outbox_backlog_and_dead_letters(client, token) -> None:
    with clock.frozen_at(NOW):
        now = clock.now()
        for n, (channel, status, waited) in enumerate(
            [
                ("email", "pending", 600),
                ("email", "failed", 120),
                ("email", "dead", 0),
                ("email", "sent", 0),
                ("webhook", "dead", 0),
                ("webhook", "dead", 0),
                ("webhook", "pending", -60),  # retry scheduled in the future: backlog, not waiting
            ]
        ):
            Outbox.objects.create(
                kind="k",
                channel=channel,
                dedupe_key=f"m{n}",
                status=status,
                next_attempt_at=now - timedelta(seconds=waited),
            )
        samples = scrape(client)
    assert value(samples, "terms_outbox_backlog", channel="email") == 2
    assert value(samples, "terms_outbox_backlog", channel="webhook") == 1
    assert value(samples, "terms_outbox_dead_letters", channel="email") == 1
    assert value(samples, "terms_outbox_dead_letters", channel="webhook") == 2
    assert value(samples, "terms_outbox_oldest_due_seconds", channel="email") == 600
    assert value(samples, "terms_outbox_oldest_due_seconds", channel="webhook") == 0
    assert value(samples, "terms_outbox_messages", channel="email", status="sent") == 1


def test_metrics_reports_ledger_answers_states_and_daily_heads(client, token) -> None:
    version = VersionFactory(label="2025-04")
    first, second = TenantFactory(), TenantFactory()
    with clock.frozen_at(NOW):
        yesterday = NOW - timedelta(days=1)
        early = append_rows(first, version, [yesterday, yesterday + timedelta(hours=1)])
        # Appended today (after 00:00 JST): not yet part of today's daily head.
        append_rows(first, version, [NOW - timedelta(hours=1)])
        (only,) = append_rows(second, version, [yesterday])
        ConsentState.objects.create(
            tenant=first,
            document=version.document,
            version=version,
            status=ConsentStatus.ACCEPTED,
            record=early[0],
        )
        samples = scrape(client)
    slug = version.document.slug
    assert value(samples, "terms_ledger_rows", answer="accepted") == 3
    assert value(samples, "terms_ledger_rows", answer="rejected") == 1
    assert value(samples, "terms_ledger_rows", answer="deemed") == 0
    assert value(samples, "terms_answers", document=slug, version="2025-04", answer="accepted") == 3
    assert (
        value(samples, "terms_consent_states", document=slug, version="2025-04", status="accepted")
        == 1
    )
    # One digest over every head as of 00:00 JST, never a series per tenant.
    lines = f"{first.pk}:2:{early[1].hash}\n{second.pk}:1:{only.hash}\n"
    digests = {
        labels: v
        for (name, labels), v in samples.items()
        if name == "terms_ledger_daily_heads_digest_info"
    }
    assert digests == {
        (("as_of", "2025-04-02"), ("digest", hashlib.sha256(lines.encode()).hexdigest())): 1
    }
    assert value(samples, "terms_ledger_daily_heads_chains") == 2
    assert not [labels for (_name, labels) in samples if "tenant_id" in dict(labels)]
    assert value(samples, "terms_metrics_database_up", group="ledger") == 1


def test_metrics_reports_heartbeat_ages(client, token) -> None:
    with clock.frozen_at(NOW - timedelta(seconds=40)):
        heartbeat_write(name="beat")
    with clock.frozen_at(NOW):
        samples = scrape(client)
    assert value(samples, "terms_heartbeat_age_seconds", name="beat") == 40
    assert value(samples, "terms_heartbeat_max_age_seconds") == 180


def test_database_gauges_take_a_fixed_number_of_queries(django_assert_max_num_queries) -> None:
    version = VersionFactory()
    for tenant in TenantFactory.create_batch(3):
        append_rows(tenant, version, [clock.now() - timedelta(days=2)] * 2)
    with django_assert_max_num_queries(11):  # + backups: their statuses, pg_stat_archiver
        families = list(DatabaseCollector().collect())
    assert "terms_ledger_daily_heads_digest_info" in {family.name for family in families}


def test_alert_rules_use_only_metrics_that_exist(client, token) -> None:
    import re
    from pathlib import Path

    import yaml

    rules_file = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "alerts.yml"
    rules = [
        rule
        for group in yaml.safe_load(rules_file.read_text())["groups"]
        for rule in group["rules"]
    ]
    used = {name for rule in rules for name in re.findall(r"\bterms_[a-z0-9_]+", rule["expr"])}
    # Exported by the backups (docs/operations.md, "Back up"), not by this collector.
    used -= {"terms_backup_last_success_timestamp_seconds"}
    heartbeat_write(name="beat")
    JobRun.objects.create(
        job="notices", business_date=clock.today(), started_at=clock.now(), status="error"
    )
    append_rows(TenantFactory(), VersionFactory(), [clock.now() - timedelta(days=1)])
    backup_succeeded(kind="dump", at=clock.now(), info={})
    exposed = {name for name, _labels in scrape(client)}
    assert used <= exposed, used - exposed
    assert all(rule["annotations"]["runbook"].startswith("docs/operations.md#") for rule in rules)
