"""The job engine: planned actions and job runs (docs/jobs.md).

The broker is a doorbell, PostgreSQL the ledger. Every effect a job must cause exactly once is a
`PlannedAction` row whose `key` names the subject and the period ("renewal_notice:period:12:60").
Rows are inserted with do-nothing-on-conflict, so planning twice plans nothing new; a worker claims
a batch with `FOR UPDATE SKIP LOCKED` (two workers never get the same row and never wait on each
other) inside the transaction that also applies the effect and marks the rows done. A crash rolls
the whole batch back, so the rows are simply due again at the next tick: no effect without its
record, no record without its effect.

SQLite (the embedded `make run` mode) has no SKIP LOCKED; there the claim is a conditional UPDATE
inside an IMMEDIATE transaction, which SQLite serialises anyway (`_claim_ids`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q

from core import clock
from core.enums import ActionStatus, JobRunStatus
from core.models import JobRun, PlannedAction

logger = logging.getLogger(__name__)

# A failing action is retried at later ticks this many times before it waits for staff.
MAX_ACTION_ATTEMPTS = 5


@dataclass(frozen=True)
class Planned:
    """One effect to plan: `key` must be unique per subject and period."""

    key: str
    subject_type: str
    subject_id: int
    due_on: date
    tenant_id: int | None = None

    def action(self, job: str, *, pk: int | None = None) -> PlannedAction:
        """The planned-action row of this effect for `job`, unsaved (`pk` numbers a row that
        is never saved: a sandbox run hands its effect the actions directly)."""
        return PlannedAction(
            id=pk,
            job=job,
            key=self.key,
            subject_type=self.subject_type,
            subject_id=self.subject_id,
            tenant_id=self.tenant_id,
            due_on=self.due_on,
        )


@dataclass
class BatchOutcome:
    """What a job's effect did with a claimed batch.

    `done` maps an action id to its result (stored on the row); ids left out of `done` are
    released back to `pending` (the subject was not ready; the next tick looks again).
    """

    done: dict[int, dict[str, Any]] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def lease_seconds() -> int:
    return int(settings.TERMS_JOB_LEASE_SECONDS)


def batch_size() -> int:
    return int(settings.TERMS_JOB_BATCH_SIZE)


# --- planning -----------------------------------------------------------------------------


def actions_plan(*, job: str, rows: Iterable[Planned]) -> int:
    """Insert planned actions, ignoring keys that exist; returns how many were new.

    Two queries per call whatever the number of rows: one to learn which keys exist (only to
    count), one INSERT ... ON CONFLICT DO NOTHING, which is what makes a concurrent plan safe.
    """
    rows = list(rows)
    if not rows:
        return 0
    keys = [row.key for row in rows]
    existing = set(PlannedAction.objects.filter(key__in=keys).values_list("key", flat=True))
    fresh = [row for row in rows if row.key not in existing]
    if not fresh:
        return 0
    PlannedAction.objects.bulk_create([row.action(job) for row in fresh], ignore_conflicts=True)
    return len(fresh)


# --- claiming -----------------------------------------------------------------------------


def skip_locked_supported() -> bool:
    return bool(connection.features.has_select_for_update_skip_locked)


def _claimable(*, job: str, today: date) -> Q:
    now = clock.now()
    return Q(job=job, due_on__lte=today) & (
        Q(status=ActionStatus.PENDING)
        # A failed action waits out its backoff (kept in lease_until) before the next try.
        | Q(status=ActionStatus.FAILED, attempts__lt=MAX_ACTION_ATTEMPTS, lease_until__lt=now)
        # A claim whose holder died without rolling back (only possible when a claim is
        # committed before its effect) is due again once its lease has run out.
        | Q(status=ActionStatus.RUNNING, lease_until__lt=now)
    )


def _claim_ids(*, job: str, today: date, limit: int, token: str) -> list[int]:
    """Mark up to `limit` due actions of `job` as ours; PostgreSQL skips rows others hold."""
    now = clock.now()
    claimable = _claimable(job=job, today=today)
    updates = {
        "status": ActionStatus.RUNNING,
        "claimed_by": token,
        "lease_until": now + timedelta(seconds=lease_seconds()),
        "attempts": F("attempts") + 1,
    }
    if skip_locked_supported():
        ids = list(
            PlannedAction.objects.select_for_update(skip_locked=True)
            .filter(claimable)
            .order_by("due_on", "id")
            .values_list("id", flat=True)[:limit]
        )
        if ids:
            PlannedAction.objects.filter(id__in=ids).update(**updates)
        return ids
    # Portable path: transactions are IMMEDIATE on SQLite (settings), so this block holds the
    # database's write lock and nobody can claim between the SELECT and the UPDATE; the filter
    # is repeated in the UPDATE anyway.
    ids = list(
        PlannedAction.objects.filter(claimable)
        .order_by("due_on", "id")
        .values_list("id", flat=True)[:limit]
    )
    if ids:
        PlannedAction.objects.filter(claimable, id__in=ids).update(**updates)
    return ids


# Jobs that had claimable actions when the current run of all jobs began (None: unknown).
# One query for a whole lifecycle day instead of one per job; a job that plans something
# executes regardless, and a job absent from the set had nothing left over from before.
_due_at_start: ContextVar[frozenset[str] | None] = ContextVar("due_at_start", default=None)


@contextlib.contextmanager
def due_jobs_prefetched(*, today: date) -> Iterator[frozenset[str]]:
    """Within the block, `job_may_have_due` answers from one query made at its start."""
    now = clock.now()
    due = frozenset(
        PlannedAction.objects.filter(due_on__lte=today)
        .filter(
            Q(status=ActionStatus.PENDING)
            | Q(status=ActionStatus.FAILED, attempts__lt=MAX_ACTION_ATTEMPTS, lease_until__lt=now)
            | Q(status=ActionStatus.RUNNING, lease_until__lt=now)
        )
        .values_list("job", flat=True)
        .distinct()
    )
    token = _due_at_start.set(due)
    try:
        yield due
    finally:
        _due_at_start.reset(token)


def job_may_have_due(job: str) -> bool:
    due = _due_at_start.get()
    return True if due is None else job in due


def actions_has_due(*, job: str, today: date) -> bool:
    """A cheap look before opening a claim transaction (most ticks find nothing)."""
    return PlannedAction.objects.filter(_claimable(job=job, today=today)).exists()


def actions_claim(*, job: str, today: date, limit: int, token: str) -> list[PlannedAction]:
    """Claim due actions of `job` for `token` (call inside the transaction of the effect)."""
    if not _claim_ids(job=job, today=today, limit=limit, token=token):
        return []
    return list(
        PlannedAction.objects.filter(job=job, status=ActionStatus.RUNNING, claimed_by=token)
        .order_by("due_on", "id")
        .only("id", "key", "subject_type", "subject_id", "tenant_id", "due_on", "attempts")
    )


def actions_complete(*, token: str, done: dict[int, dict[str, Any]]) -> int:
    """Mark our claimed actions done (with their results) and release the rest; one or two queries."""
    now = clock.now()
    finished = 0
    if done:
        results = set(map(_freeze, done.values()))
        if len(results) == 1:
            # The usual case: every row has the same result, so one UPDATE does it.
            finished = PlannedAction.objects.filter(
                id__in=list(done), status=ActionStatus.RUNNING, claimed_by=token
            ).update(
                status=ActionStatus.DONE,
                done_at=now,
                lease_until=None,
                error="",
                result=next(iter(done.values())),
            )
        else:
            rows = list(
                PlannedAction.objects.filter(
                    id__in=list(done), status=ActionStatus.RUNNING, claimed_by=token
                ).only("id")
            )
            for row in rows:
                row.status = ActionStatus.DONE
                row.done_at = now
                row.lease_until = None
                row.error = ""
                row.result = done[row.id]
            PlannedAction.objects.bulk_update(
                rows, ["status", "done_at", "lease_until", "error", "result"]
            )
            finished = len(rows)
    PlannedAction.objects.filter(status=ActionStatus.RUNNING, claimed_by=token).exclude(
        id__in=list(done)
    ).update(status=ActionStatus.PENDING, lease_until=None, claimed_by="")
    return finished


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def attempts_before(action_id: int) -> int:
    return (
        PlannedAction.objects.filter(id=action_id).values_list("attempts", flat=True).first() or 0
    )


def action_fail(*, action_id: int, error: str) -> None:
    """Record a failed attempt in its own transaction (the effect's transaction rolled back)."""
    # Not again in this run: the next try comes after a pause that grows with the attempts.
    retry_at = clock.now() + timedelta(minutes=2 ** min(attempts_before(action_id), 6))
    PlannedAction.objects.filter(id=action_id).exclude(status=ActionStatus.DONE).update(
        status=ActionStatus.FAILED,
        attempts=F("attempts") + 1,
        lease_until=retry_at,
        claimed_by="",
        error=error[:2000],
    )


# --- running a job ------------------------------------------------------------------------

Effect = Callable[[list[PlannedAction], date], BatchOutcome]


def actions_execute(
    *, job: str, today: date, effect: Effect, limit: int | None = None, max_batches: int = 10_000
) -> Counter[str]:
    """Claim and apply due actions of `job` batch by batch until none is left.

    Each batch is one transaction: claim, effect, mark done. When a batch raises, its rows are
    retried one by one so that one bad subject cannot hold back the others; a row that fails
    alone is marked `failed` with the error and retried at later ticks.
    """
    limit = limit or batch_size()
    counts: Counter[str] = Counter()
    for _ in range(max_batches):
        if not actions_has_due(job=job, today=today):
            break
        token = f"{worker_name()}:{uuid.uuid4().hex[:12]}"
        try:
            with transaction.atomic():
                actions = actions_claim(job=job, today=today, limit=limit, token=token)
                if not actions:
                    break
                outcome = effect(actions, today)
                counts["done"] += actions_complete(token=token, done=outcome.done)
                counts.update(outcome.counts)
        except (OperationalError, InterfaceError):
            raise  # the database itself is unwell: stop and let the next tick retry
        except Exception as exc:  # isolate the bad row below
            logger.warning("job %s: batch failed (%s); retrying its rows one by one", job, exc)
            counts.update(_execute_one_by_one(job=job, today=today, effect=effect, limit=limit))
            continue
        if not outcome.done:
            break  # nothing was ready: the released rows wait for the next tick
    return counts


def _execute_one_by_one(*, job: str, today: date, effect: Effect, limit: int) -> Counter[str]:
    counts: Counter[str] = Counter()
    for _ in range(limit):
        token = f"{worker_name()}:{uuid.uuid4().hex[:12]}"
        action_id = None
        try:
            with transaction.atomic():
                actions = actions_claim(job=job, today=today, limit=1, token=token)
                if not actions:
                    break
                action_id = actions[0].id
                outcome = effect(actions, today)
                counts["done"] += actions_complete(token=token, done=outcome.done)
                counts.update(outcome.counts)
        except (OperationalError, InterfaceError):
            raise
        except Exception as exc:  # recorded on the row and in the run
            logger.exception("job %s: action %s failed", job, action_id)
            if action_id is not None:
                action_fail(action_id=action_id, error=f"{type(exc).__name__}: {exc}")
            counts["failed"] += 1
    return counts


@dataclass
class RunRecorder:
    job: str
    business_date: date
    record_idle: bool = True
    counts: Counter[str] = field(default_factory=Counter)
    started_monotonic: float = field(default_factory=time.monotonic)
    started_at: Any = field(default_factory=clock.now)

    def finish(self, *, error: str = "") -> JobRun | None:
        """Write the JobRun row: counts, duration, error. Idle runs of the minute tick are skipped."""
        if not error and not self.record_idle and not any(self.counts.values()):
            return None
        if not error and self.counts.get("failed"):
            error = (
                f"{self.counts['failed']} action(s) failed; their errors are on the planned "
                "actions (admin: 予定処理, status 失敗)"
            )
        duration = int((time.monotonic() - self.started_monotonic) * 1000)
        return JobRun.objects.create(
            job=self.job,
            business_date=self.business_date,
            started_at=self.started_at,
            finished_at=clock.now(),
            status=JobRunStatus.ERROR if error else JobRunStatus.OK,
            counts={k: int(v) for k, v in sorted(self.counts.items()) if v},
            error=error[:10_000],
            duration_ms=duration,
        )


def job_run(
    *,
    job: str,
    today: date,
    work: Callable[[date], Counter[str] | dict[str, int]],
    record_idle: bool = True,
) -> tuple[dict[str, int], JobRun | None]:
    """Run `work(today)` and record a JobRun with its counts, duration and error, if any."""
    recorder = RunRecorder(job=job, business_date=today, record_idle=record_idle)
    error = ""
    try:
        recorder.counts.update(work(today))
    except Exception as exc:  # recorded, then re-raised to the caller
        error = f"{type(exc).__name__}: {exc}"
        logger.exception("job %s failed for %s", job, today)
        try:
            recorder.finish(error=error)
        except DatabaseError:
            logger.exception("job %s: could not record the failed run", job)
        raise
    run = recorder.finish()
    return dict(recorder.counts), run
