"""Production settings: `check --deploy` is clean and the cookie flags are the secure ones.

Both run the real settings module in a subprocess with DJANGO_DEBUG=false, a throwaway
secret of 60 characters and an allowed host, as a deployment would (docs/security.md).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]


def production_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "TERMS_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "terms_site.settings",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(45),  # 60 characters
            "DJANGO_ALLOWED_HOSTS": "terms.example.com",
            "EMAIL_URL": "smtp+tls://terms:password@mail.example.com:587",
            "DATABASE_URL": os.environ.get(
                "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"
            ),
            **extra,
        }
    )
    return env


def run(args: list[str], **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=REPO,
        env=production_env(**extra),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_under_production_settings() -> None:
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_flags_a_short_secret() -> None:
    # The check is live: a weak secret is reported, so a clean run above means something.
    # (Without the staging allowance the settings refuse it before any check runs:
    # tests/security/test_production_refuses.py.)
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        DJANGO_SECRET_KEY="short",
        TERMS_ALLOW_NONPRODUCTION="secret",
    )
    assert result.returncode != 0
    assert "security.W009" in result.stdout + result.stderr


SETTINGS_PROBE = """
import json, django
django.setup()
from django.conf import settings as s
names = ["DEBUG", "SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE",
         "CSRF_COOKIE_SECURE", "CSRF_COOKIE_SAMESITE", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS",
         "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_CONTENT_TYPE_NOSNIFF", "SECURE_REFERRER_POLICY",
         "X_FRAME_OPTIONS", "SESSION_EXPIRE_AT_BROWSER_CLOSE", "MIDDLEWARE",
         "AUTHENTICATION_BACKENDS"]
print(json.dumps({n: getattr(s, n) for n in names}))
"""


def production_settings(**extra: str) -> dict[str, object]:
    result = run(["-c", SETTINGS_PROBE], **extra)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_cookies_are_secure_httponly_and_same_site() -> None:
    values = production_settings()
    assert values["DEBUG"] is False
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert values["SESSION_EXPIRE_AT_BROWSER_CLOSE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SAMESITE"] == "Lax"
    assert values["SECURE_SSL_REDIRECT"] is True


def test_production_headers_settings_and_hsts_behind_a_setting() -> None:
    values = production_settings()
    assert values["SECURE_HSTS_SECONDS"] == 31536000
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert values["SECURE_REFERRER_POLICY"] == "same-origin"
    assert values["X_FRAME_OPTIONS"] == "DENY"
    assert "terms_site.security.ContentSecurityPolicyMiddleware" in values["MIDDLEWARE"]
    # Sign-in throttling: axes refuses a locked account before any password check.
    assert "axes.middleware.AxesMiddleware" in values["MIDDLEWARE"]
    assert values["AUTHENTICATION_BACKENDS"][0] == "axes.backends.AxesStandaloneBackend"
    # An operator turns HSTS off (e.g. before TLS works on every subdomain) with one variable.
    assert production_settings(DJANGO_HSTS_SECONDS="0")["SECURE_HSTS_SECONDS"] == 0
