"""The auditor's export of one revision: every tenant it concerns with its answer, when, by
which channel, who answered and the ledger row's hash (docs/ledger.md, "Auditor export").

The rows named here are ledger rows, so each answer is checked the way the ledger is: the
JSON export carries the newest signed checkpoint, and the reference verifier in
docs/ledger.md checks the rows export against it (`verify.py rows.jsonl export.json KEY`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import F, Q
from django.utils.translation import gettext

from agreements.ledger.checkpoints import checkpoint_document
from agreements.ledger.rows import format_instant
from agreements.models import ConsentRecord, ConsentState, LedgerCheckpoint, TermsVersion
from agreements.selectors.consents import bound_tenants_q
from core import clock
from core.errors import NotFound
from tenants.models import Tenant
from tenants.scope import Scope

FORMAT = "terms-auditor-export/1"


@dataclass(frozen=True)
class AuditorRow:
    tenant_id: int
    tenant_name: str
    corporate_number: str
    status: str  # the tenant's consent status for this version ("" when it follows another)
    answer: str  # the last answer recorded for this version ("" when none)
    recorded_at: datetime | None
    channel: str
    actor_kind: str
    actor_ref: str
    seq: int | None
    hash: str
    person_name: str = ""  # who answered, as the evidence names them
    person_title: str = ""


def auditor_rows(*, scope: Scope, version: TermsVersion) -> list[AuditorRow]:
    """Every tenant bound by the version's document now or that answered the version, in
    tenant order, with its last answer to the version. Three queries. Staff only."""
    if not scope.is_privileged:
        raise NotFound(gettext("規約の版が見つかりません。"))
    last: dict[int, dict[str, Any]] = {}
    for record in (
        ConsentRecord.objects.filter(version=version)
        .order_by("tenant_id", "seq")
        .values(
            "tenant_id",
            "answer",
            "recorded_at",
            "channel",
            "actor_kind",
            "actor_ref",
            "seq",
            "hash",
            # The evidence row (one per ledger row; gone after redaction, R15).
            person_name=F("evidence__person_name"),
            person_title=F("evidence__person_title"),
        )
    ):
        last[record["tenant_id"]] = record
    tenants = (
        Tenant.objects.filter(
            bound_tenants_q(document=version.document, on_date=None) | Q(pk__in=list(last))
        )
        .order_by("pk")
        .values("pk", "name", "corporate_number")
    )
    states = dict(
        ConsentState.objects.filter(document_id=version.document_id, version=version).values_list(
            "tenant_id", "status"
        )
    )
    rows = []
    for tenant in tenants:
        record = last.get(tenant["pk"], {})
        rows.append(
            AuditorRow(
                tenant_id=tenant["pk"],
                tenant_name=tenant["name"],
                corporate_number=tenant["corporate_number"] or "",
                status=states.get(tenant["pk"], ""),
                answer=record.get("answer", ""),
                recorded_at=record.get("recorded_at"),
                channel=record.get("channel", ""),
                actor_kind=record.get("actor_kind", ""),
                actor_ref=record.get("actor_ref", ""),
                seq=record.get("seq"),
                hash=record.get("hash", ""),
                person_name=record.get("person_name") or "",
                person_title=record.get("person_title") or "",
            )
        )
    return rows


def auditor_document(*, scope: Scope, version: TermsVersion) -> dict[str, Any]:
    """The JSON export: the version, one entry per tenant, and the newest signed checkpoint
    (`checkpoint`, as backup manifests carry it, so the reference verifier reads this file as
    its checkpoint argument)."""
    rows = auditor_rows(scope=scope, version=version)
    newest = LedgerCheckpoint.objects.order_by("-number").first()
    return {
        "format": FORMAT,
        "generated_at": format_instant(clock.now()),
        "document": {"id": version.document_id, "title": version.document.title},
        "version": {
            "id": version.pk,
            "label": version.label,
            "name": version.display_name,
            "status": version.status,
            "effective_on": version.effective_on.isoformat() if version.effective_on else None,
            "body_hash": version.body_hash,
        },
        "answers": [
            {
                "tenant_id": row.tenant_id,
                "tenant": row.tenant_name,
                "corporate_number": row.corporate_number,
                "status": row.status,
                "answer": row.answer or None,
                "recorded_at": format_instant(row.recorded_at) if row.recorded_at else None,
                "channel": row.channel or None,
                "actor_kind": row.actor_kind or None,
                "actor_ref": row.actor_ref or None,
                "person_name": row.person_name or None,
                "person_title": row.person_title or None,
                "seq": row.seq,
                "hash": row.hash or None,
            }
            for row in rows
        ],
        "checkpoint": checkpoint_document(newest) if newest is not None else None,
    }
