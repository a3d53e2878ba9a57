"""Serializer fields with the API's own conventions (docs/api.md, Conventions)."""

from __future__ import annotations

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
