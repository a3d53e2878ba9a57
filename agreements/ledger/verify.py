"""Checking and exporting the ledger: every chain recomputed from its rows (docs/ledger.md).

`ledger_verify` backs `manage.py verify_ledger`; `ledger_export_rows` writes the rows in the
export format the standalone reference verifier in docs/ledger.md reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet

from agreements.ledger.rows import (
    EVIDENCE_FIELDS,
    EXPORT_FIELDS,
    GENESIS_HASH,
    chain_hash,
    evidence_digests,
    row_payload,
)
from agreements.models import ConsentRecord, LedgerHead


@dataclass(frozen=True)
class LedgerProblem:
    """The first bad row of one tenant's chain."""

    tenant_id: int
    seq: int
    kind: str  # bad_hash | broken_link | seq_gap | head_mismatch | evidence_mismatch
    detail: str = ""

    def __str__(self) -> str:
        return f"tenant {self.tenant_id} seq {self.seq}: {self.kind} {self.detail}".rstrip()


_ROW_VALUES = EXPORT_FIELDS
_EVIDENCE_VALUES = tuple(f"evidence__{name}" for name in ("salt", *EVIDENCE_FIELDS))


def _rows(tenant_ids: Iterable[int] | None, *, with_evidence: bool) -> QuerySet[Any]:
    qs = ConsentRecord.objects.order_by("tenant_id", "seq")
    if tenant_ids is not None:
        qs = qs.filter(tenant_id__in=list(tenant_ids))
    rows: QuerySet[Any] = qs.values(*_ROW_VALUES, *(_EVIDENCE_VALUES if with_evidence else ()))
    return rows


def export_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row as docs/ledger.md exports it: its payload plus prev_hash and hash."""
    return {**row_payload(row), "prev_hash": row["prev_hash"], "hash": row["hash"]}


def ledger_export_rows(*, tenant_ids: Iterable[int] | None = None) -> Iterator[dict[str, Any]]:
    """Every row in chain order, in the export format (one JSON object per line)."""
    for row in _rows(tenant_ids, with_evidence=False).iterator(chunk_size=2000):
        yield export_row(row)


class _Evidence:
    def __init__(self, row: Mapping[str, Any]) -> None:
        for name in EVIDENCE_FIELDS:
            setattr(self, name, row[f"evidence__{name}"])


def ledger_verify(*, tenant_ids: Iterable[int] | None = None) -> list[LedgerProblem]:
    """Recompute every chain; the first bad row of each broken chain, in tenant order.

    Checks seq continuity from 1, the prev_hash link, the hash, the head (seq and hash of
    the last row) and, where the evidence row still exists, its digests.

    Heads and rows are read in one snapshot (REPEATABLE READ on PostgreSQL, when not already
    inside a transaction): read apart, an answer committed between the two reads would show
    as a head that lags its chain while the service is live.
    """
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            return _verify(tenant_ids)
    return _verify(tenant_ids)


def _verify(tenant_ids: Iterable[int] | None) -> list[LedgerProblem]:
    ids = list(tenant_ids) if tenant_ids is not None else None
    heads_qs = LedgerHead.objects.all()
    if ids is not None:
        heads_qs = heads_qs.filter(tenant_id__in=ids)
    heads = {
        tenant_id: (seq, digest)
        for tenant_id, seq, digest in heads_qs.values_list("tenant_id", "seq", "hash")
    }
    problems: dict[int, LedgerProblem] = {}
    last: dict[int, tuple[int, str]] = {}
    for row in _rows(ids, with_evidence=True).iterator(chunk_size=2000):
        tenant_id = row["tenant_id"]
        if tenant_id in problems:
            continue
        seq, prev = last.get(tenant_id, (0, GENESIS_HASH))
        problem = _check_row(row, expected_seq=seq + 1, expected_prev=prev)
        if problem is not None:
            problems[tenant_id] = problem
            continue
        last[tenant_id] = (row["seq"], row["hash"])
    for tenant_id in sorted(set(heads) | set(last)):
        if tenant_id in problems:
            continue
        head_seq, head_hash = heads.get(tenant_id, (0, GENESIS_HASH))
        last_seq, last_hash = last.get(tenant_id, (0, GENESIS_HASH))
        if (head_seq, head_hash) != (last_seq, last_hash):
            seq = min(head_seq, last_seq) + 1 if head_seq != last_seq else last_seq
            problems[tenant_id] = LedgerProblem(
                tenant_id, seq, "head_mismatch", f"head at {head_seq}, chain ends at {last_seq}"
            )
    return [problems[tenant_id] for tenant_id in sorted(problems)]


def _check_row(
    row: Mapping[str, Any], *, expected_seq: int, expected_prev: str
) -> LedgerProblem | None:
    tenant_id, seq = row["tenant_id"], row["seq"]
    if seq != expected_seq:
        return LedgerProblem(tenant_id, expected_seq, "seq_gap", f"found {seq}")
    if row["prev_hash"] != expected_prev:
        return LedgerProblem(
            tenant_id, seq, "broken_link", "prev_hash differs from the previous hash"
        )
    if chain_hash(row["prev_hash"], row_payload(row)) != row["hash"]:
        return LedgerProblem(tenant_id, seq, "bad_hash", "recomputed hash differs")
    salt = row.get("evidence__salt")
    if salt is not None and evidence_digests(salt, _Evidence(row)) != row["evidence_digests"]:
        return LedgerProblem(
            tenant_id, seq, "evidence_mismatch", "evidence differs from its digests"
        )
    return None
