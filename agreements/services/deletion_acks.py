"""The product's acknowledgement of an ordered deletion: its completion evidence (R15).

The evidence must be plausible, and it is written once:
- `completed_at` is not before the contract ended (nothing is deleted before the day after the
  end, R15) and not in the future beyond the tolerated clock skew;
- a repeat with the same evidence (the same instant in another offset counts as the same) is a
  retry and returns the row as it is; a repeat with other evidence is refused
  (`ack_evidence_differs`): the first acknowledgement is the record.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, cast

from django.db import transaction
from django.utils.translation import gettext as _

from agreements.enums import DeletionStatus
from agreements.models import DataDeletion
from agreements.services.deletion_notes import deletion_payload
from core import clock
from core.enums import EventKind
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tenants.notify import Note, notify
from tenants.scope import Scope

ACK_SCOPE = "deletion:ack"
# The clock skew tolerated between the product's clock and ours (as for consent evidence).
CLOCK_SKEW = timedelta(minutes=5)


def _instant(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo is not None else None
    return None


def _canonical(evidence: Mapping[str, Any]) -> dict[str, Any]:
    """The evidence as compared for a repeat: `completed_at` as one instant, whatever offset."""
    found = dict(evidence)
    instant = _instant(found.get("completed_at"))
    if instant is not None:
        found["completed_at"] = clock.api_instant(instant)
    return found


def ack_evidence_check(row: DataDeletion, evidence: Mapping[str, Any], *, now: datetime) -> None:
    """Refuses a completion time before the contract's end or in the future (R15)."""
    completed = _instant(evidence.get("completed_at"))
    if completed is None:
        return  # the API requires it; other callers may name their own evidence
    ended_on = row.contract.ended_on
    if ended_on is not None and completed < clock.start_of_day(ended_on + timedelta(days=1)):
        raise ValidationFailed(
            _("削除の完了日時が契約の終了（%(ended)s）より前になっています。")
            % {"ended": ended_on.isoformat()},
            code="completed_before_end",
            field="completed_at",
            ended_on=ended_on,
        )
    if completed > now + CLOCK_SKEW:
        raise ValidationFailed(
            _("削除の完了日時が未来になっています。"),
            code="completed_in_future",
            field="completed_at",
            tolerance_seconds=int(CLOCK_SKEW.total_seconds()),
        )


@transaction.atomic
def deletion_acknowledge(
    *, scope: Scope, deletion: DataDeletion, evidence: Mapping[str, Any]
) -> DataDeletion:
    """The product confirms an ordered deletion; its evidence is the completion record (R15).

    Only a product key with `deletion:ack`, only for its own product. Repeating the
    acknowledgement with the same evidence returns the same row unchanged; with other
    evidence it is refused (409 `ack_evidence_differs`).
    """
    if not scope.has_product_scope(ACK_SCOPE):
        raise PermissionDenied(_("削除完了を登録する権限がありません。"), code="missing_scope")
    row = (
        DataDeletion.objects.select_for_update(of=("self",))
        .select_related("contract", "contract__product", "tenant")
        .filter(pk=deletion.pk, contract__product_id=cast(int, scope.product_id))
        .first()
    )
    if row is None:
        raise NotFound(_("削除の指示が見つかりません。"), code="deletion_not_found")
    if not isinstance(evidence, Mapping):
        raise ValidationFailed(
            _("完了の証跡はオブジェクトで指定してください。"), code="invalid_evidence"
        )
    if row.status == DeletionStatus.ACKNOWLEDGED:
        if _canonical(evidence) == _canonical(row.ack_evidence or {}):
            return row  # a retry of the acknowledgement on record
        raise Conflict(
            _("この削除の完了はすでに別の証跡で登録されています（登録済みの証跡が有効です）。"),
            code="ack_evidence_differs",
        )
    if row.status == DeletionStatus.CANCELLED:
        raise Conflict(
            _("この削除は取り消されたため、指示されることはありません。"),
            code="deletion_not_ordered",
            deletion_status=row.status,
        )
    if row.status != DeletionStatus.ORDERED:
        raise Conflict(
            _("この削除はまだ指示されていません（期日 %(due)s）。")
            % {"due": row.due_on.isoformat() if row.due_on else None},
            code="deletion_not_ordered",
            deletion_status=row.status,
            due_on=row.due_on,
        )
    now = clock.now()
    ack_evidence_check(row, evidence, now=now)
    row.status = DeletionStatus.ACKNOWLEDGED
    row.acknowledged_at = now
    row.acknowledged_by_id = scope.product_key_id
    row.ack_evidence = dict(evidence)
    row.save(
        update_fields=["status", "acknowledged_at", "acknowledged_by", "ack_evidence", "updated_at"]
    )
    notify(
        [
            Note(
                kind=EventKind.DELETION_DONE,
                tenant=row.tenant,
                key=f"deletion:{row.pk}:done",
                subject=row,
                payload={
                    **deletion_payload(row),
                    "acknowledged_on": clock.business_date(now).isoformat(),
                },
            )
        ]
    )
    return row


__all__ = ["ACK_SCOPE", "ack_evidence_check", "deletion_acknowledge"]
