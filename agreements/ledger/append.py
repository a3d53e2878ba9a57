"""Appending to the ledger: one answer under its tenant's head lock, or a batch of tenants
whose heads are locked together (docs/ledger.md).

The rows are built by `rows.chained_row` only; these functions add the transport (INSERTs)
and move the heads. No truth-table check here: the consent services decide what may be
answered, the ledger records it.
"""

from __future__ import annotations

import functools
import io
import json
import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from json.encoder import encode_basestring
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction

from agreements.enums import Answer
from agreements.ledger.heads import LockedHead, head_lock, heads_save
from agreements.ledger.rows import (
    EXPORT_FIELDS,
    NOTICE_REACHED_KEY,
    Entry,
    EvidenceInput,
    RowTemplate,
    chained_row,
    entry_fields,
    evidence_digests,
)
from agreements.models import ConsentEvidence, ConsentRecord, LedgerHead, TermsVersion
from agreements.rules import DEEMED_NOT_ALLOWED, TransitionNotAllowed
from core import clock, prepared
from core.inserts import insert_values, saved

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
    move the head: on PostgreSQL one statement (the row, its evidence when given, the head:
    the answer's hot path, bench #2); elsewhere an INSERT of each and an UPDATE of the head."""
    salt = secrets.token_hex(32) if evidence is not None else ""
    digests = evidence_digests(salt, evidence) if evidence is not None else {}
    seq = head.seq + 1
    row = chained_row(
        entry, tenant_id=head.tenant_id, seq=seq, prev_hash=head.hash, digests=digests
    )
    record = ConsentRecord(**row)
    kept = (
        ConsentEvidence(
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
        if evidence is not None
        else None
    )
    now = clock.now()
    if connection.vendor == "postgresql":
        _append_in_one_statement(head, record, kept, now)
    else:
        record.save(force_insert=True)
        if kept is not None:
            kept.record = record
            kept.save(force_insert=True)
        LedgerHead.objects.filter(pk=head.pk).update(seq=seq, hash=record.hash, updated_at=now)
    head.seq, head.hash = seq, record.hash
    return record


def _append_in_one_statement(
    head: LedgerHead, record: ConsentRecord, evidence: ConsentEvidence | None, now: datetime
) -> None:
    """INSERT the row and its evidence and UPDATE the head, in one round trip: a CTE per
    write (each runs once, whatever the final SELECT reads)."""
    record_columns, record_values = insert_values(record)
    params = [*record_values]
    evidence_columns: tuple[str, ...] = ()
    if evidence is not None:
        columns, values = insert_values(evidence)
        own = columns.index("record_id")
        evidence_columns = tuple(columns)
        params += values[:own] + values[own + 1 :]
    params += [record.seq, record.hash, now, head.pk]
    with connection.cursor() as cursor:
        prepared.execute(cursor, _append_sql(tuple(record_columns), evidence_columns), params)
        (pk,) = cursor.fetchone()
    saved(record, pk)


@functools.cache
def _append_sql(record_columns: tuple[str, ...], evidence_columns: tuple[str, ...]) -> str:
    q = connection.ops.quote_name
    sql = (
        f"WITH r AS (INSERT INTO {q(ConsentRecord._meta.db_table)} "  # noqa: S608 -- placeholders only
        f"({', '.join(map(q, record_columns))}) "
        f"VALUES ({', '.join(['%s'] * len(record_columns))}) RETURNING id), "
    )
    if evidence_columns:
        select = ", ".join("r.id" if c == "record_id" else "%s" for c in evidence_columns)
        sql += (
            f"e AS (INSERT INTO {q(ConsentEvidence._meta.db_table)} "  # noqa: S608 -- placeholders only
            f"({', '.join(map(q, evidence_columns))}) SELECT {select} FROM r), "
        )
    return sql + (  # noqa: S608 -- placeholders only
        f"h AS (UPDATE {q(LedgerHead._meta.db_table)} SET seq = %s, hash = %s, "  # noqa: S608 -- placeholders only
        "updated_at = %s WHERE id = %s) SELECT id FROM r"
    )


def append_many(
    *, heads: Mapping[int, LockedHead], entries: Sequence[tuple[int, Entry]]
) -> list[tuple[int, int]]:
    """Append one row per (tenant id, entry) to chains whose heads the caller locked
    together (heads.heads_lock), in order; rows without evidence (the system's answers).
    Returns (tenant id, row id) per row, in order: no model instances, which were most of a
    large batch's Python time (bench: benchmark 4).

    Three statements on PostgreSQL whatever the batch size (the row ids reserved, one COPY of
    the rows, one UPDATE of the moved heads, heads.heads_save); elsewhere one INSERT and the
    UPDATE. A head's `updated_at` becomes its last entry's `recorded_at`.
    """
    if not entries:
        return []
    template = _shared_template(entries) if connection.vendor == "postgresql" else None
    if template is not None:
        cited = [(tenant_id, entry.notice_reached) for tenant_id, entry in entries]
        written = _copy_templated(template, heads, cited)
    else:
        rows: list[dict[str, Any]] = []
        for tenant_id, entry in entries:
            head = heads[tenant_id]
            row = chained_row(entry, tenant_id=tenant_id, seq=head.seq + 1, prev_hash=head.hash)
            rows.append(row)
            head.seq, head.hash, head.updated_at = row["seq"], row["hash"], entry.recorded_at
        ids = _insert_rows(rows)
        written = [(row["tenant_id"], pk) for row, pk in zip(rows, ids, strict=True)]
    heads_save([heads[tenant_id] for tenant_id in dict.fromkeys(t for t, _e in entries)])
    return written


def append_cited(
    *, heads: Mapping[int, LockedHead], entry: Entry, citations: Sequence[tuple[int, str]]
) -> list[tuple[int, int]]:
    """append_many of `entry` for every (tenant id, citation), each row citing how the notice
    reached its tenant (R3: the effective-date job's deemed rows): the same rows, without an
    Entry per tenant to build and compare (bench: benchmark 4)."""
    if not citations:
        return []
    template = None
    if connection.vendor == "postgresql" and all(citation for _t, citation in citations):
        try:
            template = RowTemplate(entry.reached_by(citations[0][1]))
        except ValueError:
            template = None
    if template is None:
        return append_many(
            heads=heads,
            entries=[(tenant_id, entry.reached_by(citation)) for tenant_id, citation in citations],
        )
    written = _copy_templated(template, heads, citations)
    heads_save([heads[tenant_id] for tenant_id in dict.fromkeys(t for t, _c in citations)])
    return written


def _shared_template(entries: Sequence[tuple[int, Entry]]) -> RowTemplate | None:
    """The template of a batch whose entries differ only in the notice citation (the
    effective-date job's deemed rows), or None (each row built on its own)."""
    first = entries[0][1]
    shape = _shape(first)
    if any(_shape(entry) != shape for _tenant_id, entry in entries):
        return None
    try:
        return RowTemplate(first)
    except ValueError:
        return None


def _shape(entry: Entry) -> tuple[Any, ...]:
    """What a template fixes: every field but the citation, and whether there is one."""
    return (*entry_fields(entry).values(), bool(entry.notice_reached))


def _copy_templated(
    template: RowTemplate, heads: Mapping[int, LockedHead], cited: Sequence[tuple[int, str]]
) -> list[tuple[int, int]]:
    """append_many's rows from one template in one COPY (PostgreSQL): the row ids reserved,
    each row's hash from the template, its COPY line from the batch's shared columns; one
    (tenant id, citation of how the notice reached it, or "") per row."""
    entry = template.entry
    text = _copy_text()
    # The columns between seq and prev_hash, in the ledger's order: the same on every row.
    shared = "\t".join(text(value) for value in entry_fields(entry).values())
    table = ConsentRecord._meta.db_table
    with connection.cursor() as cursor:
        ids = _reserve_ids(cursor, table, len(cited))
        lines = []
        for pk, (tenant_id, citation) in zip(ids, cited, strict=True):
            head = heads[tenant_id]
            seq, prev_hash = head.seq + 1, head.hash
            if citation:
                # json.dumps(citation, ensure_ascii=False) without its per-call setup.
                reached = encode_basestring(citation)
                digests = ('{"' + NOTICE_REACHED_KEY + '": ' + reached + "}").translate(
                    _COPY_ESCAPES
                )
            else:
                reached, digests = '""', "{}"
            digest = template.hash(
                prev_hash=prev_hash, tenant_id=tenant_id, seq=seq, reached_json=reached
            )
            lines.append(f"{pk}\t{tenant_id}\t{seq}\t{shared}\t{prev_hash}\t{digest}\t{digests}\n")
            head.seq, head.hash, head.updated_at = seq, digest, entry.recorded_at
        columns = ", ".join(("id", *_ROW_COLUMNS, "evidence_digests"))
        copy_counted(
            cursor,
            f"COPY {connection.ops.quote_name(table)} ({columns}) FROM STDIN",
            "".join(lines),
        )
    return [(tenant_id, pk) for pk, (tenant_id, _c) in zip(ids, cited, strict=True)]


def _reserve_ids(cursor: Any, table: str, count: int) -> list[int]:
    cursor.execute(
        "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
        [table, count],
    )
    return [pk for (pk,) in cursor.fetchall()]


# A row's columns: the hashed payload and the two chain fields, in the ledger's own order.
_COLUMNS = EXPORT_FIELDS


def _insert_rows(rows: list[dict[str, Any]]) -> list[int]:
    """The rows in one go; returns their ids in order.

    PostgreSQL: the ids are taken from the table's sequence first, then the rows are sent
    with COPY (a multi-row INSERT cost the server several times a COPY of the same rows, and
    quoting each value in Python most of the rest). Elsewhere: bulk_create."""
    if connection.vendor != "postgresql":
        records = [ConsentRecord(**row) for row in rows]
        ConsentRecord.objects.bulk_create(records)
        return [record.pk for record in records]
    table = ConsentRecord._meta.db_table
    with connection.cursor() as cursor:
        ids = _reserve_ids(cursor, table, len(rows))
        text = _copy_text()
        lines = "".join(
            "\t".join([str(pk), *(text(row[column]) for column in _ROW_COLUMNS)])
            + "\t"
            + json.dumps(row["evidence_digests"], sort_keys=True).translate(_COPY_ESCAPES)
            + "\n"
            for pk, row in zip(ids, rows, strict=True)
        )
        columns = ", ".join(("id", *_ROW_COLUMNS, "evidence_digests"))
        copy_counted(
            cursor, f"COPY {connection.ops.quote_name(table)} ({columns}) FROM STDIN", lines
        )
    return ids


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


# COPY's columns: the JSON one last, written on its own.
_ROW_COLUMNS = tuple(column for column in _COLUMNS if column != "evidence_digests")


def _copy_text() -> Callable[[Any], str]:
    """A value in COPY's text format: NULL as \\N, backslash and separators escaped.

    The values a batch shares (its version, answer, actor, instant) are formatted once: a
    batch repeats them on every row."""
    seen: dict[Any, str] = {}

    def text(value: Any) -> str:
        if value is None:
            return "\\N"
        out = seen.get(value)
        if out is None:
            raw = value.isoformat() if isinstance(value, datetime) else str(value)
            out = raw.translate(_COPY_ESCAPES)
            if len(seen) < 64:
                seen[value] = out
        return out

    return text


def copy_counted(cursor: Any, sql: str, data: str) -> None:
    """COPY ... FROM STDIN through Django's cursor wrapper, so that the statement is counted
    and logged like any other (query-count tests, the database's execute wrappers)."""

    def copy(sql: str, params: Any, many: bool, context: dict[str, Any]) -> None:
        cursor.cursor.copy_expert(sql, io.StringIO(data))

    debug_sql = getattr(cursor, "debug_sql", None)
    if debug_sql is None:
        cursor._execute_with_wrappers(sql, None, False, copy)
        return
    with debug_sql(sql, None, use_last_executed_query=False):
        cursor._execute_with_wrappers(sql, None, False, copy)


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
