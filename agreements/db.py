"""Database-specific hardening, each behind one function with a portable path (docs/operations.md)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

from django.db import OperationalError, connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

LEDGER_TABLE = "agreements_consentrecord"

_PG_CREATE = f"""
CREATE OR REPLACE FUNCTION agreements_ledger_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'consent ledger rows are append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS ledger_immutable ON {LEDGER_TABLE};
CREATE TRIGGER ledger_immutable BEFORE UPDATE OR DELETE ON {LEDGER_TABLE}
    FOR EACH ROW EXECUTE FUNCTION agreements_ledger_immutable();
"""
_PG_DROP = f"""
DROP TRIGGER IF EXISTS ledger_immutable ON {LEDGER_TABLE};
DROP FUNCTION IF EXISTS agreements_ledger_immutable();
"""
# SQLite has row triggers too; TRUNCATE does not exist there, so nothing else is needed.
_SQLITE_CREATE = [
    f"""CREATE TRIGGER IF NOT EXISTS ledger_no_update BEFORE UPDATE ON {LEDGER_TABLE}
    BEGIN SELECT RAISE(ABORT, 'consent ledger rows are append-only (UPDATE refused)'); END;""",
    f"""CREATE TRIGGER IF NOT EXISTS ledger_no_delete BEFORE DELETE ON {LEDGER_TABLE}
    BEGIN SELECT RAISE(ABORT, 'consent ledger rows are append-only (DELETE refused)'); END;""",
]
_SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS ledger_no_update;",
    "DROP TRIGGER IF EXISTS ledger_no_delete;",
]


def ledger_trigger_statements(vendor: str, *, create: bool) -> list[str]:
    """SQL that makes ledger rows append-only on this database (or undoes it)."""
    if vendor == "postgresql":
        return [_PG_CREATE if create else _PG_DROP]
    if vendor == "sqlite":
        return list(_SQLITE_CREATE if create else _SQLITE_DROP)
    return []


def ledger_trigger_disable_sql(vendor: str) -> str | None:
    """Used only by tests that forge a row to prove `verify_ledger` catches it."""
    if vendor == "postgresql":
        return f"ALTER TABLE {LEDGER_TABLE} DISABLE TRIGGER ledger_immutable"
    return None


def ledger_trigger_enable_sql(vendor: str) -> str | None:
    if vendor == "postgresql":
        return f"ALTER TABLE {LEDGER_TABLE} ENABLE TRIGGER ledger_immutable"
    return None


@contextlib.contextmanager
def redoable_batch() -> Iterator[None]:
    """A transaction for one batch of a job that redoes what a crash loses: on PostgreSQL it
    commits without waiting for its WAL to reach the disk (synchronous_commit off for this
    transaction only), so a run of 200 batches does not wait for 200 flushes.

    Safe where the run records itself done in a later, ordinary commit, as the effective-date
    job does (`consents_owed`): every commit flushes the WAL written before it, so once the run
    is recorded, its batches are on disk; a crash before that loses at most the last fraction
    of a second of batches, and the next run writes them again. Whatever else depends on a
    batch's rows — a customer's next answer on the same chain, a signed checkpoint — commits
    after it the ordinary way and so makes it durable first. Inside a caller's transaction the
    batch is a savepoint of it, and the caller's durability is left alone."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield


def ddl_with_short_locks(
    connection: BaseDatabaseWrapper,
    statements: list[str],
    *,
    lock_timeout_ms: int = 500,
    attempts: int = 120,
    pause_seconds: float = 1.0,
) -> None:
    """Run `statements` in one transaction that gives up on any lock it waits for longer than
    `lock_timeout_ms`, and try again after a pause, up to `attempts` times (PostgreSQL; for a
    migration outside a transaction).

    A DDL statement's lock request queues every later query of its table behind it: waiting
    for one long transaction (a report, pg_dump) would stop all answers meanwhile. Giving up
    within half a second — before PostgreSQL looks for deadlocks (deadlock_timeout, 1 s by
    default), so a waiting request is never the one chosen to fail — lets the traffic through,
    and the next attempt comes when the long transaction may be done."""
    last: Exception | None = None
    for attempt in range(attempts):
        try:
            with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL lock_timeout = {int(lock_timeout_ms)}")
                for statement in statements:
                    cursor.execute(statement)
            return
        except OperationalError as error:
            if getattr(error.__cause__, "pgcode", None) != _LOCK_NOT_AVAILABLE:
                raise
            last = error
            if attempt + 1 < attempts:
                time.sleep(pause_seconds)
    raise RuntimeError(
        f"gave up after {attempts} attempts: another transaction kept a lock these statements "
        f"need ({'; '.join(statements)}). Find it in pg_stat_activity (wait_event_type Lock, "
        "or an old xact_start), end it, and run migrate again."
    ) from last


_LOCK_NOT_AVAILABLE = "55P03"
