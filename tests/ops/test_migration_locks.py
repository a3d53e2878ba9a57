"""Migrations that change the ledger's tables take their locks with a short lock_timeout and
try again (agreements.db.ddl_with_short_locks): a long transaction delays the migration, not
the service's queries queued behind its lock request."""

from __future__ import annotations

import threading
import time

import psycopg2
import pytest
from django.db import connection

from agreements.db import ddl_with_short_locks

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL locks"),
]


def _other_connection():  # type: ignore[no-untyped-def]
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    return psycopg2.connect(**params)


def test_ddl_waits_out_a_long_transaction_without_holding_readers_behind_it() -> None:
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE lock_probe (id int)")
    holder, reader = _other_connection(), _other_connection()
    try:
        with holder.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM lock_probe")  # a report's AccessShare lock
        released = threading.Timer(1.5, holder.commit)
        released.start()
        waits: list[float] = []

        def read() -> None:
            for _ in range(10):
                started = time.monotonic()
                with reader.cursor() as cursor:
                    cursor.execute("SELECT count(*) FROM lock_probe")
                reader.commit()
                waits.append(time.monotonic() - started)
                time.sleep(0.1)

        readers = threading.Thread(target=read)
        started = time.monotonic()
        readers.start()
        ddl_with_short_locks(
            connection,
            ["ALTER TABLE lock_probe ADD COLUMN added int"],
            lock_timeout_ms=200,
            pause_seconds=0.2,
            attempts=50,
        )
        took = time.monotonic() - started
        readers.join()
        released.join()
        assert took >= 1.4  # it waited for the long transaction …
        assert max(waits) < 1.0  # … while no reader waited more than a lock_timeout or so
        with connection.cursor() as cursor:
            cursor.execute("SELECT added FROM lock_probe")
    finally:
        holder.close()
        reader.close()
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS lock_probe")


def test_ddl_gives_up_with_a_clear_message_after_its_attempts() -> None:
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE lock_probe (id int)")
    holder = _other_connection()
    try:
        with holder.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM lock_probe")
        with pytest.raises(RuntimeError, match="another transaction kept a lock"):
            ddl_with_short_locks(
                connection,
                ["ALTER TABLE lock_probe ADD COLUMN added int"],
                lock_timeout_ms=50,
                pause_seconds=0.05,
                attempts=3,
            )
    finally:
        holder.rollback()
        holder.close()
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS lock_probe")
