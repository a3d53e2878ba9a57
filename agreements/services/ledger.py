"""The consent ledger: one append-only hash chain per tenant (DESIGN: Ledger; R15).

Every row hashes `prev_hash ‖ canonical JSON of its payload` (docs/ledger.md). Personal data
stays out of the chain: it lives in ConsentEvidence with a random salt, and the row carries
only HMAC-SHA256(salt, value) digests, so deleting the evidence (redaction, R15) leaves every
hash verifiable and the digests unguessable.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from agreements.enums import Answer
from agreements.models import ConsentEvidence, ConsentRecord, LedgerHead, TermsVersion
from agreements.rules import DEEMED_NOT_ALLOWED, TransitionNotAllowed
from core import clock
from core.errors import Conflict

if TYPE_CHECKING:
    from tenants.models import Tenant
    from tenants.scope import Scope

GENESIS_HASH = "0" * 64

# The payload of a row, in the order docs/ledger.md lists it (the JSON itself is key-sorted).
PAYLOAD_FIELDS = (
    "tenant_id",
    "seq",
    "document_id",
    "version_id",
    "answer",
    "actor_kind",
    "actor_ref",
    "channel",
    "recorded_at",
    "version_body_hash",
    "notice_posted_at",
    "evidence_digests",
)
# An exported row: the payload plus the two chain fields (one JSON object per line).
EXPORT_FIELDS = (*PAYLOAD_FIELDS, "prev_hash", "hash")
# Evidence values digested into the row; empty values are left out.
EVIDENCE_FIELDS = (
    "person_name",
    "person_email",
    "ip_address",
    "user_agent",
    "obtained_at",
    "method",
)


@dataclass(frozen=True)
class EvidenceInput:
    """How consent was obtained and from whom; kept outside the chain (R15)."""

    person_name: str = ""
    person_email: str = ""
    ip_address: str = ""
    user_agent: str = ""
    obtained_at: datetime | None = None
    method: str = ""


@dataclass(frozen=True)
class LedgerProblem:
    """The first bad row of one tenant's chain."""

    tenant_id: int
    seq: int
    kind: str  # bad_hash | broken_link | seq_gap | head_mismatch | evidence_mismatch
    detail: str = ""

    def __str__(self) -> str:
        return f"tenant {self.tenant_id} seq {self.seq}: {self.kind} {self.detail}".rstrip()


# --- Canonical form ------------------------------------------------------------------------


def format_instant(value: datetime) -> str:
    """UTC ISO-8601 with microseconds and a Z: 2025-04-01T00:00:00.000000Z."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("ledger instants must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json_default(value: Any) -> str:
    if isinstance(value, datetime):
        return format_instant(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} has no canonical JSON form")


def canonical_json(payload: Mapping[str, Any]) -> bytes:
    """Sorted keys, no spaces, UTF-8 (not ASCII-escaped), instants as format_instant."""
    return json.dumps(
        payload,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=_json_default,
    ).encode("utf-8")


def chain_hash(prev_hash: str, payload: Mapping[str, Any]) -> str:
    """sha256(prev_hash as 64 ASCII hex characters ‖ canonical JSON of the payload)."""
    return hashlib.sha256(prev_hash.encode("ascii") + canonical_json(payload)).hexdigest()


def evidence_digest(salt: str, value: str) -> str:
    """HMAC-SHA256 keyed with the evidence row's salt, over the UTF-8 value, as hex."""
    return hmac.new(salt.encode("utf-8"), value.encode("utf-8"), hashlib.sha256).hexdigest()


def evidence_values(source: Any) -> dict[str, str]:
    """The non-empty evidence values of an EvidenceInput or ConsentEvidence, as strings."""
    values: dict[str, str] = {}
    for name in EVIDENCE_FIELDS:
        value = getattr(source, name, None)
        if value is None or value == "":
            continue
        values[name] = format_instant(value) if isinstance(value, datetime) else str(value)
    return values


def evidence_digests(salt: str, source: Any) -> dict[str, str]:
    return {name: evidence_digest(salt, value) for name, value in evidence_values(source).items()}


def ledger_payload(
    *,
    tenant_id: int,
    seq: int,
    document_id: int,
    version_id: int,
    answer: str,
    actor_kind: str,
    actor_ref: str,
    channel: str,
    recorded_at: datetime,
    version_body_hash: str,
    notice_posted_at: datetime | None,
    evidence_digests: Mapping[str, str],
) -> dict[str, Any]:
    """The hashed content of one row (docs/ledger.md lists it field by field)."""
    return {
        "tenant_id": int(tenant_id),
        "seq": int(seq),
        "document_id": int(document_id),
        "version_id": int(version_id),
        "answer": str(answer),
        "actor_kind": str(actor_kind),
        "actor_ref": str(actor_ref),
        "channel": str(channel),
        "recorded_at": format_instant(recorded_at),
        "version_body_hash": version_body_hash,
        "notice_posted_at": format_instant(notice_posted_at) if notice_posted_at else None,
        "evidence_digests": dict(evidence_digests),
    }


def record_payload(record: ConsentRecord) -> dict[str, Any]:
    return ledger_payload(
        tenant_id=record.tenant_id,
        seq=record.seq,
        document_id=record.document_id,
        version_id=record.version_id,
        answer=record.answer,
        actor_kind=record.actor_kind,
        actor_ref=record.actor_ref,
        channel=record.channel,
        recorded_at=record.recorded_at,
        version_body_hash=record.version_body_hash,
        notice_posted_at=record.notice_posted_at,
        evidence_digests=record.evidence_digests,
    )


def version_body_hash_of(version: TermsVersion) -> str:
    """The body hash the row cites; computed by the versions service when not stored yet."""
    if version.body_hash:
        return version.body_hash
    # Lazy: versions.py imports the consent services (notice_post → consent_states_open).
    from agreements.services.versions import version_body_hash  # noqa: PLC0415 -- import cycle

    return version_body_hash(version)


# --- Appending -----------------------------------------------------------------------------


def head_lock(tenant_id: int) -> LedgerHead:
    """Lock (SELECT ... FOR UPDATE) the tenant's chain head, creating it race-safely first."""
    try:
        return LedgerHead.objects.select_for_update().get(tenant_id=tenant_id)
    except LedgerHead.DoesNotExist:
        # INSERT ... ON CONFLICT DO NOTHING: a concurrent first append waits here for the
        # other transaction and then finds its head, instead of failing on the unique key.
        LedgerHead.objects.bulk_create([LedgerHead(tenant_id=tenant_id)], ignore_conflicts=True)
        return LedgerHead.objects.select_for_update().get(tenant_id=tenant_id)


def heads_lock(tenant_ids: list[int]) -> dict[int, LedgerHead]:
    """Lock many heads in two queries; tenant order keeps concurrent batches deadlock-free."""
    LedgerHead.objects.bulk_create(
        [LedgerHead(tenant_id=tenant_id) for tenant_id in tenant_ids], ignore_conflicts=True
    )
    heads = (
        LedgerHead.objects.select_for_update()
        .filter(tenant_id__in=tenant_ids)
        .order_by("tenant_id")
    )
    return {head.tenant_id: head for head in heads}


def heads_save(heads: list[LedgerHead]) -> None:
    """Write moved heads back (seq, hash, updated_at) in one statement.

    PostgreSQL: one UPDATE … FROM (VALUES …). Elsewhere Django's bulk_update, whose CASE WHEN
    per row and field costs about a millisecond of Python per head (bench: benchmark 4).
    """
    if not heads:
        return
    if connection.vendor != "postgresql":
        LedgerHead.objects.bulk_update(heads, ["seq", "hash", "updated_at"])
        return
    table = connection.ops.quote_name(LedgerHead._meta.db_table)
    rows = ", ".join(["(%s, %s, %s, %s)"] * len(heads))
    params = [value for h in heads for value in (h.pk, h.seq, h.hash, h.updated_at)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS h SET seq = v.seq, hash = v.hash, updated_at = v.updated_at "  # noqa: S608 -- placeholders only
            f"FROM (VALUES {rows}) AS v(id, seq, hash, updated_at) WHERE h.id = v.id",
            params,
        )


def append_locked(
    *,
    head: LedgerHead,
    version: TermsVersion,
    answer: str,
    actor_kind: str,
    actor_ref: str,
    channel: str,
    evidence: EvidenceInput | None = None,
    at: datetime | None = None,
) -> ConsentRecord:
    """Append a row to the chain whose head the caller has locked; moves the head."""
    recorded_at = at or clock.now()
    salt = secrets.token_hex(32) if evidence is not None else ""
    digests = evidence_digests(salt, evidence) if evidence is not None else {}
    seq = head.seq + 1
    fields: dict[str, Any] = {
        "tenant_id": head.tenant_id,
        "seq": seq,
        "document_id": version.document_id,
        "version_id": version.pk,
        "answer": str(answer),
        "actor_kind": str(actor_kind),
        "actor_ref": str(actor_ref),
        "channel": str(channel),
        "recorded_at": recorded_at,
        "version_body_hash": version_body_hash_of(version),
        "notice_posted_at": version.posted_at,
        "evidence_digests": digests,
    }
    digest = chain_hash(head.hash, ledger_payload(**fields))
    record = ConsentRecord.objects.create(**fields, prev_hash=head.hash, hash=digest)
    if evidence is not None:
        ConsentEvidence.objects.create(
            record=record,
            tenant_id=head.tenant_id,
            salt=salt,
            person_name=evidence.person_name,
            person_email=evidence.person_email,
            ip_address=evidence.ip_address,
            user_agent=evidence.user_agent,
            obtained_at=evidence.obtained_at,
            method=evidence.method,
        )
    head.seq, head.hash = seq, digest
    LedgerHead.objects.filter(pk=head.pk).update(seq=seq, hash=digest, updated_at=clock.now())
    return record


@transaction.atomic
def ledger_append(
    *,
    tenant: Tenant,
    version: TermsVersion,
    answer: str,
    scope: Scope,
    evidence: EvidenceInput | None = None,
    at: datetime | None = None,
) -> ConsentRecord:
    """Append one row for `tenant`, acting as `scope` (actor, channel). No truth-table check:
    callers go through consents.consent_answer; only the system may write `deemed` (R3)."""
    if answer == Answer.DEEMED and not scope.is_system:
        raise TransitionNotAllowed(DEEMED_NOT_ALLOWED, "only the system records deemed consent")
    head = head_lock(tenant.pk)
    return append_locked(
        head=head,
        version=version,
        answer=answer,
        actor_kind=scope.actor_kind,
        actor_ref=scope.actor_ref,
        channel=scope.channel,
        evidence=evidence,
        at=at,
    )


# --- Reading, verifying, redacting ----------------------------------------------------------

_ROW_VALUES = (
    "tenant_id",
    "seq",
    "document_id",
    "version_id",
    "answer",
    "actor_kind",
    "actor_ref",
    "channel",
    "recorded_at",
    "version_body_hash",
    "notice_posted_at",
    "evidence_digests",
    "prev_hash",
    "hash",
)
_EVIDENCE_VALUES = tuple(f"evidence__{name}" for name in ("salt", *EVIDENCE_FIELDS))


def _rows(tenant_ids: Iterable[int] | None, *, with_evidence: bool) -> QuerySet[Any]:
    qs = ConsentRecord.objects.order_by("tenant_id", "seq")
    if tenant_ids is not None:
        qs = qs.filter(tenant_id__in=list(tenant_ids))
    rows: QuerySet[Any] = qs.values(*_ROW_VALUES, *(_EVIDENCE_VALUES if with_evidence else ()))
    return rows


def export_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row as docs/ledger.md exports it: its payload plus prev_hash and hash."""
    payload = ledger_payload(**{name: row[name] for name in PAYLOAD_FIELDS})
    return {**payload, "prev_hash": row["prev_hash"], "hash": row["hash"]}


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
    """
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
    payload = ledger_payload(**{name: row[name] for name in PAYLOAD_FIELDS})
    if chain_hash(row["prev_hash"], payload) != row["hash"]:
        return LedgerProblem(tenant_id, seq, "bad_hash", "recomputed hash differs")
    salt = row.get("evidence__salt")
    if salt is not None and evidence_digests(salt, _Evidence(row)) != row["evidence_digests"]:
        return LedgerProblem(
            tenant_id, seq, "evidence_mismatch", "evidence differs from its digests"
        )
    return None


@transaction.atomic
def evidence_redact(*, tenant_id: int) -> int:
    """Delete the tenant's consent evidence (R15 backup purge); the chain stays verifiable."""
    deleted, _per_model = ConsentEvidence.objects.filter(tenant_id=tenant_id).delete()
    return deleted


def last_record(*, tenant_id: int, version_id: int) -> ConsentRecord:
    """The tenant's latest row for a version (a repeated answer returns it)."""
    record = (
        ConsentRecord.objects.filter(tenant_id=tenant_id, version_id=version_id)
        .order_by("-seq")
        .first()
    )
    if record is None:
        raise Conflict(_("回答の記録が見つかりません。"), code="record_missing")
    return record
