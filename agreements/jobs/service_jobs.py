"""Jobs whose effect is a service (R2–R6, R10–R11, R14–R15), and the two that only check.

What is due is decided once: each ServiceJob plans from the due query its service acts on, and
hands the service exactly the subjects it claimed. The planned-action row per subject is the
job's record of the effect, committed in the same transaction (see base.ServiceJob). The table
in docs/jobs.md gives each job's choice and the reason.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet

from agreements.enums import (
    ContractStatus,
    DeletionStatus,
    PeriodStatus,
    TerminationStatus,
    VersionStatus,
)
from agreements.jobs.base import CheckJob, ServiceJob
from agreements.models import (
    Contract,
    ContractPeriod,
    DataDeletion,
    ScheduledReminder,
    Termination,
    TermsVersion,
)
from agreements.services.consents.effective import deemed_after_late_delivery
from agreements.services.consents.reminder_schedule import (
    scheduled_reminders_due,
    scheduled_reminders_send,
    scheduled_reminders_settled,
)
from agreements.services.contracts.roll import (
    periods_due,
    periods_roll,
    terminations_due,
    terminations_take_effect,
)
from agreements.services.deletions import (
    deletion_reminder_key,
    deletion_reminders_due,
    deletion_reminders_send,
    deletions_due,
    deletions_order,
    tenants_redact,
    tenants_redaction_due,
)
from agreements.services.versions import notice_post
from agreements.services.versions.effective import version_take_effect, versions_consents_settle
from core import clock
from core.enums import OutboxStatus
from core.models import Outbox
from tenants import partition
from tenants.models import Tenant

ONE_DAY = timedelta(days=1)


# --- R2: post notices on their notice date ----------------------------------------------


def _notices_due(today: date) -> QuerySet[TermsVersion]:
    # The condition notices_post_due reads; notice_post re-checks it with a conditional UPDATE.
    return TermsVersion.objects.filter(
        partition.product_q("document__product__"),
        status=VersionStatus.SCHEDULED,
        notice_on__lte=today,
        posted_at__isnull=True,
    )


def _notices_post(today: date, ids: list[int]) -> dict[str, int]:
    # A version rescheduled to a later notice date since planning is not due yet: left alone.
    due = list(
        _notices_due(today)
        .filter(pk__in=ids)
        .order_by("notice_on", "pk")
        .values_list("pk", flat=True)
    )
    posted = sum(notice_post(version=TermsVersion(pk=pk)) for pk in due)
    return {"due": len(due), "posted": posted}


NOTICES_POST = ServiceJob(
    name="notices_post",
    model=TermsVersion,
    due=_notices_due,
    # Posted, or no longer scheduled (withdrawn first): nothing left to post either way.
    settled=lambda today: Q(posted_at__isnull=False) | ~Q(status=VersionStatus.SCHEDULED),
    call=_notices_post,
    due_on=lambda version: version.notice_on,
    tenant_id=lambda version: None,
)


# --- R3: deem tenants a late delivery reached, once its lead time has run ----------------


def consents_deem_reached(today: date) -> dict[str, int]:
    """Deem `unnotified` tenants whose notice has reached them since (R3). No planned action:
    the ledger row is the record, and the locked re-check under the tenant's head writes it
    once whatever the number of runs."""
    return deemed_after_late_delivery(today=today)


# --- R2–R5: apply versions on their effective date (deemed, outstanding, lapse) -----------


def _versions_due(today: date) -> QuerySet[TermsVersion]:
    # The condition versions_apply_effective reads; the per-version step re-checks it under a
    # row lock.
    return TermsVersion.objects.filter(
        partition.product_q("document__product__"),
        status=VersionStatus.SCHEDULED,
        effective_on__lte=today,
    )


def _versions_apply(today: date, ids: list[int]) -> dict[str, int]:
    # In date order: of two due versions of one document, the later one supersedes the earlier.
    due = list(
        _versions_due(today)
        .filter(pk__in=ids)
        .order_by("effective_on", "pk")
        .values_list("pk", flat=True)
    )
    counts = {"due": len(due), "effective": 0, "superseded": 0, "lapsed": 0}
    for pk in due:
        # Inside the claim's transaction: the status change only; versions_apply settles the
        # consents after it has committed, batch by batch.
        outcome = version_take_effect(version_id=pk, today=today)
        if outcome == "lapsed":
            counts["lapsed"] += 1
        elif outcome is not None:
            counts["effective"] += 1
            counts["superseded"] += outcome == "superseded_previous"
    return counts


VERSIONS_APPLY = ServiceJob(
    name="versions_apply",
    model=TermsVersion,
    due=_versions_due,
    settled=lambda today: ~Q(status=VersionStatus.SCHEDULED),
    call=_versions_apply,
    due_on=lambda version: version.effective_on,
    tenant_id=lambda version: None,
)


def versions_apply(today: date) -> Counter[str]:
    """Apply the due versions (VERSIONS_APPLY: one claim transaction per batch of versions),
    then write the consents the effective ones owe, each batch of tenants in its own
    transaction: a tenant's answer never waits behind the whole run (R3, R4)."""
    counts = VERSIONS_APPLY(today)
    for name, value in versions_consents_settle(today=today).items():
        counts[f"consents.{name}"] += value
    return counts


# --- R10–R11, R14: renew or end periods the day after their end; due terminations ------------


CONTRACTS_ROLL = ServiceJob(
    name="contracts_roll",
    model=ContractPeriod,
    due=periods_due,
    # Renewed (the period closed, the next opened) or ended (the contract is no longer active).
    settled=lambda today: (
        Q(status=PeriodStatus.CLOSED) | ~Q(contract__status=ContractStatus.ACTIVE)
    ),
    call=lambda today, ids: periods_roll(today=today, ids=ids),
    due_on=lambda period: period.end_date + ONE_DAY,
    # A catch-up renews into periods that have ended too: those are due in the same run.
    replan=True,
)


TERMINATIONS_EFFECT = ServiceJob(
    name="terminations_effect",
    model=Termination,
    due=terminations_due,  # confirmed R6 cases arrive here too: case_confirm schedules them
    settled=lambda today: ~Q(status=TerminationStatus.SCHEDULED),
    call=lambda today, ids: terminations_take_effect(today=today, ids=ids),
    due_on=lambda termination: termination.end_date + ONE_DAY,
)


# --- R4: reminders a publisher scheduled for a day -------------------------------------------

SCHEDULED_REMINDERS = ServiceJob(
    name="scheduled_reminders",
    model=ScheduledReminder,
    due=scheduled_reminders_due,
    settled=lambda today: scheduled_reminders_settled(),
    call=lambda today, ids: scheduled_reminders_send(today=today, ids=ids),
    due_on=lambda reminder: reminder.send_on,
    tenant_id=lambda reminder: None,
)


# --- R15: order deletions when due, remind staff before, redact at the backup purge ----------


DELETIONS_ORDER = ServiceJob(
    name="deletions_order",
    model=DataDeletion,
    due=deletions_due,
    settled=lambda today: ~Q(status=DeletionStatus.SCHEDULED),
    call=lambda today, ids: {"ordered": deletions_order(today=today, ids=ids)},
    due_on=lambda deletion: deletion.due_on,
)


DELETION_REMINDERS = ServiceJob(
    name="deletion_reminders",
    model=DataDeletion,
    due=deletion_reminders_due,
    settled=lambda today: (
        Q(Exists(Outbox.objects.filter(dedupe_key=OuterRef("reminder_key"))))
        | ~Q(status=DeletionStatus.SCHEDULED)
    ),
    call=lambda today, ids: {"reminded": deletion_reminders_send(today=today, ids=ids)},
    due_on=lambda deletion: (
        deletion.due_on - timedelta(days=int(settings.TERMS_DELETION_REMINDER_DAYS))
    ),
    # `settled` reads the reminder's dedupe key, as deletion_reminders_due does.
    annotate=lambda queryset: queryset.annotate(reminder_key=deletion_reminder_key()),
)


def _redact(today: date, ids: list[int]) -> dict[str, int]:
    return {"redacted": tenants_redact(ids=ids)}


TENANT_REDACT = ServiceJob(
    name="tenant_redact",
    model=Tenant,
    due=lambda today: tenants_redaction_due(),
    settled=lambda today: Q(redacted_at__isnull=False),
    call=_redact,
    due_on=lambda tenant: clock.today(),
    tenant_id=lambda tenant: tenant.pk,
)


# --- R14: every termination notified and the notice delivered (check) ------------------------


def _termination_notices_unsent(today: date) -> QuerySet[Termination]:
    # The contracts service queues the notice with the termination (R14) and the outbox job
    # delivers it; until then it is owed.
    # A notice cancelled by the tenant's redaction (R15) has no one left to reach.
    sent = Outbox.objects.filter(
        pk=OuterRef("notice_outbox_id"), status__in=[OutboxStatus.SENT, OutboxStatus.CANCELLED]
    )
    return Termination.objects.filter(
        partition.tenant_q("contract__tenant__"),
        status__in=[TerminationStatus.SCHEDULED, TerminationStatus.EFFECTIVE],
        notice_outbox_id__isnull=False,
    ).exclude(Exists(sent))


TERMINATION_NOTICES = CheckJob(
    name="termination_notices",
    model=Termination,
    owed=_termination_notices_unsent,
    label="unsent",
)


# --- R18: options whose prerequisite contract ended are flagged (check) ----------------------


def _prerequisite_lost(today: date) -> QuerySet[Contract]:
    # contract_end flags dependents in the transaction of the end (a conditional UPDATE); one
    # found unflagged here is shown to staff by reconcile.
    held = Contract.objects.filter(
        tenant_id=OuterRef("tenant_id"),
        product_id=OuterRef("options__requires_product_id"),
        status=ContractStatus.ACTIVE,
    )
    return (
        Contract.objects.filter(
            partition.tenant_q("tenant__"),
            status=ContractStatus.ACTIVE,
            prerequisite_flagged_at__isnull=True,
            options__requires_product__isnull=False,
        )
        .exclude(Exists(held))
        .distinct()
    )


R18_FLAGS = CheckJob(name="r18_flags", model=Contract, owed=_prerequisite_lost, label="unflagged")
