"""Chain heads of the consent ledger: locked and moved by the appends, read for operations
(backups, daily logs and metrics).

A head is the last row of a tenant's chain: (tenant id, seq, hash), kept in the tenant's
LedgerHead row. Every append locks that row, so two writers never fork a chain. Recorded
outside the database — in backup manifests, the daily log line and the metrics — a head
lets anyone detect a later rewrite of a whole chain, which the chain alone cannot show
(docs/ledger.md).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections

from agreements.ledger.rows import GENESIS_HASH
from agreements.models import ConsentRecord, LedgerHead
from core import clock, prepared
from core.lookups import Ids, bigint_array, text_array
from tenants.models import Tenant

logger = logging.getLogger("terms.ledger")


# --- Locking and moving heads (the appends) ------------------------------------------------


def head_lock(tenant_id: int) -> LedgerHead:
    """Lock (SELECT ... FOR UPDATE) the tenant's chain head, creating it race-safely first."""
    try:
        return LedgerHead.objects.select_for_update().get(tenant_id=tenant_id)
    except LedgerHead.DoesNotExist:
        # INSERT ... ON CONFLICT DO NOTHING: a concurrent first append waits here for the
        # other transaction and then finds its head, instead of failing on the unique key.
        LedgerHead.objects.bulk_create([LedgerHead(tenant_id=tenant_id)], ignore_conflicts=True)
        return LedgerHead.objects.select_for_update().get(tenant_id=tenant_id)


def head_lock_within(tenant_id: int, reach: tuple[str, list[Any]]) -> LedgerHead | None:
    """Lock the tenant's head and read its tenant in one statement (SELECT ... FOR UPDATE OF
    the head only), if the tenant matches `reach` (an SQL condition on the tenant row `t`
    and its parameters: Scope.tenant_sql) and has a head; None otherwise, and nothing is
    locked: the caller tells a tenant out of reach from one without a chain yet (head_lock
    creates it). `head.tenant` is the tenant as read under the lock.

    Written by hand: the answer's first statement (bench #2), where building the query
    cost more than running it."""
    condition, params = reach
    with connection.cursor() as cursor:
        prepared.execute(cursor, _lock_within_sql(condition), [tenant_id, *params])
        row = cursor.fetchone()
    if row is None:
        return None
    head_fields, tenant_fields = _lock_within_fields()
    head = LedgerHead.from_db(connection.alias, head_fields, row[: len(head_fields)])
    head.tenant = Tenant.from_db(connection.alias, tenant_fields, row[len(head_fields) :])
    return head


@functools.cache
def _lock_within_fields() -> tuple[list[str], list[str]]:
    return (
        [f.attname for f in LedgerHead._meta.concrete_fields],
        [f.attname for f in Tenant._meta.concrete_fields],
    )


@functools.cache
def _lock_within_sql(condition: str) -> str:
    q = connection.ops.quote_name
    columns = [f"h.{q(f.column)}" for f in LedgerHead._meta.concrete_fields] + [
        f"t.{q(f.column)}" for f in Tenant._meta.concrete_fields
    ]
    return (
        f"SELECT {', '.join(columns)} FROM {q(LedgerHead._meta.db_table)} h "  # noqa: S608 -- placeholders only
        f"JOIN {q(Tenant._meta.db_table)} t ON t.id = h.tenant_id "
        f"WHERE h.tenant_id = %s AND ({condition}) FOR UPDATE OF h"
    )


@dataclass(slots=True)
class LockedHead:
    """A chain head a batch holds locked: moved in memory by append_many, written back by
    heads_save. Not a model instance: building 500 of those per batch was a good part of the
    effective-date job's Python time (bench: benchmark 4)."""

    pk: int
    tenant_id: int
    seq: int
    hash: str
    updated_at: datetime


def heads_lock(tenant_ids: list[int]) -> dict[int, LockedHead]:
    """Lock many heads in tenant order (concurrent batches stay deadlock-free): one
    SELECT ... FOR UPDATE when every tenant has a head, as after its first answer, and one
    more statement creating and locking the missing ones (heads_create_locked)."""
    heads = {
        row[1]: LockedHead(*row)
        for row in LedgerHead.objects.select_for_update()
        .filter(tenant_id__any_of=Ids.of(tenant_ids))
        .order_by("tenant_id")
        .values_list("pk", "tenant_id", "seq", "hash", "updated_at")
    }
    missing = sorted(set(tenant_ids) - heads.keys())
    if missing:
        heads.update(heads_create_locked(missing))
    return heads


def heads_create_locked(tenant_ids: list[int]) -> dict[int, LockedHead]:
    """Create the heads of `tenant_ids` and hold them locked, in one statement:
    INSERT ... ON CONFLICT DO UPDATE ... RETURNING (PostgreSQL and SQLite alike). A head that a
    concurrent first answer created meanwhile is waited for and returned as that answer left
    it, as SELECT ... FOR UPDATE would, so the chain never forks."""
    table = connection.ops.quote_name(LedgerHead._meta.db_table)
    now = clock.now()
    values = ", ".join(["(%s, 0, %s, %s)"] * len(tenant_ids))
    params: list[Any] = []
    for tenant_id in tenant_ids:
        params += [tenant_id, GENESIS_HASH, now]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (tenant_id, seq, hash, updated_at) VALUES {values} "  # noqa: S608 -- placeholders only
            "ON CONFLICT (tenant_id) DO UPDATE SET tenant_id = EXCLUDED.tenant_id "
            "RETURNING id, tenant_id, seq, hash, updated_at",
            params,
        )
        rows = cursor.fetchall()
    return {
        int(tenant_id): LockedHead(pk, tenant_id, seq, digest, updated_at)
        for pk, tenant_id, seq, digest, updated_at in rows
    }


def heads_save(heads: list[LockedHead]) -> None:
    """Write moved heads back (seq, hash, updated_at) in one statement.

    PostgreSQL: one UPDATE … FROM unnest of arrays (a VALUES list of 500 rows cost the
    server more to parse and plan). Elsewhere one UPDATE per head, in one executemany.
    """
    if not heads:
        return
    table = connection.ops.quote_name(LedgerHead._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.executemany(
                f"UPDATE {table} SET seq = %s, hash = %s, updated_at = %s WHERE id = %s",  # noqa: S608 -- placeholders only
                [(h.seq, h.hash, h.updated_at, h.pk) for h in heads],
            )
            return
        # Arrays in their text form (one join each, not one adapter per element); one
        # `updated_at` for the batch when its heads share it, as a job's batch does.
        arrays = [
            bigint_array(h.pk for h in heads),
            bigint_array(h.seq for h in heads),
            text_array(h.hash for h in heads),
        ]
        stamps = {h.updated_at for h in heads}
        params: list[Any]
        if len(stamps) == 1:
            stamp, extra, names = "%s", "", "id, seq, hash"
            params = [stamps.pop(), *arrays]
        else:
            stamp, extra, names = "v.updated_at", ", %s::timestamptz[]", "id, seq, hash, updated_at"
            params = [*arrays, "{" + ",".join(h.updated_at.isoformat() for h in heads) + "}"]
        cursor.execute(
            f"UPDATE {table} AS h SET seq = v.seq, hash = v.hash, updated_at = {stamp} "  # noqa: S608 -- placeholders only
            f"FROM unnest(%s::bigint[], %s::bigint[], %s::text[]{extra}) AS v({names}) "
            "WHERE h.id = v.id",
            params,
        )


# --- Reading heads (operations) ------------------------------------------------------------


@dataclass(frozen=True, order=True)
class ChainHead:
    tenant_id: int
    seq: int
    hash: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def chain_heads(
    *, before: datetime | None = None, using: str = DEFAULT_DB_ALIAS
) -> list[ChainHead]:
    """The last row of every tenant's chain (recorded before `before`, if given), by tenant.

    One grouped query over the unique (tenant, seq) index; row values work on PostgreSQL and
    SQLite alike.
    """
    table = connections[using].ops.quote_name(ConsentRecord._meta.db_table)
    where = "WHERE recorded_at < %s" if before is not None else ""
    sql = (
        f"SELECT tenant_id, seq, hash FROM {table} "  # noqa: S608 -- table name from the model
        f"WHERE (tenant_id, seq) IN (SELECT tenant_id, MAX(seq) FROM {table} {where} "
        "GROUP BY tenant_id) ORDER BY tenant_id"
    )
    with connections[using].cursor() as cursor:
        cursor.execute(sql, [before] if before is not None else [])
        return [ChainHead(int(t), int(s), str(h)) for t, s, h in cursor.fetchall()]


def daily_heads(*, day: date | None = None, using: str = DEFAULT_DB_ALIAS) -> list[ChainHead]:
    """Heads as of 00:00 JST on `day` (default today): fixed for the whole day, so the same
    day's value seen in yesterday's logs and in today's metrics must agree."""
    return chain_heads(before=clock.start_of_day(day or clock.today()), using=using)


def heads_to_json(heads: Iterable[ChainHead]) -> list[dict[str, Any]]:
    return [head.as_dict() for head in heads]


def heads_from_json(items: Iterable[Mapping[str, Any]]) -> list[ChainHead]:
    return sorted(ChainHead(int(i["tenant_id"]), int(i["seq"]), str(i["hash"])) for i in items)


@dataclass(frozen=True)
class HeadMismatch:
    tenant_id: int
    expected: ChainHead | None
    found: ChainHead | None

    def __str__(self) -> str:
        def show(head: ChainHead | None) -> str:
            return f"seq {head.seq} hash {head.hash[:16]}…" if head else "no chain"

        return f"tenant {self.tenant_id}: expected {show(self.expected)}, found {show(self.found)}"


def compare_heads(expected: Iterable[ChainHead], found: Iterable[ChainHead]) -> list[HeadMismatch]:
    """Every tenant whose head differs (or exists on one side only), by tenant id."""
    want = {head.tenant_id: head for head in expected}
    have = {head.tenant_id: head for head in found}
    return [
        HeadMismatch(tenant_id, want.get(tenant_id), have.get(tenant_id))
        for tenant_id in sorted(set(want) | set(have))
        if want.get(tenant_id) != have.get(tenant_id)
    ]


def heads_still_in_chain(
    recorded: Iterable[ChainHead], *, using: str = DEFAULT_DB_ALIAS
) -> list[HeadMismatch]:
    """Heads recorded earlier (a manifest, a log line) that the ledger no longer contains.

    A chain that only grew still holds its old head at the same seq with the same hash; a
    rewritten chain does not.
    """
    recorded = list(recorded)
    if not recorded:
        return []
    rows = ConsentRecord.objects.using(using).filter(
        tenant_id__in={head.tenant_id for head in recorded}
    )
    wanted = {(head.tenant_id, head.seq) for head in recorded}
    found = {
        (t, s): ChainHead(t, s, h)
        for t, s, h in rows.filter(seq__in={head.seq for head in recorded}).values_list(
            "tenant_id", "seq", "hash"
        )
        if (t, s) in wanted
    }
    return [
        HeadMismatch(head.tenant_id, head, found.get((head.tenant_id, head.seq)))
        for head in sorted(recorded)
        if found.get((head.tenant_id, head.seq)) != head
    ]


def log_daily_heads(*, day: date | None = None) -> int:
    """Write one `ledger.chain_head` line per tenant for the day's heads; returns the count."""
    day = day or clock.today()
    heads = daily_heads(day=day)
    for head in heads:
        logger.info(
            "ledger.chain_head",
            extra={
                "as_of": day.isoformat(),
                "tenant_id": head.tenant_id,
                "seq": head.seq,
                "hash": head.hash,
            },
        )
    logger.info("ledger.chain_heads_logged", extra={"as_of": day.isoformat(), "count": len(heads)})
    return len(heads)
