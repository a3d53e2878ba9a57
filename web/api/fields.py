"""Serializer fields with the API's own conventions (docs/api.md, Conventions)."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from agreements.enums import ConsentStatus


class OffsetDateTimeField(serializers.DateTimeField):
    """An instant in ISO 8601 that names its offset (`+09:00`, `Z`): every instant the API
    takes, in a body or a query (docs/api.md, Conventions). DRF would read an offset-less
    value, or a bare date, in the server's zone; the caller's meaning is unknown, so both are
    refused with one field code (`offset_required`), the detail saying which it was."""

    default_error_messages = {
        "offset_required": _("日時にはタイムゾーン（例: +09:00、Z）を付けてください。"),
        "date_only": _(
            "日付だけでは時点が決まりません。時刻とタイムゾーンを付けてください"
            "（例: 2025-03-01T00:00:00+09:00）。"
        ),
    }

    def to_internal_value(self, value: Any) -> datetime:
        if isinstance(value, str):
            text = value.strip()
            try:
                parsed = parse_datetime(text)
                date_only = parsed is not None and parse_date(text) is not None
            except ValueError:  # well formed but impossible ("12:99"): DRF's own `invalid`
                parsed, date_only = None, False
            if date_only:  # "2025-03-01": Python reads it as midnight without an offset
                raise serializers.ValidationError(
                    self.error_messages["date_only"], code="offset_required"
                )
            if parsed is not None and parsed.tzinfo is None:
                self.fail("offset_required")
        return super().to_internal_value(value)


class MinuteDateTimeField(serializers.DateTimeField):
    """An instant recorded to the minute, shown so (`2026-12-07T14:05:00+09:00`): a key's
    `last_used_at` is stamped at most once a minute (tenants/auth.py), and the seconds of the
    stamp would claim a precision it does not have."""

    def to_representation(self, value: Any) -> Any:
        if isinstance(value, datetime):
            value = value.replace(second=0, microsecond=0)
        return super().to_representation(value)


def version_status_field() -> serializers.ChoiceField:
    """The standing on the version in force, as the partner and the product status read it."""
    return serializers.ChoiceField(
        choices=ConsentStatus.choices,
        allow_null=True,
        help_text=_(
            "有効な版についての同意の状況。明示の同意が必要で未回答なら outstanding、回答があれば"
            "その回答（accepted / rejected / deemed）、求められていない版で記録がなければ no_answer。"
            "有効な版がなければ null"
        ),
    )


def pending_version_status_field() -> serializers.ChoiceField:
    """The answer to the posted, not yet effective version (both status readings)."""
    return serializers.ChoiceField(
        choices=ConsentStatus.choices,
        allow_null=True,
        help_text=_(
            "効力発生前の版への回答（no_answer / accepted / rejected）。その版がなければ null"
        ),
    )


class LeafFieldsCopied(serializers.Serializer):
    """A serializer for the hot paths (bench/RESULTS.md, benchmarks 2 and 3) whose fields are
    made for each instance by a shallow copy of the declared ones where that is the same field.

    DRF deep-copies every declared field for every serializer instance, and a field's deep
    copy builds it again from its arguments (`Field.__deepcopy__`): half the cost of reading
    the answer's body and writing its response. Binding a copy sets attributes of the copy
    only, so a field that holds no other field (a leaf: a string, a number, an instant) is
    copied shallowly; one that does (a nested serializer, a list or a dict of fields) binds
    the fields it holds to itself, and is deep-copied as DRF does."""

    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            name: copy.deepcopy(field) if deep else _shallow(field)
            for name, field, deep in _copy_plan(type(self))
        }


def _copy_plan(cls: type[serializers.Serializer]) -> list[tuple[str, serializers.Field, bool]]:
    """(name, declared field, whether to deep-copy it) per field of `cls`: found once per
    class, since its declared fields are templates that nothing binds or changes."""
    plan = cls.__dict__.get("_leaf_copy_plan")
    if plan is None:
        plan = [
            (name, field, _shares_state(field))
            for name, field in cls._declared_fields.items()  # type: ignore[attr-defined]
        ]
        cls._leaf_copy_plan = plan  # type: ignore[attr-defined]
    return plan  # type: ignore[no-any-return]


def _shallow(field: serializers.Field) -> serializers.Field:
    """copy.copy(field) without its generic machinery: a field keeps its state in __dict__."""
    clone = object.__new__(type(field))
    clone.__dict__.update(field.__dict__)
    return clone


def _shares_state(field: serializers.Field) -> bool:
    """Whether a shallow copy would share with its template something binding or use change:
    the fields it holds, or a default of a mutable kind."""
    return (
        isinstance(field, serializers.BaseSerializer)
        or any(isinstance(value, serializers.Field) for value in vars(field).values())
        or isinstance(getattr(field, "default", None), list | dict | set)
    )
