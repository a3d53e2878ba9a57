"""Appending to the ledger: one answer under its tenant's head lock, or a batch of tenants
whose heads are locked together (docs/ledger.md).

The rows are built by `rows.chained_row` only; these functions add the transport (INSERTs)
and move the heads. No truth-table check here: the consent services decide what may be
answered, the ledger records it.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import connection, transaction

from agreements.enums import Answer
from agreements.ledger.heads import head_lock, heads_save
from agreements.ledger.rows import (
    EXPORT_FIELDS,
    Entry,
    EvidenceInput,
    chained_row,
    evidence_digests,
)
from agreements.models import ConsentEvidence, ConsentRecord, LedgerHead, TermsVersion
from agreements.rules import DEEMED_NOT_ALLOWED, TransitionNotAllowed
from core import clock

if TYPE_CHECKING:
    from tenants.models import Tenant
    from tenants.scope import Scope


def entry_for(
    version: TermsVersion,
    *,
    answer: str,
    actor_kind: str,
    actor_ref: str,
    channel: str,
    at: datetime,
    body_hash: str,
) -> Entry:
    """An entry answering `version`: it cites the version's body hash and the notice posted
    for it (the notice an answer, or a deemed consent, relies on)."""
    return Entry(
        document_id=version.document_id,
        version_id=version.pk,
        answer=str(answer),
        actor_kind=str(actor_kind),
        actor_ref=str(actor_ref),
        channel=str(channel),
        recorded_at=at,
        version_body_hash=body_hash,
        notice_posted_at=version.posted_at,
    )


def append_one(
    *, head: LedgerHead, entry: Entry, evidence: EvidenceInput | None = None
) -> ConsentRecord:
    """Append `entry` to the chain whose head the caller has locked (heads.head_lock) and
    move the head: an INSERT of the row, one of its evidence (when given), an UPDATE of the
    head."""
    salt = secrets.token_hex(32) if evidence is not None else ""
    digests = evidence_digests(salt, evidence) if evidence is not None else {}
    seq = head.seq + 1
    row = chained_row(
        entry, tenant_id=head.tenant_id, seq=seq, prev_hash=head.hash, digests=digests
    )
    record = ConsentRecord.objects.create(**row)
    if evidence is not None:
        ConsentEvidence.objects.create(
            record=record,
            tenant_id=head.tenant_id,
            salt=salt,
            person_name=evidence.person_name,
            person_email=evidence.person_email,
            person_title=evidence.person_title,
            reason=evidence.reason,
            ip_address=evidence.ip_address,
            user_agent=evidence.user_agent,
            obtained_at=evidence.obtained_at,
            method=evidence.method,
        )
    head.seq, head.hash = seq, record.hash
    LedgerHead.objects.filter(pk=head.pk).update(seq=seq, hash=record.hash, updated_at=clock.now())
    return record


def append_many(
    *, heads: Mapping[int, LedgerHead], entries: Sequence[tuple[int, Entry]]
) -> list[ConsentRecord]:
    """Append one row per (tenant id, entry) to chains whose heads the caller locked
    together (heads.heads_lock), in order; rows without evidence (the system's answers).

    Two statements whatever the batch size: one INSERT of the rows, one UPDATE of the moved
    heads (heads.heads_save). A head's `updated_at` becomes its last entry's `recorded_at`.
    """
    records: list[ConsentRecord] = []
    for tenant_id, entry in entries:
        head = heads[tenant_id]
        row = chained_row(entry, tenant_id=tenant_id, seq=head.seq + 1, prev_hash=head.hash)
        records.append(ConsentRecord(**row))
        head.seq, head.hash, head.updated_at = row["seq"], row["hash"], entry.recorded_at
    if not records:
        return records
    _insert_records(records)
    heads_save([heads[tenant_id] for tenant_id in dict.fromkeys(t for t, _e in entries)])
    return records


# A row's columns: the hashed payload and the two chain fields, in the ledger's own order.
_COLUMNS = EXPORT_FIELDS


def _insert_records(records: list[ConsentRecord]) -> None:
    """One multi-row INSERT ... RETURNING id. PostgreSQL: the row values quoted by the driver,
    without Django compiling a placeholder per field (most of a deemed batch's Python time,
    bench: benchmark 4). Elsewhere: bulk_create."""
    if connection.vendor != "postgresql":
        ConsentRecord.objects.bulk_create(records)
        return
    table = connection.ops.quote_name(ConsentRecord._meta.db_table)
    template = "(" + ", ".join(["%s"] * len(_COLUMNS)) + ")"
    with connection.cursor() as cursor:
        # Values quoted by psycopg2 itself (mogrify), the statement run through Django's cursor
        # so that it is counted and logged like any other.
        values = b",".join(
            cursor.cursor.mogrify(
                template,
                [
                    json.dumps(record.evidence_digests, sort_keys=True)
                    if column == "evidence_digests"
                    else getattr(record, column)
                    for column in _COLUMNS
                ],
            )
            for record in records
        ).decode()
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(_COLUMNS)}) VALUES {values} RETURNING id"  # noqa: S608 -- values quoted by the driver
        )
        ids = cursor.fetchall()
    for record, (pk,) in zip(records, ids, strict=True):
        record.pk = pk
        record._state.adding = False
        record._state.db = connection.alias


@transaction.atomic
def ledger_append(
    *,
    tenant: Tenant,
    version: TermsVersion,
    answer: str,
    scope: Scope,
    evidence: EvidenceInput | None = None,
    at: datetime | None = None,
    body_hash: str | None = None,
) -> ConsentRecord:
    """Append one row for `tenant`, acting as `scope` (actor, channel), taking the head lock.

    No truth-table check: answers go through the consent services (consent_answer); only
    the system may write `deemed` (R3). The row cites `body_hash`, by default the hash
    stored on the version when it was scheduled or imported.
    """
    if answer == Answer.DEEMED and not scope.is_system:
        raise TransitionNotAllowed(DEEMED_NOT_ALLOWED, "only the system records deemed consent")
    cited = body_hash or version.body_hash
    if not cited:
        raise ValueError("the version has no body hash: it was never scheduled or imported")
    head = head_lock(tenant.pk)
    entry = entry_for(
        version,
        answer=answer,
        actor_kind=scope.actor_kind,
        actor_ref=scope.actor_ref,
        channel=scope.channel,
        at=at or clock.now(),
        body_hash=cited,
    )
    return append_one(head=head, entry=entry, evidence=evidence)
