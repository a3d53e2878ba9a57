"""Data deletion after a contract ends (R15, Biz 10.3): requests, orders, acknowledgements, redaction.

Deleting product data is an order to the product (an event and a tenant notice); the product's
acknowledgement through the API is the completion evidence. At the backup purge the service
redacts its own personal data of the tenant; the consent ledger stays and stays verifiable.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from django.conf import settings
from django.db import transaction
from django.db.models import CharField, Exists, OuterRef, QuerySet, Value
from django.db.models.functions import Cast, Concat
from django.utils import translation
from django.utils.translation import gettext as _

from agreements import rules
from agreements.enums import ContractStatus, DeletionKind, DeletionStatus, RequestKind
from agreements.models import Contract, DataDeletion
from agreements.rulebook import rulebook_for
from agreements.selectors.contracts import contract_known_end
from agreements.services.contracts.common import contract_for_write
from agreements.services.deletion_acks import deletion_acknowledge
from agreements.services.deletion_notes import (
    deletion_payload,
    deletion_requested_note,
    deletion_withdrawn_note,
)
from agreements.services.redaction import tenant_redact
from agreements.services.request_receipts import filer_fields, request_receipt_issue
from core import clock
from core.enums import AuditAction, EventKind
from core.errors import Conflict, NotFound
from core.models import Event, Outbox
from core.services import audit_add
from tenants import partition
from tenants.models import Tenant
from tenants.notify import Note, StaffNote, notify
from tenants.scope import Scope


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _deletion_needs_end(contract: Contract) -> str:
    """Why a deletion cannot be requested yet, in the product's own terms (R15).

    Biz 10.3 lets the customer ask 「解約申込と同時又は本製品の利用期間終了後」; a product whose
    available text has no such clause is told only what the service needs: a known end date.
    """
    book = rulebook_for(contract.product.code)
    if not book.has("R15"):
        return _(
            "データの削除は、契約の終了日が決まった後（解約・更新しない旨の申込の後）に依頼できます。"
        )
    entry = book.entry("R15")
    japanese = (translation.get_language() or "ja").startswith("ja")
    return _(
        "データ削除は、解約・更新しない旨の申込と同時、または利用期間の終了後に依頼できます（利用規約%(article)s）。"
    ) % {"article": entry.article_ja if japanese else entry.article_en}


def deletion_request(*, scope: Scope, contract: Contract) -> DataDeletion:
    """A customer's request to delete its data, at cancellation or after the end (R15).

    Due on the later of the day after the end and today + the grace setting; a repeated
    request returns the existing one.
    """
    return deletion_request_filed(scope=scope, contract=contract)[0]


@transaction.atomic
def deletion_request_filed(*, scope: Scope, contract: Contract) -> tuple[DataDeletion, bool]:
    """`deletion_request`, and whether this call filed it (False: the existing request).

    Biz 10.3 lets the customer ask 「解約申込と同時又は本製品の利用期間終了後」: on a contract
    still active whose end is filed (a non-renewal, a termination) the request is taken now
    and stays `scheduled` until it is due after that end; without a filed end it is refused
    (409 `deletion_needs_end`).
    """
    locked = contract_for_write(scope, contract)
    existing = (
        DataDeletion.objects.filter(contract=locked, kind=DeletionKind.REQUESTED)
        .exclude(status=DeletionStatus.CANCELLED)
        .first()
    )
    if existing is not None:
        return existing, False
    end = contract_known_end(locked)
    if end is None:
        raise Conflict(_deletion_needs_end(locked), code="deletion_needs_end")
    today = clock.today()
    due = rules.requested_deletion_due(
        end=end, requested_on=today, grace_days=settings.TERMS_DELETION_REQUEST_GRACE_DAYS
    )
    deletion = DataDeletion.objects.create(
        contract=locked,
        tenant_id=locked.tenant_id,
        kind=DeletionKind.REQUESTED,
        due_on=due,
        requested_on=today,
        requested_by=scope.acting_user,
        requested_by_key=scope.acting_key,
        channel=scope.channel,
        **filer_fields(scope=scope, tenant_id=locked.tenant_id),
    )
    request_receipt_issue(kind=RequestKind.DELETION, subject=deletion)
    # Confirmed by e-mail like a non-renewal or a termination (R13), with its event and
    # outbox rows written in this transaction.
    deletion.contract = locked
    notify([deletion_requested_note(deletion, end=end)])
    if scope.is_staff:
        audit_add(
            actor=scope.user,
            action=AuditAction.CREATE,
            obj=deletion,
            summary=f"deletion requested: due {due.isoformat()} (end {end.isoformat()})",
            data={"due_on": due.isoformat(), "end": end.isoformat()},
            tenant_id=locked.tenant_id,
        )
    return deletion, True


@transaction.atomic
def deletion_withdraw(*, scope: Scope, deletion: DataDeletion) -> DataDeletion:
    """Withdraw a customer's deletion request before it is ordered to the product (R15).

    The request becomes `cancelled` with its `withdrawn_at`; its receipt stays valid and shows
    the withdrawal, and the tenant is told (as for a withdrawn non-renewal). An ordered deletion is not withdrawn: the product may already have acted.
    """
    locked_contract = contract_for_write(scope, deletion.contract_id)
    row = (
        DataDeletion.objects.select_for_update(of=("self",))
        .filter(pk=deletion.pk, contract_id=locked_contract.pk, kind=DeletionKind.REQUESTED)
        .first()
    )
    if row is None:
        raise NotFound(_("削除の依頼が見つかりません。"), code="deletion_not_found")
    if row.status != DeletionStatus.SCHEDULED:
        raise Conflict(
            _(
                "この削除の依頼は既に製品へ指示されているか、取り下げ済みのため、取り下げられません。"
            ),
            code="deletion_not_withdrawable",
            status=row.status,
        )
    now = clock.now()
    row.status = DeletionStatus.CANCELLED
    row.withdrawn_at = now
    row.save(update_fields=["status", "withdrawn_at", "updated_at"])
    Contract.objects.filter(pk=locked_contract.pk).update(updated_at=now)
    notify([deletion_withdrawn_note(row, locked_contract, on=clock.today())])
    if scope.is_staff:
        audit_add(
            actor=scope.user,
            action=AuditAction.WITHDRAW,
            obj=row,
            summary=f"deletion request withdrawn (due {row.due_on.isoformat()})",
            data={"due_on": row.due_on.isoformat()},
            tenant_id=row.tenant_id,
        )
    return row


# --- What is due: one definition, read by the lifecycle jobs and by the services below ------


def deletions_due(today: date) -> QuerySet[DataDeletion]:
    """Scheduled deletions due by `today` whose tenant holds no active contract for the
    product any more (R15).

    A request made "at cancellation" is due the day after the end it expected; if that end was
    called off (a dropped R6 case) the contract is still in use, and its data stays until the
    contract really ends (then it is due at once). The product's data is the tenant's, not one
    contract's: while another contract of the tenant for the same product is active, nothing is
    ordered deleted (docs/security.md).
    """
    in_use = Contract.objects.filter(
        tenant_id=OuterRef("tenant_id"),
        product_id=OuterRef("contract__product_id"),
        status=ContractStatus.ACTIVE,
    )
    return DataDeletion.objects.filter(
        partition.tenant_q("tenant__"), status=DeletionStatus.SCHEDULED, due_on__lte=today
    ).exclude(Exists(in_use))


def deletion_reminder_key() -> Concat:
    """The outbox dedupe key notify gives a deletion's staff reminder (R15)."""
    return Concat(
        Value(f"{EventKind.DELETION_REMINDER}:deletion:"),
        Cast("pk", CharField()),
        Value(":reminder:staff"),
        output_field=CharField(),
    )


def deletion_reminders_due(today: date) -> QuerySet[DataDeletion]:
    """Scheduled deletions falling due within TERMS_DELETION_REMINDER_DAYS whose staff reminder
    was never queued (annotated with its `reminder_key`)."""
    horizon = today + rules.ONE_DAY * settings.TERMS_DELETION_REMINDER_DAYS
    return (
        DataDeletion.objects.filter(
            partition.tenant_q("tenant__"),
            status=DeletionStatus.SCHEDULED,
            due_on__gt=today,
            due_on__lte=horizon,
        )
        .annotate(reminder_key=deletion_reminder_key())
        .exclude(Exists(Outbox.objects.filter(dedupe_key=OuterRef("reminder_key"))))
    )


def tenants_redaction_due() -> QuerySet[Tenant]:
    """Tenants not yet redacted whose backup purge is ordered, with none still scheduled and no
    active contract (R15)."""
    backups = DataDeletion.objects.filter(tenant_id=OuterRef("pk"), kind=DeletionKind.BACKUP)
    return (
        Tenant.objects.filter(partition.tenant_q(), redacted_at__isnull=True)
        .filter(
            Exists(backups.filter(status__in=[DeletionStatus.ORDERED, DeletionStatus.ACKNOWLEDGED]))
        )
        .exclude(Exists(backups.filter(status=DeletionStatus.SCHEDULED)))
        .exclude(
            Exists(Contract.objects.filter(tenant_id=OuterRef("pk"), status=ContractStatus.ACTIVE))
        )
    )


def deletions_order_due(*, today: date) -> dict[str, int]:
    """Order due deletions to the product, redact at the purge, remind staff before the due date.

    The whole-day form (demo, tests); the lifecycle jobs call `deletions_order`,
    `tenants_redact` and `deletion_reminders_send` on the subjects they claimed.
    """
    counts = {"ordered": 0, "reminded": 0, "redacted": 0}
    batch = max(1, int(settings.TERMS_JOB_BATCH_SIZE))
    while True:
        ordered = _order_batch(today=today, size=batch)
        counts["ordered"] += ordered
        if ordered == 0:
            break
    # Derived from the tables rather than from this run, so a redaction interrupted by a
    # crash is picked up by the next run.
    counts["redacted"] = tenants_redact()
    counts["reminded"] = deletion_reminders_send(today=today)
    return counts


def deletions_order(*, today: date, ids: Sequence[int]) -> int:
    """Order exactly the deletions `ids` that are due; returns how many were ordered.

    Each becomes `ordered` by one conditional update, with an order event for the product and a
    notice to the tenant. One transaction; a row locked by a concurrent run is left alone.
    """
    return _order_batch(today=today, size=len(ids), ids=ids) if ids else 0


def tenants_redact(*, ids: Sequence[int] | None = None) -> int:
    """Redact every tenant (or those of `ids`) whose redaction is due; returns how many."""
    due = tenants_redaction_due()
    if ids is not None:
        due = due.filter(pk__in=ids)
    redacted = 0
    for tenant in due.order_by("pk"):
        tenant_redact(tenant=tenant)
        redacted += 1
    return redacted


def _order_batch(*, today: date, size: int, ids: Sequence[int] | None = None) -> int:
    with transaction.atomic():
        due_rows = deletions_due(today)
        if ids is not None:
            due_rows = due_rows.filter(pk__in=ids)
        due = list(
            due_rows.select_for_update(skip_locked=True, of=("self",))
            .select_related("contract", "contract__product", "tenant")
            .order_by("due_on", "pk")[:size]
        )
        if not due:
            return 0
        now = clock.now()
        changed = DataDeletion.objects.filter(
            pk__in=[d.pk for d in due], status=DeletionStatus.SCHEDULED
        ).update(status=DeletionStatus.ORDERED, ordered_at=now, updated_at=now)
        # The order to the product: its own event (no partner), read by the product's feed.
        Event.objects.bulk_create(
            [
                Event(
                    kind=EventKind.DELETION_ORDERED,
                    tenant_id=d.tenant_id,
                    partner_id=None,
                    subject_type=DataDeletion._meta.label_lower,
                    subject_id=d.pk,
                    payload={"audience": "product", **deletion_payload(d)},
                    occurred_at=now,
                )
                for d in due
            ]
        )
        notify(
            [
                Note(
                    kind=EventKind.DELETION_ORDERED,
                    tenant=d.tenant,
                    key=f"deletion:{d.pk}:ordered",
                    subject=d,
                    payload={**deletion_payload(d), "ordered_on": _iso(today)},
                )
                for d in due
            ]
        )
        return changed


def deletion_reminders_send(*, today: date, ids: Sequence[int] | None = None) -> int:
    """One staff reminder per deletion (or per one of `ids`) TERMS_DELETION_REMINDER_DAYS before
    it is due; returns how many were queued."""
    with transaction.atomic():
        due = deletion_reminders_due(today)
        if ids is not None:
            due = due.filter(pk__in=ids)
        fresh = list(
            due.select_related("contract", "contract__product", "tenant").order_by("due_on", "pk")
        )
        if not fresh:
            return 0
        notify(
            staff=[
                StaffNote(
                    kind=EventKind.DELETION_REMINDER,
                    key=f"deletion:{d.pk}:reminder",
                    payload={
                        "tenant_id": d.tenant_id,
                        "tenant_name": d.tenant.name,
                        **deletion_payload(d),
                        "days_left": (d.due_on - today).days,
                    },
                )
                for d in fresh
            ],
        )
        return len(fresh)


__all__ = [
    "deletion_acknowledge",
    "deletion_reminder_key",
    "deletion_reminders_due",
    "deletion_reminders_send",
    "deletion_request",
    "deletion_request_filed",
    "deletion_withdraw",
    "deletions_due",
    "deletions_order",
    "deletions_order_due",
    "tenant_redact",  # its own module (agreements.services.redaction), re-exported here
    "tenants_redact",
    "tenants_redaction_due",
]
