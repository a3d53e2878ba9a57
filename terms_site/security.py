"""HTTP hardening the framework does not ship: a Content Security Policy and staff login
throttling (docs/security.md lists every control and what it covers).

- ContentSecurityPolicyMiddleware: no inline or foreign scripts anywhere (`script-src 'self'`),
  no framing (`frame-ancestors 'none'`, with X-Frame-Options DENY from Django), forms post
  only to us. The API reference pages (Swagger UI, Redoc) need inline styles and, for Redoc,
  a blob: worker; only those two paths get that, never an inline script.
- LoginThrottleMiddleware: the staff sign-in forms (/console/login/, /admin/login/) count
  failed attempts per client address and per account on the shared cache (the counters of
  web/ratelimit.py, which the portal uses too) and answer 429 beyond the limit. A successful
  sign-in clears the account's counter.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from web import ratelimit

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
# Swagger UI and Redoc style themselves inline and Redoc parses the schema in a blob: worker.
API_DOCS_PATHS = ("/api/v1/docs/", "/api/v1/redoc/")
API_DOCS_POLICY = {
    **DEFAULT_POLICY,
    "style-src": "'self' 'unsafe-inline'",
    "worker-src": "'self' blob:",
}

STAFF_LOGIN_PATHS = ("/console/login/", "/admin/login/")
STAFF_LOGIN_PER_ACCOUNT = ratelimit.Limit("staff-login-account", attempts=10, window_seconds=900)
STAFF_LOGIN_PER_ADDRESS = ratelimit.Limit("staff-login-ip", attempts=50, window_seconds=900)
TOO_MANY_REQUESTS = 429


def policy_header(policy: dict[str, str]) -> str:
    return "; ".join(f"{name} {value}" for name, value in policy.items())


class ContentSecurityPolicyMiddleware:
    """Adds Content-Security-Policy to every response that does not set its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.default = policy_header(getattr(settings, "TERMS_CSP", DEFAULT_POLICY))
        self.api_docs = policy_header(API_DOCS_POLICY)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            docs = request.path_info.startswith(API_DOCS_PATHS)
            response["Content-Security-Policy"] = self.api_docs if docs else self.default
        return response


class LoginThrottleMiddleware:
    """Fixed-window counters of failed staff sign-ins (POST only).

    Only failures count, so staff signing in behind one office address never lock each other
    out; once an account or an address has used up its failures, every attempt is refused
    until the window ends, the right password included.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST" or request.path_info not in STAFF_LOGIN_PATHS:
            return self.get_response(request)
        username = str(request.POST.get("username", ""))
        address = ratelimit.client_address(request)
        if ratelimit.exhausted(STAFF_LOGIN_PER_ACCOUNT, username) or ratelimit.exhausted(
            STAFF_LOGIN_PER_ADDRESS, address
        ):
            response = HttpResponse(
                _(
                    "ログインの試行回数が上限に達しました。15分ほど待ってから、もう一度お試しください。"
                ),
                status=TOO_MANY_REQUESTS,
                content_type="text/plain; charset=utf-8",
            )
            response["Retry-After"] = str(STAFF_LOGIN_PER_ACCOUNT.window_seconds)
            return response
        response = self.get_response(request)
        user = getattr(request, "user", None)
        signed_in = user is not None and user.is_authenticated and response.status_code == 302
        if signed_in:
            ratelimit.reset(STAFF_LOGIN_PER_ACCOUNT, username)
        else:
            ratelimit.hit(STAFF_LOGIN_PER_ADDRESS, address)
            ratelimit.hit(STAFF_LOGIN_PER_ACCOUNT, username)
        return response
