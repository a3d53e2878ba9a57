"""Reminders to non-responders that a publisher schedules for a day (R4).

A publisher picks the day (a date, or N days before the effective date or before the answer
deadline of a gating policy); the `scheduled_reminders` job sends each one on its day, once,
to whoever has still not answered then: the same rule and the same 24-hour limit per tenant as
the console's "remind now" (reminders.reminders_send), so a scheduled reminder never repeats
one sent the day before. A reminder whose revision can no longer be reminded of (answered by
all, withdrawn, superseded) is skipped, and of several missed days only the latest goes out:
never a burst of stale reminders after an outage (docs/jobs.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext

from agreements.enums import ReminderBasis, ReminderStatus
from agreements.models import ScheduledReminder, TermsVersion
from agreements.rules import answer_deadline, reminder_send_on
from agreements.services.consents.reminders import remindable, reminders_send
from agreements.services.notice_payloads import version_gate_from
from agreements.services.version_drafts import locked_version, staff_actor
from core import clock
from core.enums import AuditAction
from core.errors import Conflict, PermissionDenied, ValidationFailed
from core.services import audit_add
from tenants.authz import Action
from tenants.scope import Scope

# A reminder further out than this is a typo, not a plan.
MAX_DAYS_AHEAD = 366


def _require_publisher(scope: Scope) -> None:
    if not (scope.is_staff and scope.may(Action.PUBLISH)):
        raise PermissionDenied(
            gettext("再通知の予定には公開担当者の権限が必要です。"), code="publish_required"
        )


def version_answer_deadline(version: TermsVersion) -> date | None:
    """The last day to answer `version` before its gating policy may limit use (R4)."""
    gate = version_gate_from(version)
    return answer_deadline(
        effective_on=version.effective_on,
        gate_from_on=date.fromisoformat(gate) if gate else None,
    )


@transaction.atomic
def reminder_schedule(
    *,
    scope: Scope,
    version: TermsVersion,
    basis: str,
    on: date | None = None,
    days_before: int | None = None,
) -> ScheduledReminder:
    """Schedule a reminder of `version` to its non-responders. Publishers only; the revision
    must be remindable (posted, in force or scheduled, silence not consent: R4); the day must
    be today or later and one not already scheduled. One audit row."""
    _require_publisher(scope)
    locked = locked_version(version)
    if not remindable(locked):
        raise Conflict(
            gettext(
                "掲示済みで、予定登録中または有効な、回答をお願いする改定だけを再通知できます。"
            ),
            code="not_remindable",
        )
    if basis not in ReminderBasis.values:
        raise ValidationFailed(gettext("送信日の決め方が正しくありません。"), code="invalid")
    deadline = version_answer_deadline(locked)
    if basis == ReminderBasis.BEFORE_DEADLINE and deadline is None:
        raise ValidationFailed(
            gettext("この改定には回答期限（未回答時の利用制限）がありません。"),
            code="no_answer_deadline",
        )
    send_on = reminder_send_on(
        basis=basis,
        days_before=days_before,
        on=on,
        effective_on=locked.effective_on,
        deadline=deadline,
    )
    today = clock.today()
    if send_on is None:
        raise ValidationFailed(gettext("送信日を指定してください。"), code="invalid")
    if send_on < today:
        raise ValidationFailed(
            gettext("送信日（%(day)s）が過ぎています。今日以降の日を指定してください。")
            % {"day": send_on.isoformat()},
            code="reminder_in_past",
        )
    if (send_on - today).days > MAX_DAYS_AHEAD:
        raise ValidationFailed(gettext("送信日は1年以内にしてください。"), code="reminder_too_far")
    live = ScheduledReminder.objects.filter(version=locked, send_on=send_on).exclude(
        status=ReminderStatus.CANCELLED
    )
    if live.exists():
        raise Conflict(gettext("この日の再通知はすでに予定されています。"), code="reminder_exists")
    reminder = ScheduledReminder.objects.create(
        version=locked,
        send_on=send_on,
        basis=basis,
        days_before=days_before if basis != ReminderBasis.ON_DATE else None,
        created_by=staff_actor(scope),
    )
    audit_add(
        actor=staff_actor(scope),
        action=AuditAction.REMINDER_SCHEDULE,
        obj=locked,
        summary=f"reminder of {locked.label} scheduled for {send_on.isoformat()}",
        data={"reminder_id": reminder.pk, "send_on": send_on.isoformat(), "basis": basis},
    )
    return reminder


@transaction.atomic
def reminder_cancel(*, scope: Scope, reminder: ScheduledReminder) -> ScheduledReminder:
    """Cancel a scheduled reminder that has not gone out. Publishers only; one audit row.
    Cancelling a cancelled reminder changes nothing; a sent one cannot be cancelled."""
    _require_publisher(scope)
    locked = (
        ScheduledReminder.objects.select_for_update().select_related("version").get(pk=reminder.pk)
    )
    if locked.status == ReminderStatus.CANCELLED:
        return locked
    if locked.status != ReminderStatus.SCHEDULED:
        raise Conflict(gettext("送信済みの再通知は取り消せません。"), code="reminder_already_sent")
    locked.status = ReminderStatus.CANCELLED
    locked.cancelled_by = staff_actor(scope)
    locked.done_at = clock.now()
    locked.save(update_fields=["status", "cancelled_by", "done_at"])
    audit_add(
        actor=staff_actor(scope),
        action=AuditAction.REMINDER_CANCEL,
        obj=locked.version,
        summary=f"reminder of {locked.version.label} for {locked.send_on.isoformat()} cancelled",
        data={"reminder_id": locked.pk, "send_on": locked.send_on.isoformat()},
    )
    return locked


def scheduled_reminders_due(today: date) -> QuerySet[ScheduledReminder]:
    """Reminders scheduled for `today` or a day before that have not gone out."""
    return ScheduledReminder.objects.filter(status=ReminderStatus.SCHEDULED, send_on__lte=today)


def _later_due(today: date) -> Exists:
    """A later reminder of the same revision is also due: this one was missed."""
    return Exists(
        ScheduledReminder.objects.filter(
            version_id=OuterRef("version_id"),
            status=ReminderStatus.SCHEDULED,
            send_on__gt=OuterRef("send_on"),
            send_on__lte=today,
        )
    )


def scheduled_reminders_settled() -> Q:
    return ~Q(status=ReminderStatus.SCHEDULED)


def scheduled_reminders_send(*, today: date, ids: Sequence[int] | None = None) -> dict[str, int]:
    """Send the due reminders (or those of `ids` still due), each once: the row is locked and
    re-checked, so a second run at the same time waits and then finds it sent. Each reminder
    is its own transaction with its own audit row (actor: the system)."""
    counts = {"sent": 0, "skipped": 0, "tenants": 0}
    due = scheduled_reminders_due(today)
    if ids is not None:
        due = due.filter(pk__in=ids)
    for pk in list(due.order_by("send_on", "pk").values_list("pk", flat=True)):
        with transaction.atomic():
            reminder = (
                scheduled_reminders_due(today)
                .select_for_update(of=("self",))
                .annotate(missed=_later_due(today))
                .filter(pk=pk)
                .first()
            )
            if reminder is None:
                continue  # sent, skipped or cancelled meanwhile
            version = locked_version(reminder.version)
            now = clock.now()
            reminder.done_at = now
            if reminder.missed or not remindable(version):
                reminder.status = ReminderStatus.SKIPPED
                reminder.save(update_fields=["status", "done_at"])
                counts["skipped"] += 1
                continue
            done = reminders_send(
                version=version,
                now=now,
                key=f"scheduled_reminder:{reminder.pk}",
                label="scheduled",
            )
            reminder.status = ReminderStatus.SENT
            reminder.sent = done.sent
            reminder.skipped_recent = done.skipped_recent
            reminder.save(update_fields=["status", "done_at", "sent", "skipped_recent"])
            audit_add(
                actor=None,
                action=AuditAction.REMIND,
                obj=version,
                summary=f"scheduled reminder {reminder.pk}: reminded {done.sent} tenants of "
                f"{version.label}",
                data={
                    "reminder_id": reminder.pk,
                    "sent": done.sent,
                    "skipped_recent": done.skipped_recent,
                    "skipped_off": done.skipped_off,
                    "tenant_ids": done.tenant_ids[:1000],
                },
            )
            counts["sent"] += 1
            counts["tenants"] += done.sent
    return counts
