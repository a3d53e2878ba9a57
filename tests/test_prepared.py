"""Hot statements prepared once per connection (core/prepared.py): the same rows as the
statement run as it is, PREPARE and the first EXECUTE in one round trip, a statement that
failed asked about before it is used again, nothing prepared behind a transaction pooler."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from core import prepared

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

SQL = (
    "SELECT %(n)s + 1, %(n)s * 2, %(word)s || '%%', %(day)s, %(at)s, %(nothing)s::int, "
    "%(yes)s AND true"
)
PARAMS = {
    "n": 20,
    "word": "50",
    "day": date(2026, 12, 16),
    "at": datetime(2026, 12, 16, 1, 2, 3, tzinfo=UTC),
    "nothing": None,
    "yes": True,
}


def _run(sql: str, params: object) -> list[tuple]:
    with connection.cursor() as cursor:
        prepared.execute(cursor, sql, params)  # type: ignore[arg-type]
        return cursor.fetchall()


def _plain(sql: str, params: object) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def test_numbered_placeholders_named_positional_and_a_literal_percent() -> None:
    text, values = prepared._numbered(SQL, PARAMS)
    assert text.startswith("SELECT $1 + 1, $1 * 2, $2 || '%', $3, $4, $5::int, $6 AND true")
    assert values == [20, "50", PARAMS["day"], PARAMS["at"], None, True]
    text, values = prepared._numbered("SELECT %s, %s WHERE 1 %% 2 = 1", [1, "a"])
    assert (text, values) == ("SELECT $1, $2 WHERE 1 % 2 = 1", [1, "a"])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PREPARE is PostgreSQL's")
def test_the_same_rows_as_unprepared_and_one_round_trip_each_time() -> None:
    expected = _plain(SQL, PARAMS)
    with CaptureQueriesContext(connection) as first:
        assert _run(SQL, PARAMS) == expected
    with CaptureQueriesContext(connection) as again:
        assert _run(SQL, {**PARAMS, "n": 21}) == [(22, 42, *expected[0][2:])]
    assert len(first.captured_queries) == len(again.captured_queries) == 1
    assert first.captured_queries[0]["sql"].startswith("PREPARE terms_")
    assert again.captured_queries[0]["sql"].startswith("EXECUTE terms_")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PREPARE is PostgreSQL's")
def test_a_failed_first_execution_is_asked_about_then_used() -> None:
    sql = "SELECT 10 / %s"
    with pytest.raises(DatabaseError), transaction.atomic():  # PREPARE ran, EXECUTE failed
        _run(sql, [0])
    with CaptureQueriesContext(connection) as captured:
        assert _run(sql, [5]) == [(2,)]
    assert [q["sql"].split()[0] for q in captured.captured_queries] == ["SELECT", "EXECUTE"]
    with CaptureQueriesContext(connection) as captured:
        assert _run(sql, [2]) == [(5,)]
    assert len(captured.captured_queries) == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PREPARE is PostgreSQL's")
def test_a_new_server_connection_prepares_again() -> None:
    sql = "SELECT %s::int + 100"
    assert _run(sql, [1]) == [(101,)]
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")  # as a new server connection would have nothing
    connection.terms_prepared = None  # type: ignore[attr-defined]
    assert _run(sql, [2]) == [(102,)]


@override_settings(DATABASE_POOLER="transaction")
def test_behind_a_transaction_pooler_statements_run_as_they_are() -> None:
    with CaptureQueriesContext(connection) as captured:
        assert _run("SELECT %s + 1", [1]) == [(2,)]
    assert captured.captured_queries[0]["sql"] == "SELECT 1 + 1"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PREPARE is PostgreSQL's")
def test_a_column_whose_type_changed_fails_once_then_is_prepared_again() -> None:
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE prepared_probe (id int, name varchar(10))")
        cursor.execute("INSERT INTO prepared_probe VALUES (1, 'a')")
    sql = "SELECT name FROM prepared_probe WHERE id = %s"
    assert _run(sql, [1]) == [("a",)]
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE prepared_probe ALTER name TYPE text")  # a migration
    with pytest.raises(DatabaseError, match="cached plan"), transaction.atomic():
        _run(sql, [1])
    assert _run(sql, [1]) == [("a",)]
