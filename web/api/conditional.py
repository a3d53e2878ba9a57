"""`ETag` and `If-None-Match` for representations that rarely change (a published terms
version and its diff): a repeat read that names the current tag gets a 304 without a body.

The tag is a digest of the representation as sent (its JSON in canonical form and the
language it was rendered in), so it changes exactly when the body would.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.utils import translation
from django.utils.cache import patch_vary_headers
from rest_framework.request import Request
from rest_framework.response import Response


def etag_of(data: Any, language: str) -> str:
    canonical = json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    digest = hashlib.sha256(f"{language}\n{canonical}".encode()).hexdigest()
    return f'"{digest[:32]}"'


def none_match(header: str | None, etag: str) -> bool:
    """Whether an If-None-Match header names `etag` (weak comparison, RFC 9110 13.1.2)."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    tags = (tag.strip().removeprefix("W/") for tag in header.split(","))
    return etag in tags


def conditional(request: Request, data: Any) -> Response:
    """`data` with its ETag, or a 304 when the request already holds that representation."""
    etag = etag_of(data, translation.get_language() or "")
    if none_match(request.headers.get("If-None-Match"), etag):
        response = Response(status=304, headers={"ETag": etag})
    else:
        response = Response(data, headers={"ETag": etag})
    patch_vary_headers(response, ("Accept-Language",))
    return response
