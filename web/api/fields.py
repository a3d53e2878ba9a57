"""Serializer fields with the API's own conventions (docs/api.md, Conventions)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


class OffsetDateTimeField(serializers.DateTimeField):
    """An instant in ISO 8601 that names its offset (`+09:00`, `Z`). DRF would read an
    offset-less value in the server's zone; the caller's meaning is unknown, so it is refused
    (`offset_required`)."""

    default_error_messages = {
        "offset_required": _("日時にはタイムゾーン（例: +09:00、Z）を付けてください。"),
    }

    def to_internal_value(self, value: Any) -> datetime:
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value.strip())
            except ValueError:  # well formed but impossible ("12:99"): DRF's own `invalid`
                parsed = None
            if parsed is not None and parsed.tzinfo is None:
                self.fail("offset_required")
        return super().to_internal_value(value)
