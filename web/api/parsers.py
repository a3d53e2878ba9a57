"""The API's one body parser: JSON in UTF-8 only, and a parse failure is always a 400.

DRF's JSONParser decodes with the charset the caller declares and lets a RecursionError from
the decoder through (a 500). `ApiBodyLimitsMiddleware` (web/api/limits.py) already refuses
both before a view runs; this parser holds the same line wherever a body is parsed.
"""

from __future__ import annotations

import codecs
from typing import IO, Any

from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ParseError, UnsupportedMediaType
from rest_framework.parsers import JSONParser
from rest_framework.utils import json

from web.api.limits import charset_refused, not_utf8_message


class Utf8JSONParser(JSONParser):
    def parse(
        self,
        stream: IO[bytes],
        media_type: str | None = None,
        parser_context: dict[str, Any] | None = None,
    ) -> Any:
        if media_type and charset_refused(media_type):
            raise UnsupportedMediaType(media_type[:100], detail=not_utf8_message())
        try:
            decoded = codecs.getreader("utf-8")(stream)
            parse_constant = json.strict_constant if self.strict else None
            return json.load(decoded, parse_constant=parse_constant)
        except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
            raise ParseError(_("JSONとして解析できません。")) from exc


__all__ = ["Utf8JSONParser"]
