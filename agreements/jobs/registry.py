"""The lifecycle jobs' registry; each job is a run for one business date (docs/jobs.md).

Order matters within a day: notices are posted before versions take effect, periods roll before
the next period's renewal notices are planned and before consent reminders look for customers, and delivery comes last so that a day's replay
(`run_lifecycle --today`) also sends what the day queued.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from contextvars import ContextVar
from datetime import date

from django.conf import settings

from agreements.jobs import notice_jobs, service_jobs
from core import clock
from core.jobs import due_jobs_prefetched, job_run
from tenants.delivery.outbox import outbox_deliver_due

logger = logging.getLogger(__name__)

JobFn = Callable[[date], Counter[str] | dict[str, int]]


def _outbox_deliver(today: date) -> Counter[str]:
    # A replay delivers everything; the minute tick bounds its share (see deliver_outbox).
    return outbox_deliver_due(max_seconds=_DELIVERY_BUDGET.get())


_DELIVERY_BUDGET: ContextVar[float | None] = ContextVar("delivery_budget", default=None)

JOBS: dict[str, JobFn] = {
    "notices_post": service_jobs.NOTICES_POST,
    "versions_apply": service_jobs.versions_apply,
    # After versions_apply: deems `unnotified` tenants whose late delivery has run its lead
    # time (R3); the ledger's locked re-check keeps each effect to once.
    "consents_deem_reached": service_jobs.consents_deem_reached,
    # Before the reminders: a contract whose last day was yesterday has ended when they look,
    # so a day run in one pass (a replay, a sandbox advance) reminds no former customer.
    "contracts_roll": service_jobs.CONTRACTS_ROLL,
    "terminations_effect": service_jobs.TERMINATIONS_EFFECT,
    "consent_reminders": notice_jobs.CONSENT_REMINDERS,
    # After consent_reminders: a tenant the weekly reminder reached today is not reminded
    # again by a scheduled one (the 24-hour limit of agreements/services/consents/reminders).
    "scheduled_reminders": service_jobs.SCHEDULED_REMINDERS,
    "renewal_notices": notice_jobs.RENEWAL_NOTICES,
    "r18_flags": service_jobs.R18_FLAGS,
    "deletion_reminders": service_jobs.DELETION_REMINDERS,
    "deletions_order": service_jobs.DELETIONS_ORDER,
    "tenant_redact": service_jobs.TENANT_REDACT,
    "outbox_deliver": _outbox_deliver,
    # After delivery: it records that the day's termination notices went out (R14).
    "termination_notices": service_jobs.TERMINATION_NOTICES,
}


def job_run_one(name: str, today: date, *, record_idle: bool = True) -> dict[str, int]:
    """Run one job for `today` and record its JobRun."""
    counts, _run = job_run(job=name, today=today, work=JOBS[name], record_idle=record_idle)
    return counts


def lifecycle_run_day(
    today: date,
    *,
    only: str | None = None,
    record_idle: bool = True,
    skip: frozenset[str] = frozenset(),
) -> dict[str, dict[str, int]]:
    """Run every job (or `only` one) for `today`; a failing job is recorded and the others run."""
    results: dict[str, dict[str, int]] = {}
    with due_jobs_prefetched(today=today):
        for name in JOBS:
            if (only is not None and name != only) or name in skip:
                continue
            try:
                results[name] = job_run_one(name, today, record_idle=record_idle)
            except Exception as exc:  # recorded in its JobRun; the next job still runs
                results[name] = {"error": 1}
                logger.warning("job %s failed: %s", name, exc)
    return results


# Jobs whose effect is a message to people: the tick runs them from this hour (JST) on, so
# reminders do not arrive at midnight; deadlines themselves never wait (they are days ahead).
PEOPLE_NOTICE_JOBS = frozenset(
    {"consent_reminders", "scheduled_reminders", "renewal_notices", "deletion_reminders"}
)


def notice_hour() -> int:
    return int(getattr(settings, "TERMS_NOTICE_HOUR", 9))


def lifecycle_tick() -> dict[str, int]:
    """Run every registered job for today; each job is idempotent, so a re-ring is harmless.

    Idle runs are not recorded (a row per job per minute would bury the ones that matter).
    """
    totals: dict[str, int] = {}
    early = clock.now().astimezone(clock.TOKYO).hour < notice_hour()
    skip = PEOPLE_NOTICE_JOBS if early else frozenset()
    token = _DELIVERY_BUDGET.set(60.0)
    try:
        results = lifecycle_run_day(clock.today(), record_idle=False, skip=skip)
    finally:
        _DELIVERY_BUDGET.reset(token)
    for name, counts in results.items():
        for key, value in counts.items():
            if value:
                totals[f"{name}.{key}"] = value
    return totals
