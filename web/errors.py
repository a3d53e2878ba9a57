"""Server errors by audience: problem+json under /api/, a plain page elsewhere.

A database that cannot answer (down, past the connect or statement timeout) is a 503 with
Retry-After for every audience, logged as one line; anything else unexpected is a 500 whose
body says nothing of the exception (its traceback goes to the log, not to the caller).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token

from web.api.problems import (
    DATABASE_UNAVAILABLE,
    RETRY_AFTER_SECONDS,
    SERVER_ERROR,
    SERVICE_UNAVAILABLE,
    problem_json,
)

logger = logging.getLogger(__name__)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def unavailable(request: HttpRequest) -> HttpResponse:
    """503: problem+json under /api/, a page without the site's stylesheet elsewhere (it must
    render whatever else is broken)."""
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if _is_api(request):
        return problem_json(
            503,
            "service_unavailable",
            SERVICE_UNAVAILABLE,
            headers=headers,
            instance=request.path,
        )
    body = loader.render_to_string("503.html", {"message": SERVICE_UNAVAILABLE}, request)
    return HttpResponse(body, status=503, headers=headers)


class DatabaseUnavailableMiddleware:
    """A view (or a lazy `request.user`) that hits an unavailable database answers 503."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DATABASE_UNAVAILABLE):
            return None
        logger.warning(
            "database.unavailable",
            extra={"error": exception.__class__.__name__, "path": request.path},
        )
        return unavailable(request)


@requires_csrf_token
def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: called by Django while it handles the exception (a middleware's, too)."""
    exc = sys.exc_info()[1]
    if isinstance(exc, DATABASE_UNAVAILABLE):
        return unavailable(request)
    if _is_api(request):
        return problem_json(500, "server_error", SERVER_ERROR, instance=request.path)
    body = loader.render_to_string("500.html", {"message": SERVER_ERROR}, request)
    return HttpResponse(body, status=500)
