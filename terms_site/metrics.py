"""/metrics in the Prometheus text format, behind a bearer token (TERMS_METRICS_TOKEN) that is
accepted over HTTPS only outside debug (terms_site.ops_token).

Three sources:
- request counts and latencies per route, counted by django-prometheus' middleware in each
  web process (summed over gunicorn workers in multiprocess mode, see deploy/gunicorn.conf.py);
- the process metrics (`process_*`) of this web instance: in multiprocess mode those of the
  gunicorn master, the one process that lives as long as the instance (workers are recycled);
- the service's state, read from PostgreSQL at scrape time by DatabaseCollector with a few
  aggregate queries: jobs (runs, durations, lag), the outbox (backlog, dead letters), the
  ledger (rows, answers per version, a digest of the daily chain heads), consent states and
  heartbeats. Nothing is counted per request for these, so every web process reports the same
  values.

No label carries a tenant: the number of series must not grow with the number of customers
(each series costs Prometheus memory on every scrape). Per-tenant views and top-N lists are
the console's job.

docs/operations.md lists every metric and the alert it feeds.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Max, Min, Q, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, HttpResponseNotFound
from django.views.decorators.cache import never_cache
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, SummaryMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from agreements.ledger.heads import daily_heads
from agreements.models import ConsentRecord, ConsentState
from core import clock
from core.models import Heartbeat, JobRun, Outbox, PlannedAction
from terms_site.backup_metrics import backup_families
from terms_site.ops_token import OpsAccess, ops_access

logger = logging.getLogger(__name__)

# Job runs are summarised over this window: long enough to cover a daily job, short enough
# that the scrape never aggregates the whole history.
JOB_WINDOW = timedelta(hours=24)
UNDONE = ("pending", "running", "failed")


def _seconds(value: timedelta) -> float:
    return max(0.0, value.total_seconds())


class DatabaseCollector(Collector):
    """Gauges computed from the database when Prometheus scrapes (not per request)."""

    def collect(self) -> Iterator[Any]:
        started = time.monotonic()
        up = GaugeMetricFamily(
            "terms_metrics_database_up",
            "1 when this group of database gauges was computed on this scrape",
            labels=["group"],
        )
        sections = (
            ("jobs", self._jobs),
            ("outbox", self._outbox),
            ("ledger", self._ledger),
            ("heartbeats", self._heartbeats),
            ("backups", backup_families),
        )
        for group, section in sections:
            # A failing group must say so, not take the other groups or /metrics down.
            try:
                families = list(section())
            except Exception:
                logger.exception("metrics.collect_failed", extra={"group": group})
                up.add_metric([group], 0)
                continue
            up.add_metric([group], 1)
            yield from families
        yield up
        took = GaugeMetricFamily(
            "terms_metrics_collect_duration_seconds", "Time spent computing the database gauges"
        )
        took.add_metric([], time.monotonic() - started)
        yield took

    # --- jobs ----------------------------------------------------------------------------
    def _jobs(self) -> Iterator[Any]:

        now = clock.now()
        # The window is part of the name and the unit comes last (Prometheus naming). The
        # lifecycle job is `job_name`: `job` (and `instance`) belong to the scrape target, and
        # Prometheus would rename a scraped `job` to `exported_job`.
        runs = GaugeMetricFamily(
            "terms_job_runs_last_24h",
            "Job runs started in the last 24 hours",
            labels=["job_name", "status"],
        )
        durations = SummaryMetricFamily(
            "terms_job_run_duration_last_24h_seconds",
            "Durations of job runs finished in the last 24 hours",
            labels=["job_name"],
        )
        longest = GaugeMetricFamily(
            "terms_job_run_duration_max_last_24h_seconds",
            "Longest job run finished in the last 24 hours",
            labels=["job_name"],
        )
        last_ok = GaugeMetricFamily(
            "terms_job_last_success_timestamp_seconds",
            "When the job last finished without error (within the last 24 hours)",
            labels=["job_name"],
        )
        per_job: dict[str, dict[str, float]] = {}
        rows = (
            JobRun.objects.filter(started_at__gte=now - JOB_WINDOW)
            .values("job", "status")
            .annotate(
                n=Count("id"),
                finished=Count("id", filter=Q(finished_at__isnull=False)),
                total_ms=Sum("duration_ms"),
                max_ms=Max("duration_ms"),
                last=Max("finished_at"),
            )
            .order_by("job", "status")
        )
        for row in rows:
            runs.add_metric([row["job"], row["status"]], row["n"])
            agg = per_job.setdefault(row["job"], {"count": 0, "sum": 0.0, "max": 0.0})
            agg["count"] += row["finished"]
            agg["sum"] += (row["total_ms"] or 0) / 1000
            agg["max"] = max(agg["max"], (row["max_ms"] or 0) / 1000)
            if row["status"] == "ok" and row["last"] is not None:
                last_ok.add_metric([row["job"]], row["last"].timestamp())
        for job, agg in sorted(per_job.items()):
            durations.add_metric([job], count_value=agg["count"], sum_value=agg["sum"])
            longest.add_metric([job], agg["max"])

        # Lag: how long the oldest due-but-undone action of each job has been due. Its due
        # date starts at 00:00 JST; a healthy job keeps this under a few minutes.
        lag = GaugeMetricFamily(
            "terms_job_lag_seconds",
            "Age of the oldest due planned action not yet done, per job (0 when none)",
            labels=["job_name"],
        )
        due = GaugeMetricFamily(
            "terms_job_actions_due",
            "Planned actions due today or earlier and not done, per job and status",
            labels=["job_name", "status"],
        )
        oldest: dict[str, Any] = {}
        for row in (
            PlannedAction.objects.filter(status__in=UNDONE, due_on__lte=clock.today())
            .values("job", "status")
            .annotate(n=Count("id"), oldest=Min("due_on"))
            .order_by("job", "status")
        ):
            due.add_metric([row["job"], row["status"]], row["n"])
            current = oldest.get(row["job"])
            oldest[row["job"]] = row["oldest"] if current is None else min(current, row["oldest"])
        for job in sorted(set(oldest) | set(per_job) | set(_registered_jobs())):
            age = _seconds(now - clock.start_of_day(oldest[job])) if job in oldest else 0.0
            lag.add_metric([job], age)
        yield from (runs, durations, longest, last_ok, lag, due)

    # --- outbox --------------------------------------------------------------------------
    def _outbox(self) -> Iterator[Any]:

        now = clock.now()
        messages = GaugeMetricFamily(
            "terms_outbox_messages",
            "Outbox messages by channel and status",
            labels=["channel", "status"],
        )
        backlog = GaugeMetricFamily(
            "terms_outbox_backlog",
            "Messages waiting to be delivered (pending or retrying)",
            labels=["channel"],
        )
        dead = GaugeMetricFamily(
            "terms_outbox_dead_letters",
            "Messages given up after TERMS_OUTBOX_MAX_ATTEMPTS",
            labels=["channel"],
        )
        oldest = GaugeMetricFamily(
            "terms_outbox_oldest_due_seconds",
            "How long the oldest due, undelivered message has waited",
            labels=["channel"],
        )
        totals: dict[tuple[str, str], int] = {}
        for row in Outbox.objects.values("channel", "status").annotate(n=Count("id")):
            totals[(row["channel"], row["status"])] = row["n"]
        channels = sorted({channel for channel, _ in totals} | {"email", "webhook"})
        for (channel, status), n in sorted(totals.items()):
            messages.add_metric([channel, status], n)
        for channel in channels:
            backlog.add_metric(
                [channel], totals.get((channel, "pending"), 0) + totals.get((channel, "failed"), 0)
            )
            dead.add_metric([channel], totals.get((channel, "dead"), 0))
        waiting = dict(
            Outbox.objects.filter(status__in=("pending", "failed"), next_attempt_at__lte=now)
            .values("channel")
            .annotate(first=Min("next_attempt_at"))
            .values_list("channel", "first")
        )
        for channel in channels:
            first = waiting.get(channel)
            oldest.add_metric([channel], _seconds(now - first) if first else 0.0)
        yield from (messages, backlog, dead, oldest)

    # --- ledger --------------------------------------------------------------------------
    def _ledger(self) -> Iterator[Any]:

        rows = GaugeMetricFamily(
            "terms_ledger_rows", "Consent ledger rows by answer", labels=["answer"]
        )
        answers = GaugeMetricFamily(
            "terms_answers",
            "Ledger rows per terms version and answer",
            labels=["document", "version", "answer"],
        )
        per_answer: dict[str, int] = {}
        for row in (
            ConsentRecord.objects.values("version__document__slug", "version__label", "answer")
            .annotate(n=Count("id"))
            .order_by("version__document__slug", "version__label", "answer")
        ):
            answers.add_metric(
                [row["version__document__slug"], row["version__label"], row["answer"]], row["n"]
            )
            per_answer[row["answer"]] = per_answer.get(row["answer"], 0) + row["n"]
        for answer in sorted(set(per_answer) | {"accepted", "rejected", "deemed"}):
            rows.add_metric([answer], per_answer.get(answer, 0))

        states = GaugeMetricFamily(
            "terms_consent_states",
            "Tenants per terms version and consent status (the current projection)",
            labels=["document", "version", "status"],
        )
        for row in (
            ConsentState.objects.values("version__document__slug", "version__label", "status")
            .annotate(n=Count("id"))
            .order_by("version__document__slug", "version__label", "status")
        ):
            states.add_metric(
                [row["version__document__slug"], row["version__label"], row["status"]], row["n"]
            )

        # Heads as of 00:00 JST today are fixed for the day. One digest over all of them, not a
        # series per tenant: a second digest for the same day means some chain was rewritten,
        # and `manage.py ledger_heads --check` (or the daily log lines) names the tenant.
        heads = daily_heads()
        digest = hashlib.sha256(
            "".join(f"{h.tenant_id}:{h.seq}:{h.hash}\n" for h in heads).encode()
        ).hexdigest()
        digest_info = GaugeMetricFamily(
            "terms_ledger_daily_heads_digest_info",
            "SHA-256 over every tenant's chain head as of 00:00 JST (value 1)",
            labels=["as_of", "digest"],
        )
        digest_info.add_metric([clock.today().isoformat(), digest], 1)
        chains = GaugeMetricFamily(
            "terms_ledger_daily_heads_chains", "Tenants with a ledger chain as of 00:00 JST"
        )
        chains.add_metric([], len(heads))
        yield from (rows, answers, states, digest_info, chains)

    # --- heartbeats ----------------------------------------------------------------------
    def _heartbeats(self) -> Iterator[Any]:

        now = clock.now()
        age = GaugeMetricFamily(
            "terms_heartbeat_age_seconds",
            "Seconds since beat / worker last wrote a heartbeat",
            labels=["name"],
        )
        for name, beat_at in Heartbeat.objects.order_by("name").values_list("name", "beat_at"):
            age.add_metric([name], _seconds(now - beat_at))
        limit = GaugeMetricFamily(
            "terms_heartbeat_max_age_seconds", "/readyz fails beyond this heartbeat age"
        )
        limit.add_metric([], settings.TERMS_HEARTBEAT_MAX_AGE_SECONDS)
        yield from (age, limit)


def _registered_jobs() -> list[str]:
    """Names of the lifecycle jobs, so a job with nothing due still reports a lag of 0."""
    try:
        from agreements.jobs import JOBS  # noqa: PLC0415 -- the web process may not load it
    except Exception:  # a broken registry must not hide the other job gauges
        logger.warning("metrics.jobs_registry_unavailable", exc_info=True)
        return []
    return list(JOBS)


def _process_registry() -> CollectorRegistry:
    """Request metrics and process metrics of this web instance.

    Under gunicorn (PROMETHEUS_MULTIPROC_DIR set) the request metrics are the sum of every
    worker's files, and prometheus_client collects no process metrics in that mode: a worker's
    own CPU and memory would describe whichever worker happened to answer the scrape. The
    master does describe the instance (its start time is the instance's, workers come and go
    with max_requests), so its `process_*` are exported, read from /proc by its pid.
    """
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY  # one process: the default registry has process_* and python_*
    from prometheus_client import multiprocess  # noqa: PLC0415 -- gunicorn only

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    master = os.getppid()  # a gunicorn worker's parent is the master
    ProcessCollector(pid=lambda: master, registry=registry)
    PlatformCollector(registry=registry)
    return registry


def render_metrics() -> bytes:
    """The exposition text: request and process metrics + database gauges."""
    database_registry = CollectorRegistry(auto_describe=False)
    database_registry.register(DatabaseCollector())
    return generate_latest(_process_registry()) + generate_latest(database_registry)


@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    """404 while no token is configured (the endpoint does not exist), 403 for a wrong one, or
    for any token over plain HTTP outside debug (terms_site.ops_token)."""
    access = ops_access(request)
    if access is OpsAccess.CLOSED:
        return HttpResponseNotFound(b"", content_type="text/plain")
    if access is OpsAccess.INSECURE:
        return HttpResponseForbidden(b"https required\n", content_type="text/plain")
    if access is not OpsAccess.GRANTED:
        return HttpResponseForbidden(b"", content_type="text/plain")
    return HttpResponse(render_metrics(), content_type=CONTENT_TYPE_LATEST)
