"""Hot statements prepared once per database connection (PostgreSQL's PREPARE / EXECUTE).

psycopg2 sends every statement as text, so PostgreSQL parses and plans it again each time;
for the consent answer's few statements written by hand (bench/RESULTS.md, benchmark 2)
planning cost the database more than running them. Prepared, a statement is parsed once per
connection and, once PostgreSQL finds its generic plan as good as the ones it made for the
values (after five executions), planned once too.

A prepared statement lives on one server connection: behind PgBouncer in transaction mode
(DATABASE_POOLER=transaction) the next transaction may run on another, so there, and on any
database other than PostgreSQL, `execute` runs the statement as it is. A statement is named
after its text and the types of its values, so two shapes of one statement (a value None in
one, a date in the other) are two prepared statements; a connection keeps at most
`_MAX_PER_CONNECTION` (past it, statements run unprepared).
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import connection

_MAX_PER_CONNECTION = 64
# `%s` or `%(name)s`, not `%%` (a literal percent sign).
_PLACEHOLDER = re.compile(r"%%|%s|%\((\w+)\)s")


def enabled() -> bool:
    return connection.vendor == "postgresql" and settings.DATABASE_POOLER != "transaction"


def execute(cursor: Any, sql: str, params: Sequence[Any] | Mapping[str, Any]) -> None:
    """`cursor.execute(sql, params)`, through a statement prepared on this connection when
    `enabled()`. `sql` takes `%s` or `%(name)s` placeholders, as cursor.execute does.

    The first time, PREPARE and EXECUTE go together in one round trip (one statement to the
    driver, so a query count does not depend on what ran before on the connection)."""
    if not enabled():
        cursor.execute(sql, params)
        return
    text, values = _numbered(sql, params)
    types = tuple(_type_of(value) for value in values)
    name = _name(text, types)
    held = _held()
    call = f"EXECUTE {name}" + (f" ({', '.join(['%s'] * len(values))})" if values else "")
    if name in held.uncertain:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name = %s", [name])
        if cursor.fetchone()[0]:
            held.names.add(name)
        held.uncertain.discard(name)
    if name in held.names:
        try:
            cursor.execute(call, values)
        except Exception as exc:
            if _plan_outdated(exc):  # prepared again, under the same name, next time
                held.names.discard(name)
                held.outdated.add(name)
            raise
        return
    if len(held.names) >= _MAX_PER_CONNECTION:
        cursor.execute(sql, params)
        return
    declared = f" ({', '.join(types)})" if types else ""
    # The PREPARE's own percent signs doubled: the driver fills the EXECUTE's placeholders.
    prepare = f"PREPARE {name}{declared} AS {text}".replace("%", "%%")
    if name in held.outdated:
        prepare = f"DEALLOCATE {name}; {prepare}"
    try:
        cursor.execute(f"{prepare}; {call}", values)
        held.outdated.discard(name)
    except Exception:
        # Whether the PREPARE ran before the statement failed is unknown: asked next time.
        held.uncertain.add(name)
        raise
    held.names.add(name)
    STATEMENTS.setdefault(name, text)


# name → the statement's text with numbered parameters (what an EXECUTE of it ran).
STATEMENTS: dict[str, str] = {}


def statement_of(sql: str) -> str:
    """The statement an EXECUTE (or PREPARE and EXECUTE) sent by `execute` ran, with numbered
    parameters; any other `sql` as it is. For reading the statements a path sends."""
    if sql.startswith(("EXECUTE terms_", "PREPARE terms_")):
        return STATEMENTS.get(sql.split()[1].rstrip(";"), sql)
    return sql


@dataclass
class _Held:
    raw: Any  # the server connection (DB-API object) they were prepared on
    names: set[str] = field(default_factory=set)
    uncertain: set[str] = field(default_factory=set)
    outdated: set[str] = field(default_factory=set)  # their result's types changed since


def _plan_outdated(exc: BaseException) -> bool:
    """PostgreSQL's "cached plan must not change result type": a migration changed the type
    of a column the statement returns since it was prepared."""
    cause = exc.__cause__ or exc
    return getattr(cause, "pgcode", None) == "0A000" and "cached plan" in str(cause)


def _held() -> _Held:
    """What is prepared on the current server connection (nothing after a reconnect)."""
    raw = connection.connection
    held = getattr(connection, "terms_prepared", None)
    if held is None or held.raw is not raw:
        held = connection.terms_prepared = _Held(raw)  # type: ignore[attr-defined]
    return held  # type: ignore[no-any-return]


@functools.lru_cache(maxsize=256)
def _name(text: str, types: tuple[str, ...]) -> str:
    digest = hashlib.sha1(f"{types}\n{text}".encode(), usedforsecurity=False).hexdigest()
    return f"terms_{digest[:20]}"


def _numbered(sql: str, params: Sequence[Any] | Mapping[str, Any]) -> tuple[str, list[Any]]:
    """The statement with $1, $2 … for its placeholders, and the values in that order (a named
    value used twice is one parameter)."""
    text, keys = _shape(sql)
    if isinstance(params, Mapping):
        if None in keys:
            raise TypeError("a %s placeholder needs positional parameters")
        return text, [params[key] for key in keys]  # type: ignore[index]
    if any(key is not None for key in keys):
        raise TypeError("a %(name)s placeholder needs a mapping")
    return text, list(params)[: len(keys)]


@functools.lru_cache(maxsize=256)
def _shape(sql: str) -> tuple[str, tuple[str | None, ...]]:
    """The statement numbered once per text (the hot path sends the same few): the text with
    $1, $2 … and, per number, its parameter's name (None for a positional one)."""
    keys: list[str | None] = []

    def number(match: re.Match[str]) -> str:
        if match.group(0) == "%%":
            return "%"
        key = match.group(1)
        if key is None or key not in keys:
            keys.append(key)
            return f"${len(keys)}"
        return f"${keys.index(key) + 1}"

    return _PLACEHOLDER.sub(number, sql), tuple(keys)


def _kinds(kinds: type | tuple[type, ...]) -> tuple[type, ...]:
    return kinds if isinstance(kinds, tuple) else (kinds,)


# A value's declared type, the first kind it is (bool before int: a bool is an int).
_TYPES: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (bool, "boolean"),
    (int, "bigint"),
    (str, "text"),
    (datetime, "timestamptz"),
    (date, "date"),
    (Decimal, "numeric"),
    (float, "double precision"),
    (UUID, "uuid"),
    ((bytes, memoryview), "bytea"),
)


# The same by exact type, for the values the hot path sends (one dict lookup, not a search).
_EXACT: dict[type, str] = {kind: name for kinds, name in _TYPES for kind in _kinds(kinds)}


def _type_of(value: Any) -> str:
    """The parameter's declared type; `unknown` lets PostgreSQL infer it from where it is
    used (a NULL, a value psycopg2 adapts itself such as JSON or an IP address)."""
    exact = _EXACT.get(type(value))
    if exact is not None:
        return exact
    return next((name for kinds, name in _TYPES if isinstance(value, kinds)), "unknown")
