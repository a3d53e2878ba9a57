"""The problem+json envelope (RFC 9457) every audience answers in: its media type, the base of
its `type` URNs and a bare response for places outside DRF's views that must not import the
API (a throttled public download). The API's own problems (web/api/problems.py) build on it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import JsonResponse

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "urn:optim-terms:problem:"


def problem_response(
    status_code: int,
    code: str,
    *,
    title: Any,
    detail: Any,
    headers: Mapping[str, str] | None = None,
    members: Mapping[str, Any] | None = None,
) -> JsonResponse:
    body = {
        "type": f"{PROBLEM_TYPE_BASE}{code}",
        "title": str(title),
        "status": status_code,
        "detail": str(detail),
        "code": code,
        "errors": [],
        **dict(members or {}),
    }
    return JsonResponse(
        body, status=status_code, content_type=PROBLEM_CONTENT_TYPE, headers=dict(headers or {})
    )
