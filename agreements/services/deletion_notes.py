"""What notices say about a data deletion (R15), shared by the deletion services and the
non-renewal withdrawal that cancels a request with its end. Imports no other service, so
either side may use it."""

from __future__ import annotations

from datetime import date
from typing import Any

from agreements.models import Contract, DataDeletion
from core.enums import EventKind
from tenants.notify import Note


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def deletion_payload(deletion: DataDeletion) -> dict[str, Any]:
    """The deletion, its contract and product (the contract loaded with its product)."""
    contract = deletion.contract
    return {
        "deletion_id": deletion.pk,
        "contract_id": contract.pk,
        "product_code": contract.product.code,
        "product_name": contract.product.name,
        "kind": deletion.kind,
        "due_on": _iso(deletion.due_on),
        "contract_ended_on": _iso(contract.ended_on),
    }


def deletion_requested_note(deletion: DataDeletion, *, end: date) -> Note:
    """The tenant's `deletion.requested` notice: its request was filed, due on `due_on`, after
    the contract's end `end` (the deletion loaded with its contract and product)."""
    return Note(
        kind=EventKind.DELETION_REQUESTED,
        tenant=deletion.contract.tenant,
        key=f"deletion:{deletion.pk}:requested",
        subject=deletion,
        payload={
            **deletion_payload(deletion),
            "requested_on": _iso(deletion.requested_on),
            "contract_ends_on": _iso(end),
            "channel": deletion.channel,
        },
    )


def deletion_withdrawn_note(
    deletion: DataDeletion, contract: Contract, *, on: date, cause: str = ""
) -> Note:
    """The tenant's `deletion.withdrawn` notice: by its own withdrawal, or with `cause` (the
    end it relied on was withdrawn)."""
    deletion.contract = contract
    payload = {**deletion_payload(deletion), "withdrawn_on": _iso(on)}
    if cause:
        payload["cause"] = cause
    return Note(
        kind=EventKind.DELETION_WITHDRAWN,
        tenant=contract.tenant,
        key=f"deletion:{deletion.pk}:withdrawn",
        subject=deletion,
        payload=payload,
    )
