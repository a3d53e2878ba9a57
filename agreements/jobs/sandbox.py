"""A sandbox's lifecycle: the same jobs as live, for one sandbox, on its clock (docs/api.md,
"Sandbox").

Moving a sandbox's clock runs, for each business day passed, the lifecycle jobs in the
registry's order (notices posted, versions taking effect with their deemed / outstanding
consents, consent reminders, renewals and ends, terminations, renewal notices, staff deletion
reminders, deletion orders, redaction) inside `core.sandbox.acting_for`: every due query keeps
to the sandbox's tenants and products (tenants.partition) and the clock reads the sandbox's
instant. Each job hands its service (or its notice effect) the due subjects directly, without
planned-action rows or job runs: a sandbox's effects are evidence of nothing and stay out of
the live jobs' records and `reconcile`. A notice job's record is then the event each notice
writes (its `notice_key`), which keeps every reminder and renewal notice to once. E-mails
about a sandbox's tenants, to them or to staff, are logged and never sent; the outbox delivers
the sandbox's webhooks as in production. Not simulated: reminders a publisher schedules in the
console (a sandbox has no console) and the hourly housekeeping.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Min
from django.utils.translation import gettext as _

from agreements.jobs import notice_jobs, service_jobs
from agreements.jobs.base import ActionJob, ServiceJob
from agreements.models import TermsVersion
from agreements.services.consents.effective import deemed_after_late_delivery
from agreements.services.sandbox import sandbox_of, sandbox_revision_schedule
from agreements.services.versions.effective import versions_consents_settle
from core import clock, sandbox
from core.enums import OutboxStatus
from core.errors import Conflict, ValidationFailed
from core.models import Event, Outbox
from tenants.delivery.outbox import outbox_deliver_due
from tenants.models import Partner
from tenants.scope import Scope

# One day's step of a sandbox run: (sandbox partner id, day) → its counts.
Step = Callable[[int, date], Mapping[str, int]]
# Advancing further than this in one call is refused (a day's run is a few dozen queries).
MAX_DAYS = 3 * 366
ROUNDS = 100  # a catch-up that renews into periods already over (as ServiceJob.replan)
# An advance's deliveries: at most this many sandbox instants (each the next attempt due),
# and this long in real time.
DELIVERY_ROUNDS = 200
DELIVERY_SECONDS = 30.0


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


def _run_notices(job: ActionJob, partner_id: int, today: date) -> Counter[str]:
    """A notice job's notices current on `today`, handed to its effect without planned
    actions. A notice already told (an event of the sandbox's with its `notice_key`) is not
    told again: each slot's reminder or renewal notice goes out once, as live."""
    assert job.candidates is not None  # noqa: S101 -- every notice job of SANDBOX_STEPS has them
    counts: Counter[str] = Counter()
    for rows in job.candidates(today):
        told = set(
            Event.objects.filter(
                partner_id=partner_id, payload__notice_key__in=[row.key for row in rows]
            ).values_list("payload__notice_key", flat=True)
        )
        fresh = [row for row in rows if row.key not in told]
        if not fresh:
            continue
        # Unsaved: the effect reads an action's id (its outcome's key), key and subject only.
        actions = [row.action(job.name, pk=number) for number, row in enumerate(fresh, start=1)]
        with transaction.atomic():
            counts.update(job.effect(actions, today).counts)
    return counts


def _consents_settle(partner_id: int, day: date) -> Counter[str]:
    # After the versions' status change has committed, as versions_apply does live.
    counts = Counter(versions_consents_settle(today=day))
    counts.update(deemed_after_late_delivery(today=day))
    return counts


def _service(job: ServiceJob) -> tuple[str, Step]:
    return job.name, lambda partner_id, day: _run_job(job, day)


def _notices(job: ActionJob) -> tuple[str, Step]:
    return job.name, lambda partner_id, day: _run_notices(job, partner_id, day)


# In the registry's order (agreements/jobs/registry.py).
SANDBOX_STEPS: tuple[tuple[str, Step], ...] = (
    _service(service_jobs.NOTICES_POST),
    _service(service_jobs.VERSIONS_APPLY),
    ("consents", _consents_settle),
    _notices(notice_jobs.CONSENT_REMINDERS),
    _service(service_jobs.CONTRACTS_ROLL),
    _service(service_jobs.TERMINATIONS_EFFECT),
    _notices(notice_jobs.RENEWAL_NOTICES),
    _service(service_jobs.DELETION_REMINDERS),
    _service(service_jobs.DELETIONS_ORDER),
    _service(service_jobs.TENANT_REDACT),
)


def sandbox_run_day(partner_id: int, day: date) -> Counter[str]:
    """Run the sandbox jobs of `partner_id` for `day`, at 09:00 JST that day."""
    counts: Counter[str] = Counter()
    with sandbox.acting_for(partner_id, clock.start_of_day(day) + timedelta(hours=9)):
        for name, step in SANDBOX_STEPS:
            for key, value in step(partner_id, day).items():
                counts[f"{name}.{key}"] += value
    return counts


def sandbox_deliver(partner: Partner, *, since: datetime | None = None) -> Counter[str]:
    """Deliver the sandbox's webhooks (and log its e-mails) due by its clock, after the run
    has committed, each attempt at the sandbox instant it falls due from `since` (the clock
    before an advance) on: a message queued on a day of the run goes out on that day, and a
    failed one is tried again one backoff later on the sandbox's clock, within the same
    advance, for as long as its next attempt falls before the clock — not once per advance.
    Bounded: DELIVERY_ROUNDS instants and DELIVERY_SECONDS of real time; what is left is
    delivered by the next advance (or the live worker: due by the sandbox's clock)."""
    until = partner.sandbox_now or clock.now()
    at = min(since or until, until)
    counts: Counter[str] = Counter()
    started = time.monotonic()
    for _round in range(DELIVERY_ROUNDS):
        due = Outbox.objects.filter(
            partner_id=partner.pk,
            status__in=[OutboxStatus.PENDING, OutboxStatus.FAILED],
            next_attempt_at__lte=until,
        ).aggregate(first=Min("next_attempt_at"))["first"]
        if due is None:
            break
        at = max(at, due)  # never before an attempt already made in this advance
        left = DELIVERY_SECONDS - (time.monotonic() - started)
        with sandbox.acting_for(partner.pk, at):
            delivered = outbox_deliver_due(max_seconds=max(left, 0.0))
        counts.update(delivered)
        if not delivered or time.monotonic() - started > DELIVERY_SECONDS:
            break  # nothing deliverable (leased elsewhere), or out of time
    return counts


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
    delivered = sandbox_deliver(partner, since=current)
    counts.update({f"delivery.{k}": v for k, v in delivered.items()})
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
