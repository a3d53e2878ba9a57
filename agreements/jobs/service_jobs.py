"""Jobs whose effect is a foundation service (R2–R6, R10–R11, R14–R15).

The services act exactly once by conditional updates; the planned-action row per subject is the
job's record of it, committed in the same transaction (see base.ServiceJob).
"""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.db.models import CharField, Exists, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Cast, Concat

from agreements.enums import (
    ContractStatus,
    DeletionKind,
    DeletionStatus,
    PeriodStatus,
    TerminationStatus,
    VersionStatus,
)
from agreements.jobs.base import ServiceJob
from agreements.models import Contract, ContractPeriod, DataDeletion, Termination, TermsVersion
from core import clock
from core.enums import EventKind, OutboxStatus
from core.models import Outbox
from tenants.models import Tenant

ONE_DAY = timedelta(days=1)


# --- R2: post notices on their notice date ----------------------------------------------


def _notices_due(today: date) -> QuerySet[TermsVersion]:
    return TermsVersion.objects.filter(
        status=VersionStatus.SCHEDULED, notice_on__lte=today, posted_at__isnull=True
    )


def _notices_call(today: date, limit: int) -> dict[str, int]:
    from agreements.services.versions import notices_post_due  # noqa: PLC0415 -- leaf

    return notices_post_due(today=today)


NOTICES_POST = ServiceJob(
    name="notices_post",
    model=TermsVersion,
    due=_notices_due,
    # Posted, or no longer scheduled (withdrawn first): nothing left to post either way.
    settled=lambda today: Q(posted_at__isnull=False) | ~Q(status=VersionStatus.SCHEDULED),
    call=_notices_call,
    due_on=lambda version: version.notice_on,
    tenant_id=lambda version: None,
)


# --- R2–R5: apply versions on their effective date (deemed, outstanding, lapse) -----------


def _versions_due(today: date) -> QuerySet[TermsVersion]:
    return TermsVersion.objects.filter(status=VersionStatus.SCHEDULED, effective_on__lte=today)


def _versions_call(today: date, limit: int) -> dict[str, int]:
    from agreements.services.versions import versions_apply_effective  # noqa: PLC0415 -- leaf

    return versions_apply_effective(today=today)


VERSIONS_APPLY = ServiceJob(
    name="versions_apply",
    model=TermsVersion,
    due=_versions_due,
    settled=lambda today: ~Q(status=VersionStatus.SCHEDULED),
    call=_versions_call,
    due_on=lambda version: version.effective_on,
    tenant_id=lambda version: None,
)


# --- R10–R11, R14: renew or end periods the day after their end; due terminations ------------


def _roll_call(today: date, limit: int) -> dict[str, int]:
    from agreements.services.contracts import contracts_roll_due  # noqa: PLC0415 -- leaf

    return contracts_roll_due(today=today, limit=limit)


def _periods_due(today: date) -> QuerySet[ContractPeriod]:
    return ContractPeriod.objects.filter(
        status=PeriodStatus.OPEN, end_date__lt=today, contract__status=ContractStatus.ACTIVE
    )


CONTRACTS_ROLL = ServiceJob(
    name="contracts_roll",
    model=ContractPeriod,
    due=_periods_due,
    # Renewed (the period closed, the next opened) or ended (the contract is no longer active).
    settled=lambda today: (
        Q(status=PeriodStatus.CLOSED) | ~Q(contract__status=ContractStatus.ACTIVE)
    ),
    call=_roll_call,
    due_on=lambda period: period.end_date + ONE_DAY,
)


def _terminations_due(today: date) -> QuerySet[Termination]:
    # Confirmed R6 cases arrive here too: case_confirm schedules their Termination.
    return Termination.objects.filter(status=TerminationStatus.SCHEDULED, end_date__lt=today)


TERMINATIONS_EFFECT = ServiceJob(
    name="terminations_effect",
    model=Termination,
    due=_terminations_due,
    settled=lambda today: ~Q(status=TerminationStatus.SCHEDULED),
    call=_roll_call,
    due_on=lambda termination: termination.end_date + ONE_DAY,
)


# --- R15: order deletions when due ---------------------------------------------------------


def _deletions_due(today: date) -> QuerySet[DataDeletion]:
    return DataDeletion.objects.filter(status=DeletionStatus.SCHEDULED, due_on__lte=today)


def _deletions_call(today: date, limit: int) -> dict[str, int]:
    from agreements.services.deletions import deletions_order_due  # noqa: PLC0415 -- leaf

    return deletions_order_due(today=today)


DELETIONS_ORDER = ServiceJob(
    name="deletions_order",
    model=DataDeletion,
    due=_deletions_due,
    settled=lambda today: ~Q(status=DeletionStatus.SCHEDULED),
    call=_deletions_call,
    due_on=lambda deletion: deletion.due_on,
)


# --- R15: staff reminder before a deletion falls due (sent by deletions_order_due) -----------


def _reminder_key() -> Concat:
    # The service's dedupe key for the reminder (deletions._remind → notify_many staff note).
    return Concat(
        Value(f"{EventKind.DELETION_REMINDER}:deletion:"),
        Cast("pk", CharField()),
        Value(":reminder:staff"),
        output_field=CharField(),
    )


def _reminder_queued() -> Exists:
    return Exists(Outbox.objects.filter(dedupe_key=OuterRef("reminder_key")))


def _reminders_due(today: date) -> QuerySet[DataDeletion]:
    horizon = today + timedelta(days=int(settings.TERMS_DELETION_REMINDER_DAYS))
    return (
        DataDeletion.objects.filter(
            status=DeletionStatus.SCHEDULED, due_on__gt=today, due_on__lte=horizon
        )
        .annotate(reminder_key=_reminder_key())
        .exclude(_reminder_queued())
    )


DELETION_REMINDERS = ServiceJob(
    name="deletion_reminders",
    model=DataDeletion,
    due=_reminders_due,
    settled=lambda today: (
        Q(Exists(Outbox.objects.filter(dedupe_key=OuterRef("reminder_key"))))
        | ~Q(status=DeletionStatus.SCHEDULED)
    ),
    call=_deletions_call,
    due_on=lambda deletion: (
        deletion.due_on - timedelta(days=int(settings.TERMS_DELETION_REMINDER_DAYS))
    ),
    annotate=lambda queryset: queryset.annotate(reminder_key=_reminder_key()),
)


# --- R15: redaction at the backup purge (done by deletions_order_due via tenant_redact) --------


def _redactions_due(today: date) -> QuerySet[Tenant]:
    """Tenants whose backup purge is ordered, with no active contract and no purge still ahead."""
    backups = DataDeletion.objects.filter(tenant_id=OuterRef("pk"), kind=DeletionKind.BACKUP)
    return (
        Tenant.objects.filter(redacted_at__isnull=True)
        .filter(
            Exists(backups.filter(status__in=[DeletionStatus.ORDERED, DeletionStatus.ACKNOWLEDGED]))
        )
        .exclude(Exists(backups.filter(status=DeletionStatus.SCHEDULED)))
        .exclude(
            Exists(Contract.objects.filter(tenant_id=OuterRef("pk"), status=ContractStatus.ACTIVE))
        )
    )


TENANT_REDACT = ServiceJob(
    name="tenant_redact",
    model=Tenant,
    due=_redactions_due,
    settled=lambda today: Q(redacted_at__isnull=False),
    call=_deletions_call,
    due_on=lambda tenant: clock.today(),
    tenant_id=lambda tenant: tenant.pk,
)


# --- R14: every termination notified and the notice delivered --------------------------------


def _terminations_unnotified(today: date) -> QuerySet[Termination]:
    sent = Outbox.objects.filter(pk=OuterRef("notice_outbox_id"), status=OutboxStatus.SENT)
    return Termination.objects.filter(
        status__in=[TerminationStatus.SCHEDULED, TerminationStatus.EFFECTIVE],
        notice_outbox_id__isnull=False,
    ).exclude(Exists(sent))


TERMINATION_NOTICES = ServiceJob(
    name="termination_notices",
    model=Termination,
    due=_terminations_unnotified,
    # The contracts service queues the notice with the termination (R14); this job records its
    # delivery, which the outbox job performs. Until then the action stays due.
    settled=lambda today: Q(
        Exists(Outbox.objects.filter(pk=OuterRef("notice_outbox_id"), status=OutboxStatus.SENT))
    ),
    call=None,
    due_on=lambda termination: clock.business_date(termination.requested_at),
)


# --- R18: options whose prerequisite contract ended are flagged ------------------------------


def _prerequisite_lost(today: date) -> QuerySet[Contract]:
    held = Contract.objects.filter(
        tenant_id=OuterRef("tenant_id"),
        product_id=OuterRef("options__requires_product_id"),
        status=ContractStatus.ACTIVE,
    )
    return (
        Contract.objects.filter(
            status=ContractStatus.ACTIVE,
            prerequisite_flagged_at__isnull=True,
            options__requires_product__isnull=False,
        )
        .exclude(Exists(held))
        .distinct()
    )


R18_FLAGS = ServiceJob(
    name="r18_flags",
    model=Contract,
    due=_prerequisite_lost,
    # contract_end flags dependents in the transaction of the end; an unflagged one found here
    # stays due, so reconcile shows it to staff.
    settled=lambda today: (
        Q(prerequisite_flagged_at__isnull=False) | ~Q(status=ContractStatus.ACTIVE)
    ),
    call=None,
    due_on=lambda contract: clock.today(),
)
