"""The digest a customer request's receipt carries (R13): the one definition.

A non-renewal, a termination or a deletion request is not a ledger row (the chain records
answers to versions), so its receipt carries the SHA-256 of the request's canonical fields,
in the ledger's canonical JSON (rows.canonical_json: sorted keys, no spaces, UTF-8). The
digest is stored when the request is filed (RequestReceipt) so /verify/ can find it, and
recomputed from the request on every display and verification, so a printed receipt can be
compared with what the service holds.

Pure: no ORM, no clock; reads attributes of the request it is given.
"""

from __future__ import annotations

import hashlib
from typing import Any

from agreements.enums import RequestKind
from agreements.ledger.rows import canonical_json

NON_RENEWAL = RequestKind.NON_RENEWAL.value
TERMINATION = RequestKind.TERMINATION.value
DELETION = RequestKind.DELETION.value

# The request's own fields that the digest covers, per kind (besides kind, ids and filing instant).
FIELDS = {
    NON_RENEWAL: ("requested_on", "end_date", "deadline", "actor_kind", "channel"),
    TERMINATION: ("end_date", "reason", "actor_kind", "channel"),
    DELETION: ("requested_on", "due_on"),
}
# Fields a kind's digest covers only once set: a deletion request records its channel from
# migration 0025 on, and the receipts issued before it must keep verifying.
FIELDS_WHEN_SET = {
    NON_RENEWAL: (),
    TERMINATION: (),
    DELETION: ("channel",),
}


def filed_at(kind: str, obj: Any) -> Any:
    """When the request was filed: a deletion's creation, the others' `requested_at`."""
    return obj.created_at if kind == DELETION else obj.requested_at


def request_digest(kind: str, obj: Any) -> str:
    """SHA-256 (hex) of the request as filed: kind, ids, filing instant and its own dates."""
    body: dict[str, Any] = {
        "kind": kind,
        "id": obj.pk,
        "tenant": obj.tenant_id,
        "contract": obj.contract_id,
        "filed_at": filed_at(kind, obj).isoformat(),
    }
    for name in FIELDS[kind]:
        value = getattr(obj, name)
        body[name] = value.isoformat() if hasattr(value, "isoformat") else str(value)
    for name in FIELDS_WHEN_SET[kind]:
        if getattr(obj, name):
            body[name] = str(getattr(obj, name))
    return hashlib.sha256(canonical_json(body)).hexdigest()
