"""INSERTs written by hand for the hot paths, with the values Model.save would write."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import Model


def insert_values(row: Model) -> tuple[list[str], list[Any]]:
    """The columns and prepared values an INSERT of `row` writes (its defaults and auto_now
    fields filled as Model.save fills them), the primary key left to the database."""
    fields = [f for f in row._meta.concrete_fields if not f.primary_key]
    return (
        [f.column for f in fields],
        [f.get_db_prep_save(f.pre_save(row, True), connection) for f in fields],
    )


def saved(row: Model, pk: int) -> Model:
    """`row` as a saved instance with primary key `pk` (what Model.save leaves behind)."""
    row.pk = pk
    row._state.adding = False
    row._state.db = connection.alias
    return row
