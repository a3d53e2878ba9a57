"""Size and nesting limits on API request bodies, answered as problem+json (docs/api.md, Errors).

Without them a 4 KB body of 2,000 nested brackets reaches Python's JSON decoder, which gives up
with a RecursionError (an HTML 500 with a traceback in the log), and a body over Django's
DATA_UPLOAD_MAX_MEMORY_SIZE leaves as an HTML 400. The middleware runs before anything reads
the body, on every path under /api/, routed or not:

- a body larger than TERMS_API_MAX_BODY_BYTES → 413 `payload_too_large` (read no further);
- a JSON body declaring a charset other than UTF-8 → 415 `unsupported_media_type` (RFC 8259:
  JSON between systems is UTF-8; the depth check counts bytes, and `charset=utf-7` or `cp037`
  would turn `+AFs-` or EBCDIC bytes into brackets only the decoder sees);
- JSON nested deeper than TERMS_API_MAX_JSON_DEPTH → 400 `json_too_deep` (checked on the
  bytes, without building anything, so the decoder never sees such a body).

`web.api.parsers.Utf8JSONParser` is the second line: it refuses the same charsets and turns a
decoder's RecursionError into a 400.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.http import parse_header_parameters
from django.utils.translation import gettext_lazy as _

from web.api.problems import problem_json

API_PREFIX = "/api/"

# A JSON string with its escapes; its brackets are text, not structure.
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")
_OPENING = frozenset(b"[{")


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    """Whether arrays and objects in `body` nest deeper than `limit` (malformed JSON is left to
    the parser, which refuses it with its own 400)."""
    depth = 0
    for match in _BRACKETS.finditer(_STRING.sub(b'""', body)):
        if match.group()[0] in _OPENING:
            depth += 1
            if depth > limit:
                return True
        else:
            depth = max(0, depth - 1)
    return False


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def charset_refused(content_type: str) -> bool:
    """Whether a Content-Type declares a charset other than UTF-8 (any case, quoted or not)."""
    _media, params = parse_header_parameters(content_type or "")
    charset = params.get("charset")
    return charset is not None and charset.strip().lower() != "utf-8"


def not_utf8_message() -> str:
    return str(
        _("JSONの本文は UTF-8 でのみ受け付けます（charset には utf-8 を指定してください）。")
    )


def _too_large(request: HttpRequest) -> HttpResponse:
    return problem_json(
        413,
        "payload_too_large",
        _("リクエストの本文が大きすぎます（上限 %(limit)s バイト）。")
        % {"limit": settings.TERMS_API_MAX_BODY_BYTES},
        instance=request.path,
    )


class ApiBodyLimitsMiddleware:
    """Refuses oversized or too deeply nested API bodies before a view or parser reads them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(API_PREFIX):
            # Answered before LocaleMiddleware: in the request's language all the same, as
            # every other problem (docs/api.md, Conventions: Language).
            with translation.override(translation.get_language_from_request(request)):
                refused = self._refusal(request)
            if refused is not None:
                patch_vary_headers(refused, ("Accept-Language",))
                return refused
        return self.get_response(request)

    def _refusal(self, request: HttpRequest) -> HttpResponse | None:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # Django reads such a body as empty
        if length <= 0:
            return None
        content_type = request.META.get("CONTENT_TYPE", "")
        if _is_json(content_type) and charset_refused(content_type):
            return problem_json(
                415, "unsupported_media_type", not_utf8_message(), instance=request.path
            )
        if length > settings.TERMS_API_MAX_BODY_BYTES:
            return _too_large(request)
        try:
            body = request.body
        except RequestDataTooBig:  # DATA_UPLOAD_MAX_MEMORY_SIZE set below our own limit
            return _too_large(request)
        if _is_json(content_type) and json_depth_exceeds(body, settings.TERMS_API_MAX_JSON_DEPTH):
            return problem_json(
                400,
                "json_too_deep",
                _("JSONの入れ子が深すぎます（上限 %(limit)s 段）。")
                % {"limit": settings.TERMS_API_MAX_JSON_DEPTH},
                instance=request.path,
            )
        return None
