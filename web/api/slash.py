"""Under /api/, a path without its trailing slash is served as the same path with it.

CommonMiddleware's APPEND_SLASH answers such a request with a 301, which clients may follow
with a GET (RFC 9110 15.4.2): a POST /api/v1/tenants would silently become a list. An API
path is matched with or without the slash instead; nothing else changes.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import is_valid_path

API_PREFIX = "/api/"


class ApiTrailingSlashMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path.startswith(API_PREFIX) and not path.endswith("/"):
            urlconf = getattr(request, "urlconf", None)
            if not is_valid_path(path, urlconf) and is_valid_path(f"{path}/", urlconf):
                request.path_info = f"{path}/"
                request.path = f"{request.path}/"
        return self.get_response(request)
