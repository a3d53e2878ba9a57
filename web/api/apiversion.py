"""Which API version answers a request, and the headers that say so (docs/api.md, Versions).

- `API-Version: 2026-12-01` on a request asks for that version; an unknown one is a 400
  `api_version_unknown` listing the supported ones;
- without the header, the key's own version (recorded when it was issued) answers; staff
  sessions and a key pinned to a version no longer served get the current one;
- every response carries `API-Version` with the version used.

Anything deprecated is registered in `DEPRECATIONS` (by operation, the view's dotted name): its
responses carry `Deprecation` (RFC 9745), `Sunset` (RFC 8594) and a `Link` to the changelog,
and the schema marks the operation `deprecated`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.http import HttpRequest, HttpResponse
from django.utils.http import http_date
from django.utils.translation import gettext_lazy as _
from rest_framework.request import Request

from core import apiversions
from core.errors import ValidationFailed

HEADER = "API-Version"
_META_KEY = "HTTP_API_VERSION"
CHANGELOG = "/docs/api.md#changelog"


@dataclass(frozen=True)
class Deprecation:
    """An operation that still works but will not for ever."""

    since: datetime  # when it was deprecated (aware)
    sunset: datetime | None  # when it stops answering, if decided (aware)
    link: str = CHANGELOG  # what to use instead


# view (module.qualname) → its deprecation. Empty while nothing is deprecated.
DEPRECATIONS: dict[str, Deprecation] = {}


def requested_version(request: Request) -> str:
    """The version that answers `request` (the header, else the key's, else the current)."""
    asked = request.META.get(_META_KEY)
    supported = apiversions.supported()
    if asked is not None:
        asked = asked.strip()
        if asked not in supported:
            raise ValidationFailed(
                _("API-Version ヘッダーのバージョンには対応していません。"),
                code="api_version_unknown",
                supported_versions=list(supported),
            )
        return asked
    pinned = getattr(getattr(request, "auth", None), "api_version", None)
    return str(pinned) if pinned in supported else apiversions.current()


def deprecation_of(view: type) -> Deprecation | None:
    return DEPRECATIONS.get(f"{view.__module__}.{view.__qualname__}")


def version_headers(response: HttpResponse, version: str, view: type) -> None:
    """`API-Version` always; `Deprecation`, `Sunset` and `Link` for a deprecated operation."""
    response[HEADER] = version
    deprecated = deprecation_of(view)
    if deprecated is None:
        return
    response["Deprecation"] = f"@{int(deprecated.since.timestamp())}"
    links = [f'<{deprecated.link}>; rel="deprecation"']
    if deprecated.sunset is not None:
        response["Sunset"] = http_date(deprecated.sunset.timestamp())
        links.append(f'<{deprecated.link}>; rel="sunset"')
    response["Link"] = ", ".join(links)


class ApiVersionHeaderMiddleware:
    """Every answer under /api/ names its version, also those made before a view runs (413,
    415, a method a path does not serve, an unrouted path): the one asked for when it is
    supported, else the current one. A view's own header is left as it set it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith("/api/") and HEADER not in response:
            asked = (request.META.get(_META_KEY) or "").strip()
            supported = apiversions.supported()
            response[HEADER] = asked if asked in supported else apiversions.current()
        return response
