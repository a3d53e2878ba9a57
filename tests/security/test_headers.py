"""Security headers on the pages people load: CSP without inline scripts, HSTS over HTTPS
when its setting is on, frame denial, referrer policy, no MIME sniffing (docs/security.md)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

PAGES = ["/terms/", "/notices/", "/portal/login/", "/console/login/", "/verify/", "/api/v1/"]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)


def directives(header: str) -> dict[str, str]:
    parts = (part.strip().split(" ", 1) for part in header.split(";") if part.strip())
    return {name: value for name, value in parts}


@pytest.mark.parametrize("path", PAGES)
def test_pages_send_a_csp_without_inline_scripts(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    policy = directives(response["Content-Security-Policy"])
    assert policy["script-src"] == "'self'"
    assert policy["default-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"
    html = response.content.decode()
    assert INLINE_SCRIPT.findall(html) == []
    assert EVENT_HANDLER.findall(html) == []


def test_api_reference_has_the_site_policy_and_no_script(client: Client) -> None:
    """The reference is server-rendered (web/api/reference.py): no inline style or script
    exception, no script at all; the Redoc address leads to it."""
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    policy = directives(response["Content-Security-Policy"])
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert "<script" not in response.content.decode()
    assert client.get("/api/v1/redoc/")["Location"] == "/api/v1/docs/"


def test_frame_deny_referrer_policy_and_nosniff(client: Client) -> None:
    response = client.get("/terms/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_hsts_over_https_when_enabled(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    client = Client()  # SecurityMiddleware reads its settings when the chain is built
    response = client.get("/terms/", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    # Never over plain HTTP (browsers ignore it there), and not when the setting is 0.
    assert "Strict-Transport-Security" not in client.get("/terms/")
    settings.SECURE_HSTS_SECONDS = 0
    assert "Strict-Transport-Security" not in Client().get("/terms/", secure=True)
