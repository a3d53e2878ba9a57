"""Security headers on the pages people load: CSP without inline scripts, HSTS over HTTPS
when its setting is on, frame denial, referrer policy, no MIME sniffing (docs/security.md)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from terms_site.security import API_DOCS_PATHS

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


@pytest.mark.parametrize("path", API_DOCS_PATHS)
def test_api_reference_pages_keep_scripts_strict(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    policy = directives(response["Content-Security-Policy"])
    assert policy["script-src"] == "'self'"
    assert "'unsafe-inline'" in policy["style-src"]  # Swagger UI / Redoc style themselves
    assert INLINE_SCRIPT.findall(response.content.decode()) == []


def test_swagger_ui_loads_its_start_script_from_a_url(client: Client) -> None:
    response = client.get("/api/v1/docs/?script")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")


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
