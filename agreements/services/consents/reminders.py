"""Remind the tenants that have not answered a posted revision, now, from the console (R4).

The weekly reminders of explicit-consent revisions are a job (agreements/jobs/notice_jobs.py);
this is the same message sent on a staff member's request. A tenant is reminded of one
version at most once per `REMIND_INTERVAL`, whoever sent the last reminder (the job or staff):
a second click, or two staff members clicking at once, sends nothing more to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext

from agreements.enums import ConsentMode, ConsentStatus, ContractStatus, VersionStatus
from agreements.models import ConsentState, Contract, TermsVersion
from agreements.rules import on_548_4_ground
from agreements.services.consents.citing import effective_mode
from agreements.services.notice_payloads import version_gate_from
from agreements.services.version_drafts import locked_version, staff_actor
from core import clock
from core.enums import AuditAction, EventKind
from core.errors import Conflict, PermissionDenied
from core.models import Event
from core.services import audit_add
from tenants.authz import Action
from tenants.notify import Note, notify
from tenants.scope import Scope

REMIND_INTERVAL = timedelta(hours=24)
UNANSWERED = (ConsentStatus.NO_ANSWER, ConsentStatus.OUTSTANDING)
REMINDER_KINDS = (EventKind.CONSENT_REMINDER, EventKind.CONSENT_OUTSTANDING)
REMINDABLE_STATUSES = (VersionStatus.SCHEDULED, VersionStatus.EFFECTIVE)


@dataclass(frozen=True)
class ReminderCounts:
    due: int  # would be reminded now
    recent: int  # not answered, but reminded within the interval
    reminders_off: int = 0  # not answered, but the tenant turned the optional reminders off


@dataclass(frozen=True)
class Reminded:
    sent: int
    skipped_recent: int
    tenant_ids: list[int] = field(default_factory=list)
    skipped_off: int = 0


def _recently_reminded(version: TermsVersion, since: datetime) -> Exists:
    return Exists(
        Event.objects.filter(
            kind__in=REMINDER_KINDS,
            tenant_id=OuterRef("tenant_id"),
            subject_type=TermsVersion._meta.label_lower,
            subject_id=version.pk,
            occurred_at__gte=since,
        )
    )


def owes_answer() -> Exists:
    """For a ConsentState row: an active contract of its document's product begun by its
    version's effective date, so the tenant owes the revision an answer (rules.answer_owed;
    R1, R4). A tenant that contracted after the revision took effect agreed to it by
    contracting: the portal tells it no answer is needed, and no reminder may ask for one."""
    return Exists(
        Contract.objects.filter(
            tenant_id=OuterRef("tenant_id"),
            product_id=OuterRef("document__product_id"),
            status=ContractStatus.ACTIVE,
            start_date__lte=OuterRef("version__effective_on"),
        )
    )


def _unanswered(version: TermsVersion) -> QuerySet[ConsentState]:
    return ConsentState.objects.filter(version=version, bound=True, status__in=UNANSWERED).filter(
        owes_answer()
    )


# A tenant that turned the optional consent reminders off (tenants.services.reminder_prefs):
# staff's reminders, sent now or scheduled, never reach it.
REMINDERS_OFF = Q(tenant__consent_reminders=False)


def remindable(version: TermsVersion) -> bool:
    """A posted revision that is scheduled or in force and whose silence is not consent (R4):
    one customers still need to answer. Under deemed consent silence is consent (R3), and the
    reminder's text asks for an explicit answer, so it is never sent for one; but only where
    the product's terms contain the deemed-consent clause (its rulebook's R3): elsewhere a
    revision scheduled as deemed asks for an answer like an explicit one (citing.effective_mode),
    and its non-responders are reminded like any other."""
    return (
        version.posted_at is not None
        and effective_mode(version) == ConsentMode.EXPLICIT
        and version.status in REMINDABLE_STATUSES
    )


def reminders_send(*, version: TermsVersion, now: datetime, key: str, label: str) -> Reminded:
    """Queue the consent reminder of the locked, remindable `version` for every bound tenant
    that has not answered it, except those reminded of it within `REMIND_INTERVAL`: the one
    rule of whom a reminder reaches, for staff's "remind now" and the scheduled reminders.
    `key` names this round of reminders (the outbox keys derive from it, so a round queued
    twice sends once); `label` is the payload's `reminder`. One event and outbox rows per
    tenant reminded (tenants.notify: every notification contact of the tenant). Tenants that
    turned the optional reminders off are left out (`skipped_off`)."""
    unanswered = _unanswered(version)
    skipped_off = unanswered.filter(REMINDERS_OFF).count()
    states = list(
        unanswered.exclude(REMINDERS_OFF)
        .annotate(recent=_recently_reminded(version, now - REMIND_INTERVAL))
        .select_related("tenant", "document")
        .order_by("tenant_id")
    )
    due = [s for s in states if not s.recent]
    gate_from = version_gate_from(version)
    notes = [
        Note(
            kind=EventKind.CONSENT_REMINDER,
            tenant=state.tenant,
            key=f"{key}:{state.tenant_id}",
            subject=version,
            payload={
                "notice_key": key,
                "version_id": version.pk,
                "label": version.label,
                "name": version.display_name,
                "document_id": state.document_id,
                "document": state.document.title,
                "effective_on": version.effective_on.isoformat() if version.effective_on else None,
                "status": state.status,
                # A revision on a CC 548-4(1) ground applies without consent: the reminder asks
                # for an answer, it does not say consent is missing (R2, R4).
                "applies_anyway": on_548_4_ground(version.legal_basis),
                "reminder": label,
                "gate_from": gate_from,
            },
        )
        for state in due
    ]
    if notes:
        notify(notes)
    return Reminded(
        sent=len(notes),
        skipped_recent=len(states) - len(due),
        tenant_ids=[s.tenant_id for s in due],
        skipped_off=skipped_off,
    )


def reminder_counts(*, scope: Scope, version: TermsVersion) -> ReminderCounts:
    """How many unanswered tenants a reminder now would reach, how many it would skip because
    they were reminded within the interval, and how many because they turned the optional
    reminders off. One query."""
    if not scope.is_privileged:
        raise PermissionDenied(gettext("当社スタッフのみが参照できます。"))
    return _counts(version, clock.now())


def _counts(version: TermsVersion, now: datetime) -> ReminderCounts:
    reminded = _recently_reminded(version, now - REMIND_INTERVAL)
    counts = _unanswered(version).aggregate(
        recent=Count("pk", filter=Q(reminded) & ~REMINDERS_OFF),
        due=Count("pk", filter=~Q(reminded) & ~REMINDERS_OFF),
        off=Count("pk", filter=REMINDERS_OFF),
    )
    return ReminderCounts(due=counts["due"], recent=counts["recent"], reminders_off=counts["off"])


@transaction.atomic
def consent_remind_now(*, scope: Scope, version: TermsVersion) -> Reminded:
    """Send the consent reminder to every bound tenant that has not answered `version`,
    except those reminded of it within `REMIND_INTERVAL`; refused when that leaves nobody. Staff who keep customer records
    (tenants.authz: Action.OPERATE); one audit row for the action, one event and outbox rows
    per tenant reminded (tenants.notify)."""
    if not (scope.is_staff and scope.may(Action.OPERATE)):
        raise PermissionDenied(
            gettext("再通知には編集担当者または公開担当者の権限が必要です。"),
            code="operate_required",
        )
    # The version's lock serialises two reminders of one version: the second one sees the
    # first one's events and skips those tenants.
    locked = locked_version(version)
    if not remindable(locked):
        raise Conflict(
            gettext(
                "掲示済みで、予定登録中または有効な「明示の同意」方式の改定だけを再通知できます。"
            ),
            code="not_remindable",
        )
    now = clock.now()
    if _counts(locked, now).due == 0:
        # Nobody left to remind (all answered, reminded within the interval or with the
        # reminders turned off): refused
        # rather than recorded as a reminder of no one.
        raise Conflict(
            gettext(
                "再通知するテナントがありません（未回答のテナントがないか、すべて%(hours)s時間以内に通知済みか、リマインドを受け取らない設定です）。"
            )
            % {"hours": int(REMIND_INTERVAL.total_seconds() // 3600)},
            code="nobody_to_remind",
        )
    stamp = now.strftime("%Y%m%dT%H%M%S")
    done = reminders_send(
        version=locked, now=now, key=f"console_reminder:{locked.pk}:{stamp}", label="manual"
    )
    audit_add(
        actor=staff_actor(scope),
        action=AuditAction.REMIND,
        obj=locked,
        summary=f"reminded {done.sent} tenants of {locked.label}"
        + (f" ({done.skipped_recent} reminded within 24h skipped)" if done.skipped_recent else "")
        + (f" ({done.skipped_off} with reminders off skipped)" if done.skipped_off else ""),
        data={
            "sent": done.sent,
            "skipped_recent": done.skipped_recent,
            "skipped_off": done.skipped_off,
            "tenant_ids": done.tenant_ids[:1000],
        },
    )
    return done
