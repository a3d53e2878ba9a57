"""HTTP hardening the framework does not ship (docs/security.md lists every control and what it
covers; sign-in throttling is django-axes, wired in terms_site/signin.py).

- ContentSecurityPolicyMiddleware: no inline or foreign scripts anywhere (`script-src 'self'`),
  no framing (`frame-ancestors 'none'`, with X-Frame-Options DENY from Django), forms post
  only to us. The API reference (/api/v1/docs/) is a page of the site like any other
  (web/api/reference.py), so one policy covers every path.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

DEFAULT_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def policy_header(policy: dict[str, str]) -> str:
    return "; ".join(f"{name} {value}" for name, value in policy.items())


class ContentSecurityPolicyMiddleware:
    """Adds Content-Security-Policy to every response that does not set its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.default = policy_header(getattr(settings, "TERMS_CSP", DEFAULT_POLICY))

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = self.default
        return response
