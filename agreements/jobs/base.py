"""Three shapes of lifecycle job on top of the engine in core/jobs.py.

`ServiceJob`: the effect is a service that acts on exactly the subjects it is given. The job
plans one action per due subject (the service module's own due query: what is due is decided
once), claims a batch, hands the service the claimed subjects' ids in the same transaction and
marks done the claimed actions whose subject is now settled, so the record and the effect
commit together and `reconcile` can compare them.

`ActionJob`: the job owns the effect (a reminder, a renewal notice): it plans actions with a key
per subject and period and applies a set-based effect to each claimed batch.

`CheckJob`: the effect is made once elsewhere, in another transaction that a conditional UPDATE
already keeps to once (an end flags lost prerequisites; delivery sends a notice). No action is
planned: the job counts what is still owed, for its JobRun, and `reconcile` reports the same.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Exists, Model, OuterRef, Q, QuerySet

from core.jobs import (
    BatchOutcome,
    Planned,
    actions_execute,
    actions_plan,
    batch_size,
    job_may_have_due,
)
from core.models import PlannedAction
from core.outbox import delivery_ring_on_commit


def label_of(model: type[Model]) -> str:
    return model._meta.label_lower


def chunks(queryset: QuerySet[Any], *, size: int) -> Iterator[list[Any]]:
    """Walk a queryset by primary key in chunks: never the whole table in memory."""
    last = 0
    while True:
        chunk = list(queryset.filter(pk__gt=last).order_by("pk")[:size])
        if chunk:
            yield chunk
        if len(chunk) < size:
            return  # a short chunk is the last one: no query to learn that nothing follows
        last = chunk[-1].pk


def not_planned(*, job: str, subject_type: str, **extra: Any) -> Q:
    """Subjects with no planned action of `job` yet (one key per subject for ServiceJobs)."""
    return ~Q(
        Exists(
            PlannedAction.objects.filter(
                job=job, subject_type=subject_type, subject_id=OuterRef("pk"), **extra
            )
        )
    )


@dataclass(frozen=True)
class ServiceJob:
    """A job whose effect is a service acting on exactly the claimed subjects of a model."""

    name: str
    model: type[Model]
    due: Callable[[date], QuerySet[Any]]  # the service's own due query, subjects not acted on
    settled: Callable[[date], Q]  # the service has acted (or the subject no longer needs it)
    # The service, given today and the claimed subjects' ids; it acts on those still due.
    call: Callable[[date, list[int]], dict[str, int]]
    due_on: Callable[[Any], date]
    tenant_id: Callable[[Any], int | None] = lambda subject: getattr(subject, "tenant_id", None)
    # Annotations `settled` refers to (e.g. a computed dedupe key).
    annotate: Callable[[QuerySet[Any]], QuerySet[Any]] = lambda queryset: queryset
    # The effect can make new subjects of this job due (a renewal opens a period that a
    # catch-up has already passed): plan and execute again until nothing new is planned.
    replan: bool = False

    @property
    def subject_type(self) -> str:
        return label_of(self.model)

    def key(self, subject_id: int) -> str:
        return f"{self.name}:{self.model._meta.model_name}:{subject_id}"

    def plan(self, today: date) -> int:
        planned = 0
        queryset = self.due(today).filter(
            not_planned(job=self.name, subject_type=self.subject_type)
        )
        for chunk in chunks(queryset, size=batch_size()):
            planned += actions_plan(
                job=self.name,
                rows=[
                    Planned(
                        key=self.key(subject.pk),
                        subject_type=self.subject_type,
                        subject_id=subject.pk,
                        due_on=self.due_on(subject),
                        tenant_id=self.tenant_id(subject),
                    )
                    for subject in chunk
                ],
            )
        return planned

    def effect(self, actions: list[PlannedAction], today: date) -> BatchOutcome:
        outcome = BatchOutcome()
        ids = [action.subject_id for action in actions]
        for name, value in self.call(today, ids).items():
            outcome.counts[f"service.{name}"] += value
        existing = set(self.model._default_manager.filter(pk__in=ids).values_list("pk", flat=True))
        settled = set(
            self.annotate(self.model._default_manager.filter(pk__in=ids))
            .filter(self.settled(today))
            .values_list("pk", flat=True)
        )
        for action in actions:
            if action.subject_id in settled:
                outcome.done[action.id] = {"outcome": "applied"}
            elif action.subject_id not in existing:
                outcome.done[action.id] = {"outcome": "subject_missing"}
        outcome.counts["not_settled"] += len(actions) - len(outcome.done)
        if outcome.done:
            delivery_ring_on_commit()  # the service queued notices: deliver them after commit
        return outcome

    def __call__(self, today: date) -> Counter[str]:
        counts = _plan_and_execute(self.name, today, self.plan, self.effect)
        rounds = 1
        while self.replan and counts["done"] and rounds < MAX_REPLANS:
            more = _plan_and_execute(self.name, today, self.plan, self.effect, again=True)
            counts.update(more)
            rounds += 1
            if not more["planned"]:
                break
        return counts


# Bounds a catch-up within one run (a monthly contract after years of missed days); the next run
# carries on from where this one stopped.
MAX_REPLANS = 100


def _plan_and_execute(
    name: str,
    today: date,
    plan: Callable[[date], int],
    effect: Callable[[list[PlannedAction], date], BatchOutcome],
    *,
    again: bool = False,
) -> Counter[str]:
    counts: Counter[str] = Counter(planned=plan(today))
    if again and not counts["planned"]:
        return counts  # a second round executes only what it planned
    if counts["planned"] or job_may_have_due(name):
        counts.update(actions_execute(job=name, today=today, effect=effect))
    return counts


@dataclass(frozen=True)
class ActionJob:
    """A job that owns its effect: `plan` inserts keyed actions, `effect` applies a batch.

    `candidates`, where given, yields in chunks the actions `plan` inserts (those current on
    the day): a sandbox run hands them to `effect` without inserting them
    (agreements/jobs/sandbox.py)."""

    name: str
    plan: Callable[[date], int]
    effect: Callable[[list[PlannedAction], date], BatchOutcome]
    candidates: Callable[[date], Iterator[list[Planned]]] | None = None

    def __call__(self, today: date) -> Counter[str]:
        return _plan_and_execute(self.name, today, self.plan, self.effect)


@dataclass(frozen=True)
class CheckJob:
    """A job whose effect another transaction makes once; it counts the subjects still owed."""

    name: str
    model: type[Model]
    owed: Callable[[date], QuerySet[Any]]  # subjects whose effect has not happened (yet)
    label: str  # the count's name in the JobRun

    def __call__(self, today: date) -> Counter[str]:
        return Counter({self.label: self.owed(today).count()})
