"""Compare what is due with what was done and what was sent (`manage.py reconcile`).

Three families of findings, each a count with a few example keys:
- due but not done: planned actions past due and not done, subjects due today that no action
  covers (the plan of every job, run and rolled back), subjects a check job finds still owed
  (a termination notice not delivered, a lost prerequisite not flagged), dead letters;
- done twice: effects recorded more than once (ledger, periods, events of one notice);
- sent but not recorded: delivery attempts that never reported back while their message is
  still unsent, messages marked sent without a successful attempt.
Raw resends (a message delivered more than once, same Message-ID) are reported as information:
e-mail is at least once by design.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q

from agreements.enums import Answer
from agreements.jobs.base import CheckJob
from agreements.jobs.registry import JOBS
from agreements.models import ConsentRecord, ContractPeriod
from core import clock
from core.enums import ActionStatus, OutboxStatus
from core.models import Delivery, Event, Outbox, PlannedAction
from tenants.models import Tenant
from tenants.partition import partner_ids_q

EXAMPLES = 5


@dataclass
class Finding:
    family: str  # "due_not_done" | "done_twice" | "sent_not_recorded" | "info"
    name: str
    count: int
    examples: list[str] = field(default_factory=list)

    @property
    def is_problem(self) -> bool:
        return self.family != "info" and self.count > 0


def _finding(family: str, name: str, rows: list[str], count: int | None = None) -> Finding:
    return Finding(
        family=family,
        name=name,
        count=len(rows) if count is None else count,
        examples=[str(r) for r in rows[:EXAMPLES]],
    )


def _planned_not_done(today: date) -> Finding:
    qs = PlannedAction.objects.filter(due_on__lte=today).exclude(status=ActionStatus.DONE)
    keys = list(qs.order_by("due_on", "id").values_list("key", flat=True)[:EXAMPLES])
    return _finding("due_not_done", "planned_actions_not_done", keys, qs.count())


def _unplanned(today: date) -> list[Finding]:
    """Run each job's plan inside a transaction that is rolled back: what it would add is due
    but uncovered (the tick has not run since, or a job is failing before it plans)."""
    findings = []
    for name, job in JOBS.items():
        plan = getattr(job, "plan", None)
        if plan is None:
            continue
        with transaction.atomic():
            count = plan(today)
            transaction.set_rollback(True)
        findings.append(_finding("due_not_done", f"unplanned.{name}", [], count))
    return findings


def _owed(today: date) -> list[Finding]:
    """Jobs without planned actions (CheckJob): the subjects whose effect has not happened."""
    findings = []
    for name, job in JOBS.items():
        if not isinstance(job, CheckJob):
            continue
        owed = job.owed(today)
        label = job.model._meta.model_name
        examples = [
            f"{label} {pk}" for pk in owed.order_by("pk").values_list("pk", flat=True)[:EXAMPLES]
        ]
        findings.append(_finding("due_not_done", f"owed.{name}", examples, owed.count()))
    return findings


def _live_outbox(prefix: str = "") -> Q:
    """Messages (reached through `prefix`) of live data: `reconcile` describes live data only
    (docs/api.md, "Sandbox"). A sandbox's messages are due by its own clock, so in real time
    they would read as overdue, and its attempts as interrupted."""
    sandbox_tenants = Tenant.objects.filter(partner__sandbox_of__isnull=False).values("pk")
    return partner_ids_q(f"{prefix}partner_id") & ~Q(**{f"{prefix}tenant_id__in": sandbox_tenants})


def _dead_letters() -> Finding:
    qs = Outbox.objects.filter(_live_outbox(), status=OutboxStatus.DEAD)
    keys = list(qs.order_by("id").values_list("dedupe_key", flat=True)[:EXAMPLES])
    return _finding("due_not_done", "outbox_dead_letters", keys, qs.count())


def _overdue_outbox() -> Finding:
    # Pending for more than an hour past its time: no worker is delivering.
    cutoff = clock.now() - timedelta(hours=1)
    qs = Outbox.objects.filter(
        _live_outbox(),
        status__in=[OutboxStatus.PENDING, OutboxStatus.FAILED],
        next_attempt_at__lt=cutoff,
    )
    keys = list(qs.order_by("id").values_list("dedupe_key", flat=True)[:EXAMPLES])
    return _finding("due_not_done", "outbox_overdue", keys, qs.count())


def _deemed_twice() -> Finding:
    rows = list(
        ConsentRecord.objects.filter(answer=Answer.DEEMED)
        .values("tenant_id", "version_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values_list("tenant_id", "version_id", "n")
    )
    return _finding(
        "done_twice", "ledger_deemed_twice", [f"tenant {t} version {v}: {n}" for t, v, n in rows]
    )


def _periods_twice() -> Finding:
    rows = list(
        ContractPeriod.objects.values("contract_id", "start_date")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values_list("contract_id", "start_date", "n")
    )
    return _finding(
        "done_twice", "periods_started_twice", [f"contract {c} {s}: {n}" for c, s, n in rows]
    )


def _notice_events_twice() -> Finding:
    # Job notices carry their planned action's key; one key, one event.
    rows = list(
        Event.objects.filter(payload__has_key="notice_key")
        .values("kind", "tenant_id", "payload__notice_key")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values_list("kind", "payload__notice_key", "n")
    )
    return _finding("done_twice", "notice_events_twice", [f"{k} {key}: {n}" for k, key, n in rows])


def _interrupted_attempts() -> Finding:
    lease = timedelta(seconds=int(settings.TERMS_JOB_LEASE_SECONDS))
    qs = Delivery.objects.filter(
        _live_outbox("outbox__"),
        succeeded=False,
        error="",
        duration_ms__isnull=True,
        attempted_at__lt=clock.now() - lease,
    ).exclude(outbox__status=OutboxStatus.SENT)
    keys = list(qs.order_by("id").values_list("outbox__dedupe_key", flat=True)[:EXAMPLES])
    return _finding("sent_not_recorded", "attempts_unreported_unsent", keys, qs.count())


def _sent_without_evidence() -> Finding:
    qs = Outbox.objects.filter(_live_outbox(), status=OutboxStatus.SENT).exclude(
        Q(deliveries__succeeded=True)
    )
    keys = list(qs.order_by("id").values_list("dedupe_key", flat=True)[:EXAMPLES])
    return _finding("sent_not_recorded", "sent_without_successful_attempt", keys, qs.count())


def _resends() -> Finding:
    rows = list(
        Delivery.objects.filter(_live_outbox("outbox__"))
        .filter(Q(succeeded=True) | Q(error="", duration_ms__isnull=True))
        .values("outbox_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values_list("outbox_id", "n")
    )
    extra = sum(n - 1 for _outbox, n in rows)
    return _finding("info", "possible_raw_resends", [f"outbox {o}: {n}" for o, n in rows], extra)


def reconcile(*, today: date | None = None) -> list[Finding]:
    """Every check, in a fixed order; `Finding.is_problem` says which ones count."""
    today = today or clock.today()
    findings = [_planned_not_done(today), *_unplanned(today), *_owed(today)]
    findings += [_dead_letters(), _overdue_outbox()]
    findings += [_deemed_twice(), _periods_twice(), _notice_events_twice()]
    findings += [_interrupted_attempts(), _sent_without_evidence(), _resends()]
    return findings
