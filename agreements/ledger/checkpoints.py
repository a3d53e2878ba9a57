"""Signed checkpoints of the chain heads: build, sign, verify (docs/ledger.md, "Checkpoints").

The append-only trigger stops the application, not a database administrator: one INSERT of a
row and one UPDATE of its tenant's head give a chain that verifies against itself. A
checkpoint is the set of every tenant's head (tenant id, seq, hash) as of an instant, signed
with an Ed25519 key that is not in the database (`keys`). Once signed, the rows it covers can
no longer be changed, removed or back-dated without `checkpoints_verify` noticing:

- a head it names is no longer in its chain (a rewritten or truncated chain): `rewritten`,
  `missing`;
- a row recorded before its instant lies beyond the head it names, or in a chain it does
  not name (a back-dated insert): `uncovered_row`.

Checkpoints form a chain of their own (`previous` = SHA-256 of the previous statement), so
one removed from the middle shows as `removed`; the newest ones are compared with outside
copies (the public page, the logs, backup manifests) to catch their removal.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, transaction
from django.db.models import QuerySet

from agreements.enums import CheckpointKind
from agreements.ledger.heads import ChainHead, chain_heads, heads_from_json, heads_still_in_chain
from agreements.ledger.keys import (
    key_id,
    public_b64,
    signature_is_valid,
    signing_key,
    trusted_public_keys,
)
from agreements.ledger.rows import canonical_json, format_instant
from agreements.models import LedgerCheckpoint
from core import clock

logger = logging.getLogger("terms.ledger")

FORMAT = "terms-ledger-checkpoint/1"
STATEMENT_KEYS = frozenset(
    {"format", "number", "previous", "created_at", "as_of", "key_id", "heads_count", "heads_digest"}
)


# --- Building and signing --------------------------------------------------------------------


def heads_canonical(heads: Iterable[ChainHead]) -> list[dict[str, Any]]:
    return [head.as_dict() for head in sorted(heads)]


def heads_digest(heads: Iterable[ChainHead]) -> str:
    """SHA-256 over the canonical JSON of the heads, by tenant id (docs/ledger.md)."""
    return hashlib.sha256(canonical_json({"heads": heads_canonical(heads)})).hexdigest()


def statement_digest(statement: bytes) -> str:
    return hashlib.sha256(statement).hexdigest()


def _as_of(*, kind: str, now: datetime) -> datetime:
    as_of = now - timedelta(seconds=settings.TERMS_CHECKPOINT_SETTLE_SECONDS)
    if kind == CheckpointKind.DAILY:
        # The day's heads as logged at 00:05 and exported as metrics (heads.daily_heads), so
        # the signed value and the logged one can be compared line by line.
        as_of = min(as_of, clock.start_of_day(clock.business_date(now)))
    return as_of


def checkpoint_create(*, kind: str, using: str = DEFAULT_DB_ALIAS) -> LedgerCheckpoint:
    """Sign the heads of every chain as of a few minutes ago (the start of the day for the
    daily one) and store the checkpoint; logs it (`ledger.checkpoint`) as an outside copy.

    Raises CheckpointKeyMissing in production without a key, before touching the database.
    """
    key = signing_key()
    for attempt in range(3):
        try:
            checkpoint = _create(kind=kind, key=key, using=using)
        except IntegrityError:
            # Two signers took the same number; the later one starts over from the new head.
            if attempt == 2:
                raise
            continue
        logger.info(
            "ledger.checkpoint",
            extra={
                "number": checkpoint.number,
                "kind": checkpoint.kind,
                "as_of": format_instant(checkpoint.as_of),
                "heads_count": checkpoint.heads_count,
                "heads_digest": checkpoint.heads_digest,
                "digest": checkpoint.digest,
                "key_id": checkpoint.key_id,
                "signature": checkpoint.signature,
            },
        )
        return checkpoint
    raise AssertionError("unreachable")  # pragma: no cover


def _create(*, kind: str, key: Ed25519PrivateKey, using: str) -> LedgerCheckpoint:
    with transaction.atomic(using=using):
        now = clock.now()
        as_of = _as_of(kind=kind, now=now)
        last = (
            LedgerCheckpoint.objects.using(using)
            .select_for_update()
            .order_by("-number")
            .only("number", "statement")
            .first()
        )
        heads = chain_heads(before=as_of, using=using)
        public = key.public_key()
        fields: dict[str, Any] = {
            "format": FORMAT,
            "number": (last.number + 1) if last else 1,
            "previous": statement_digest(last.statement.encode("utf-8")) if last else None,
            "created_at": format_instant(now),
            "as_of": format_instant(as_of),
            "key_id": key_id(public),
            "heads_count": len(heads),
            "heads_digest": heads_digest(heads),
        }
        statement = canonical_json(fields)
        return LedgerCheckpoint.objects.using(using).create(
            number=fields["number"],
            kind=kind,
            created_at=now,
            as_of=as_of,
            key_id=fields["key_id"],
            heads_count=len(heads),
            heads_digest=fields["heads_digest"],
            heads=heads_canonical(heads),
            statement=statement.decode("utf-8"),
            signature=base64.b64encode(key.sign(statement)).decode("ascii"),
            digest=statement_digest(statement),
        )


def checkpoint_document(checkpoint: LedgerCheckpoint, *, with_heads: bool = True) -> dict[str, Any]:
    """The checkpoint as it leaves the database (backup manifests, `ledger_checkpoint
    --output`, the public page without the heads): the signed statement as a string, exactly
    as signed, its signature, and the heads it covers."""
    document: dict[str, Any] = {
        "format": FORMAT,
        "statement": checkpoint.statement,
        "signature": checkpoint.signature,
        "digest": checkpoint.digest,
    }
    keys = trusted_public_keys()
    if checkpoint.key_id in keys:
        document["public_key"] = public_b64(keys[checkpoint.key_id])
    if with_heads:
        document["heads"] = checkpoint.heads
    return document


def checkpoints_public(*, before: int | None = None, limit: int = 50) -> QuerySet[LedgerCheckpoint]:
    """The newest checkpoints (below number `before`), without their heads: the public page."""
    qs = LedgerCheckpoint.objects.defer("heads").order_by("-number")
    if before is not None:
        qs = qs.filter(number__lt=before)
    return qs[:limit]


# --- Verifying -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckpointProblem:
    """Why a checkpoint does not hold, or where the ledger no longer matches it."""

    number: int
    # The checkpoint: no_trusted_key | unknown_key | bad_signature | bad_statement |
    # heads_altered | broken_link | removed | not_in_database. The chains (with tenant_id):
    # rewritten | missing | uncovered_row.
    kind: str
    detail: str = ""
    tenant_id: int | None = None

    def __str__(self) -> str:
        where = f"checkpoint {self.number}: "
        if self.tenant_id is not None:
            where += f"tenant {self.tenant_id}: "
        return f"{where}{self.kind} {self.detail}".rstrip()


@dataclass(frozen=True)
class Statement:
    number: int
    previous: str | None
    created_at: datetime
    as_of: datetime
    key_id: str
    heads_count: int
    heads_digest: str


def _instant(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def statement_parse(statement: str) -> Statement:
    """The signed fields; ValueError when the text is not a statement of this format."""
    data = json.loads(statement)
    if not isinstance(data, dict) or set(data) != STATEMENT_KEYS or data["format"] != FORMAT:
        raise ValueError("not a terms-ledger-checkpoint/1 statement")
    return Statement(
        number=int(data["number"]),
        previous=data["previous"],
        created_at=_instant(data["created_at"]),
        as_of=_instant(data["as_of"]),
        key_id=str(data["key_id"]),
        heads_count=int(data["heads_count"]),
        heads_digest=str(data["heads_digest"]),
    )


def document_verify(
    document: Mapping[str, Any], *, keys: Mapping[str, Ed25519PublicKey], number: int = 0
) -> tuple[Statement | None, list[ChainHead], list[CheckpointProblem]]:
    """Check a checkpoint on its own (no database): its statement, its signature with a
    trusted key, its heads against the signed digest. Returns the statement and heads only
    when all of that holds."""
    text = str(document.get("statement", ""))
    try:
        statement = statement_parse(text)
    except (ValueError, KeyError, TypeError) as exc:
        return None, [], [CheckpointProblem(number, "bad_statement", str(exc))]
    number = statement.number
    if not keys:
        detail = "set TERMS_CHECKPOINT_KEY or TERMS_CHECKPOINT_PUBLIC_KEYS"
        return None, [], [CheckpointProblem(number, "no_trusted_key", detail)]
    public = keys.get(statement.key_id)
    if public is None:
        return None, [], [CheckpointProblem(number, "unknown_key", f"key id {statement.key_id}")]
    try:
        signature = base64.b64decode(str(document.get("signature", "")), validate=True)
    except (binascii.Error, ValueError):
        signature = b""
    if not signature_is_valid(public, text.encode("utf-8"), signature):
        return None, [], [CheckpointProblem(number, "bad_signature")]
    try:
        heads = heads_from_json(document.get("heads", []))
    except (KeyError, TypeError, ValueError):
        heads = []
    if len(heads) != statement.heads_count or heads_digest(heads) != statement.heads_digest:
        detail = "the heads differ from the signed digest"
        return None, [], [CheckpointProblem(number, "heads_altered", detail)]
    return statement, heads, []


def chains_against(
    statement: Statement, heads: list[ChainHead], *, using: str = DEFAULT_DB_ALIAS
) -> list[CheckpointProblem]:
    """Where the ledger no longer matches a verified checkpoint, by tenant id."""
    number = statement.number
    problems = [
        CheckpointProblem(
            number,
            "missing" if mismatch.found is None else "rewritten",
            f"signed seq {mismatch.expected.seq if mismatch.expected else 0} hash "
            f"{mismatch.expected.hash[:16] if mismatch.expected else ''}… is no longer in the chain",
            mismatch.tenant_id,
        )
        for mismatch in heads_still_in_chain(heads, using=using)
    ]
    signed = {head.tenant_id: head.seq for head in heads}
    for head in chain_heads(before=statement.as_of, using=using):
        if head.seq > signed.get(head.tenant_id, 0):
            problems.append(
                CheckpointProblem(
                    number,
                    "uncovered_row",
                    f"seq {signed.get(head.tenant_id, 0) + 1}–{head.seq} claim to be recorded "
                    f"before {format_instant(statement.as_of)} but are not in the checkpoint",
                    head.tenant_id,
                )
            )
    return sorted(problems, key=lambda p: (p.tenant_id or 0, p.kind))


def checkpoints_verify(
    *, latest: int = 1, using: str = DEFAULT_DB_ALIAS
) -> tuple[int, list[CheckpointProblem]]:
    """Verify the `latest` newest checkpoints (0: all) and the chains against them; also
    that no checkpoint is missing from the numbering. Returns (checked, problems)."""
    keys = trusted_public_keys()
    numbers = list(
        LedgerCheckpoint.objects.using(using).order_by("number").values_list("number", flat=True)
    )
    problems = [
        CheckpointProblem(n, "removed", "the numbering has a gap here")
        for n in sorted(set(range(1, (numbers[-1] if numbers else 0) + 1)) - set(numbers))
    ]
    qs = LedgerCheckpoint.objects.using(using).order_by("-number")
    checked = list(qs[:latest] if latest else qs)
    for checkpoint in checked:
        statement, heads, found = document_verify(
            checkpoint_document(checkpoint), keys=keys, number=checkpoint.number
        )
        problems.extend(found)
        if statement is None:
            continue
        problems.extend(_link_problems(statement, using=using))
        problems.extend(chains_against(statement, heads, using=using))
    return len(checked), problems


def _link_problems(statement: Statement, *, using: str) -> list[CheckpointProblem]:
    number = statement.number
    if number == 1:
        if statement.previous is None:
            return []
        return [CheckpointProblem(number, "broken_link", "the first checkpoint names a previous")]
    previous = (
        LedgerCheckpoint.objects.using(using)
        .filter(number=number - 1)
        .values_list("statement", flat=True)
        .first()
    )
    if previous is None:
        return []  # reported as `removed` under its own number
    if statement_digest(previous.encode("utf-8")) != statement.previous:
        detail = f"checkpoint {number - 1} is not the one this one was signed after"
        return [CheckpointProblem(number, "broken_link", detail)]
    return []


def document_verify_against_database(
    document: Mapping[str, Any], *, using: str = DEFAULT_DB_ALIAS
) -> list[CheckpointProblem]:
    """Check an outside copy (a backup manifest's checkpoint, a saved export): it is signed,
    the database still holds it, and the chains still contain what it signed."""
    statement, heads, problems = document_verify(document, keys=trusted_public_keys())
    if statement is None:
        return problems
    stored = (
        LedgerCheckpoint.objects.using(using)
        .filter(number=statement.number)
        .values_list("statement", flat=True)
        .first()
    )
    if stored != document["statement"]:
        detail = "the database no longer holds this checkpoint"
        problems.append(CheckpointProblem(statement.number, "not_in_database", detail))
    problems.extend(chains_against(statement, heads, using=using))
    return problems
