"""A sandbox's lifecycle: the same jobs as live, for one sandbox, on its clock (docs/api.md,
"Sandbox").

Moving a sandbox's clock runs, for each business day passed, the jobs that change what
partners see (notices posted, versions taking effect with their deemed / outstanding
consents, renewals and ends, terminations, deletion orders, redaction) inside
`core.sandbox.acting_for`: every due query keeps to the sandbox's tenants and products
(tenants.partition) and the clock reads the sandbox's instant. Each job hands its service the
due subjects directly, without planned-action rows or job runs: a sandbox's effects are
evidence of nothing and stay out of the live jobs' records and `reconcile`. Reminders and
renewal notices (messages to people) and staff reminders are not simulated. The outbox then
delivers the sandbox's webhooks as in production.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils.translation import gettext as _

from agreements.jobs import service_jobs
from agreements.jobs.base import ServiceJob
from agreements.models import TermsVersion
from agreements.services.consents.effective import deemed_after_late_delivery
from agreements.services.sandbox import sandbox_of, sandbox_revision_schedule
from agreements.services.versions.effective import versions_consents_settle
from core import clock, sandbox
from core.errors import Conflict, ValidationFailed
from tenants.delivery.outbox import outbox_deliver_due
from tenants.models import Partner
from tenants.scope import Scope

# In the registry's order (agreements/jobs/registry.py).
SANDBOX_JOBS: tuple[ServiceJob, ...] = (
    service_jobs.NOTICES_POST,
    service_jobs.VERSIONS_APPLY,
    service_jobs.CONTRACTS_ROLL,
    service_jobs.TERMINATIONS_EFFECT,
    service_jobs.DELETIONS_ORDER,
    service_jobs.TENANT_REDACT,
)
# Advancing further than this in one call is refused (a day's run is a few dozen queries).
MAX_DAYS = 3 * 366
ROUNDS = 100  # a catch-up that renews into periods already over (as ServiceJob.replan)


def _run_job(job: ServiceJob, today: date) -> Counter[str]:
    counts: Counter[str] = Counter()
    for _round in range(ROUNDS):
        ids = list(job.due(today).order_by("pk").values_list("pk", flat=True))
        if not ids:
            break
        with transaction.atomic():
            counts.update(job.call(today, ids))
        if not job.replan:
            break
    return counts


def sandbox_run_day(partner_id: int, day: date) -> Counter[str]:
    """Run the sandbox jobs of `partner_id` for `day`, at 09:00 JST that day."""
    counts: Counter[str] = Counter()
    with sandbox.acting_for(partner_id, clock.start_of_day(day) + timedelta(hours=9)):
        for job in SANDBOX_JOBS:
            for name, value in _run_job(job, day).items():
                counts[f"{job.name}.{name}"] += value
            if job is service_jobs.VERSIONS_APPLY:
                for name, value in versions_consents_settle(today=day).items():
                    counts[f"consents.{name}"] += value
                for name, value in deemed_after_late_delivery(today=day).items():
                    counts[f"consents.{name}"] += value
    return counts


def sandbox_deliver(partner: Partner) -> Counter[str]:
    """Deliver the sandbox's due webhooks by its clock (after the run has committed)."""
    with sandbox.acting_for(partner.pk, partner.sandbox_now or clock.now()):
        return outbox_deliver_due(max_seconds=30.0)


def sandbox_advance(*, scope: Scope, to: datetime) -> tuple[Partner, dict[str, int]]:
    """Move the caller's sandbox clock forward to `to` and run each business day passed.

    The sandbox row is locked for the whole run: a second advance at the same time waits,
    then finds the clock already there (moving to the same instant again runs nothing). An
    instant before the sandbox's clock is refused (`sandbox_clock_backwards`)."""
    with transaction.atomic():
        partner = sandbox_of(scope, lock=True)
        current = partner.sandbox_now or clock.now()
        if to < current:
            raise Conflict(
                _("サンドボックスの時刻は戻せません（現在 %(now)s）。")
                % {"now": clock.api_instant(current)},
                code="sandbox_clock_backwards",
                sandbox_now=clock.api_instant(current),
            )
        first, last = clock.business_date(current), clock.business_date(to)
        if (last - first).days > MAX_DAYS:
            raise ValidationFailed(
                _("一度に進められるのは%(days)s日までです。") % {"days": MAX_DAYS},
                code="sandbox_advance_too_far",
            )
        counts: Counter[str] = Counter()
        day = first + timedelta(days=1)
        while day <= last:
            counts.update(sandbox_run_day(partner.pk, day))
            day += timedelta(days=1)
        partner.sandbox_now = to
        partner.save(update_fields=["sandbox_now", "updated_at"])
    counts.update({f"delivery.{k}": v for k, v in sandbox_deliver(partner).items()})
    return partner, dict(counts)


def sandbox_revision_post(
    *, scope: Scope, product_code: str, effective_on: date, consent_mode: str
) -> TermsVersion:
    """Schedule a simulated revision noticed on the sandbox's today and post it at once (the
    day's notice job, as live), then deliver its webhooks."""
    with transaction.atomic():
        partner = sandbox_of(scope, lock=True)
        version = sandbox_revision_schedule(
            scope=scope,
            product_code=product_code,
            effective_on=effective_on,
            consent_mode=consent_mode,
        )
        with sandbox.acting_for(partner.pk, clock.now()):
            _run_job(service_jobs.NOTICES_POST, clock.today())
    sandbox_deliver(partner)
    version.refresh_from_db()
    return version
