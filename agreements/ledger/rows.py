"""What a ledger row holds, and its hash: the one definition (docs/ledger.md).

Pure: no ORM, no clock. Every row hashes `prev_hash ‖ canonical JSON of its payload`.
Personal data stays out of the chain: it lives in ConsentEvidence with a random salt, and
the row carries only HMAC-SHA256(salt, value) digests, so deleting the evidence (redaction,
R15) leaves every hash verifiable and the digests unguessable.

Everything that writes rows (the appends, the bench's COPY loader, the test chains) builds
them with `chained_row`; everything that checks them recomputes with `chain_hash`.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agreements.models import ConsentRecord

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
# The key under which a deemed row's evidence_digests cites how the notice reached the tenant
# (plain text, not a digest: it holds no personal data, and a deemed row has no evidence row
# whose digests a verifier would compare).
NOTICE_REACHED_KEY = "notice_reached"
# Evidence values digested into the row; empty values are left out.
EVIDENCE_FIELDS = (
    "person_name",
    "person_email",
    "person_title",
    "reason",
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
    person_title: str = ""  # the answerer's title (役職), as given when answering
    reason: str = ""  # a rejection's optional reason, in the answerer's words
    ip_address: str = ""
    user_agent: str = ""
    obtained_at: datetime | None = None
    method: str = ""


@dataclass(frozen=True)
class Entry:
    """What a new row says before it has a place in a chain: the payload without the tenant,
    the seq and the evidence digests (those come with the chain and the evidence row)."""

    document_id: int
    version_id: int
    answer: str
    actor_kind: str
    actor_ref: str
    channel: str
    recorded_at: datetime
    version_body_hash: str
    notice_posted_at: datetime | None  # the notice the answer (or deemed consent) relies on
    # How that notice reached the tenant (R3), for a deemed consent: "route@instant#record".
    # Carried in evidence_digests under NOTICE_REACHED_KEY, so the payload keeps its twelve
    # keys and rows written before it verify unchanged.
    notice_reached: str = ""

    def reached_by(self, citation: str) -> Entry:
        """This entry citing how its notice reached one tenant: dataclasses.replace without
        its generic field walk (the effective-date job makes one per tenant)."""
        return Entry(**{**self.__dict__, "notice_reached": citation})


# --- Canonical form ------------------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def format_instant(value: datetime) -> str:
    """UTC ISO-8601 with microseconds and a Z: 2025-04-01T00:00:00.000000Z.

    Cached: a batch of deemed rows formats the same few instants on every row (equal aware
    datetimes are the same instant, so they share one UTC form)."""
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


# --- Evidence digests ----------------------------------------------------------------------


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


# --- Rows ----------------------------------------------------------------------------------


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


def chained_row(
    entry: Entry,
    *,
    tenant_id: int,
    seq: int,
    prev_hash: str,
    digests: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The column values of the row that puts `entry` at `seq` after `prev_hash` in the
    tenant's chain: the payload fields (instants as datetimes), `prev_hash` and `hash`."""
    fields: dict[str, Any] = {
        "tenant_id": tenant_id,
        "seq": seq,
        **entry_fields(entry),
        "evidence_digests": dict(digests or {}),
    }
    if entry.notice_reached:
        fields["evidence_digests"][NOTICE_REACHED_KEY] = entry.notice_reached
    digest = chain_hash(prev_hash, ledger_payload(**fields))
    return {**fields, "prev_hash": prev_hash, "hash": digest}


def row_payload(row: Mapping[str, Any]) -> dict[str, Any]:
    """The payload of a stored row given as a mapping (values(), an export line)."""
    return ledger_payload(**{name: row[name] for name in PAYLOAD_FIELDS})


def record_payload(record: ConsentRecord) -> dict[str, Any]:
    """The payload of a stored row given as a model instance."""
    return ledger_payload(**{name: getattr(record, name) for name in PAYLOAD_FIELDS})


def record_is_intact(record: ConsentRecord) -> bool:
    """Whether the row still hashes to its stored hash: any change to the answer, time,
    version, body hash or evidence digests would change it."""
    return chain_hash(record.prev_hash, record_payload(record)) == record.hash


# --- Batches of system rows ----------------------------------------------------------------

# Where a template puts each varying value: placeholders no entry's text holds (checked).
_SENTINELS = {"seq": "\x00seq\x00", "tenant": "\x00tenant\x00", "reached": "\x00reached\x00"}


class RowTemplate:
    """The canonical JSON of rows that differ only in tenant, seq and how the notice reached
    the tenant (a batch of the system's deemed rows), put together by string formatting
    instead of one json.dumps of the whole payload per row (bench: benchmark 4). It is
    canonical_json's own output split where those three values go, so both are equal by
    construction; tests/agreements/test_ledger.py holds them equal for awkward text too."""

    def __init__(self, entry: Entry) -> None:
        self.entry = entry
        sample = ledger_payload(
            **{
                **entry_fields(entry),
                "tenant_id": 0,
                "seq": 0,
                "evidence_digests": {NOTICE_REACHED_KEY: _SENTINELS["reached"]}
                if entry.notice_reached
                else {},
            }
        )
        sample["seq"], sample["tenant_id"] = _SENTINELS["seq"], _SENTINELS["tenant"]
        text = canonical_json(sample).decode("utf-8")
        quoted = {name: json.dumps(value, ensure_ascii=False) for name, value in _SENTINELS.items()}
        if any(text.count(quoted[name]) > 1 for name in _SENTINELS):
            raise ValueError("an entry's own text holds a placeholder of the template")
        found = sorted(
            (text.index(quoted[name]), name) for name in _SENTINELS if quoted[name] in text
        )
        # The names ("seq", "tenant", "reached") in the order the canonical JSON holds them.
        self.order = [name for _at, name in found]
        self.parts: list[str] = []
        rest = text
        for name in self.order:
            before, rest = rest.split(quoted[name], 1)
            self.parts.append(before)
        self.parts.append(rest)

    def hash(self, *, prev_hash: str, tenant_id: int, seq: int, reached_json: str = '""') -> str:
        """chain_hash of the row putting this entry at `seq` of `tenant_id`, citing how the
        notice reached it (`reached_json`: json.dumps(citation, ensure_ascii=False))."""
        values = {"seq": str(int(seq)), "tenant": str(int(tenant_id)), "reached": reached_json}
        parts = self.parts
        text = parts[0]
        for n, name in enumerate(self.order, 1):
            text += values[name] + parts[n]
        return hashlib.sha256((prev_hash + text).encode("utf-8")).hexdigest()


def entry_fields(entry: Entry) -> dict[str, Any]:
    """An entry's payload fields other than tenant, seq and evidence, in the ledger's order."""
    return {
        "document_id": entry.document_id,
        "version_id": entry.version_id,
        "answer": str(entry.answer),
        "actor_kind": str(entry.actor_kind),
        "actor_ref": str(entry.actor_ref),
        "channel": str(entry.channel),
        "recorded_at": entry.recorded_at,
        "version_body_hash": entry.version_body_hash,
        "notice_posted_at": entry.notice_posted_at,
    }
