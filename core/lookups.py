"""Id lists sent to PostgreSQL as one array parameter.

`field__in=[…]` makes Django prepare every value on its own and PostgreSQL parse one
placeholder per value: for the 500 ids of a job's batch that was a good part of the batch's
Python time (bench: benchmark 4). `field__any_of=[…]` sends `field = ANY(%s::bigint[])` with
the ids as one array literal, built here in one join; elsewhere (SQLite) it is `IN`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.models.lookups import In, Lookup


def bigint_array(values: Iterable[int | None]) -> str:
    """`{1,NULL,3}`: PostgreSQL's text form of a bigint[], for a `%s::bigint[]` parameter.

    `int()` on every value, so nothing but digits and signs reaches the literal."""
    return "{" + ",".join(["NULL" if v is None else str(int(v)) for v in values]) + "}"


@dataclass(frozen=True, slots=True)
class Ids:
    """Ids for `__any_of`, passed whole: Django resolves a list or a tuple given to a filter
    element by element, in case one is an expression (a microsecond each: 500 per batch of a
    job, bench: benchmark 4)."""

    values: tuple[int, ...]

    @classmethod
    def of(cls, values: Iterable[int]) -> Ids:
        return cls(tuple(values))


def text_array(values: Iterable[str]) -> str:
    """PostgreSQL's text form of a text[], every element quoted (for `%s::text[]`)."""
    quoted = ('"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"' for value in values)
    return "{" + ",".join(quoted) + "}"


class AnyOf(Lookup):  # type: ignore[type-arg]
    """`id__any_of=[…]` (or `Ids`): `id = ANY(%s::bigint[])` on PostgreSQL, `IN (…)`
    elsewhere."""

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        values = self.rhs.values if isinstance(self.rhs, Ids) else self.rhs
        if connection.vendor != "postgresql":
            sql, params = In(self.lhs, list(values)).as_sql(compiler, connection)
            return sql, list(params)
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s::bigint[])", [*lhs_params, bigint_array(values)]


def register() -> None:
    """Integer columns and foreign keys (`tenant_id__any_of`) get the lookup."""
    models.IntegerField.register_lookup(AnyOf)
    models.ForeignObject.register_lookup(AnyOf)
