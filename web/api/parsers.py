"""The API's one body parser: JSON in UTF-8 only, and a parse failure is always a 400.

DRF's JSONParser decodes with the charset the caller declares and lets a RecursionError from
the decoder through (a 500). `ApiBodyLimitsMiddleware` (web/api/limits.py) already refuses
both before a view runs; this parser holds the same line wherever a body is parsed.

A member named twice in one object is refused: JSON leaves it undefined, Python keeps the
last and a proxy or a log reader may keep the first, and an answer is evidence — what was
answered must not depend on who reads the body.
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
            return json.load(
                decoded, parse_constant=parse_constant, object_pairs_hook=without_duplicates
            )
        except _Duplicate as exc:
            raise ParseError(
                _("同じ名前の項目が1つのオブジェクトに2回以上あります：%(name)s")
                % {"name": str(exc)[:100]}
            ) from exc
        except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
            raise ParseError(_("JSONとして解析できません。")) from exc


class _Duplicate(ValueError):
    pass


def without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """json's object_pairs_hook refusing a member named twice (a ValueError): what was sent
    must not depend on which reader resolves the repeat."""
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        for name, _value in pairs:
            if name in seen:
                raise _Duplicate(name)
            seen.add(name)
    return found


__all__ = ["Utf8JSONParser", "without_duplicates"]
