"""Production refuses what is not production (terms_site/production.py, docs/operations.md).

Each case starts the real settings in a subprocess with DJANGO_DEBUG=false, as a deployment
would, changing one thing from a configuration that starts.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from terms_site import production

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
STARTED = "import django; django.setup(); print('started')"


def start(code: str = STARTED, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "TERMS_"))}
    clean.pop("EMAIL_URL", None)
    clean.update(
        {
            "DJANGO_SETTINGS_MODULE": "terms_site.settings",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "terms.example.com",
            "EMAIL_URL": "smtp+tls://terms:password@mail.example.com:587",
            "DATABASE_URL": os.environ.get(
                "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"
            ),
            "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
            **env,
        }
    )
    command = [sys.executable, "-c", code] if code else [sys.executable, *args]
    return subprocess.run(
        command, cwd=REPO, env=clean, capture_output=True, text=True, timeout=120, check=False
    )


def test_a_production_configuration_starts_quietly() -> None:
    result = start()
    assert (result.returncode, result.stdout.strip()) == (0, "started"), result.stderr
    assert "NOT PRODUCTION" not in result.stderr


@pytest.mark.parametrize(
    ("email_url", "backend"),
    [
        ("consolemail://", "console"),
        ("dummymail://", "dummy"),
        ("memorymail://", "locmem"),
        ("filemail:///tmp/mail", "filebased"),
    ],
)
def test_a_mail_backend_that_delivers_nothing_is_refused(email_url, backend) -> None:
    result = start(EMAIL_URL=email_url)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"EMAIL_URL: selects the {backend} e-mail backend" in result.stderr
    assert "smtp+tls://" in result.stderr  # the fix is named


def test_no_email_url_at_all_is_refused_too() -> None:
    # The default (consolemail://) is a developer's default, not production's.
    result = start(EMAIL_URL="")
    assert result.returncode != 0
    assert "EMAIL_URL" in result.stderr


@pytest.mark.parametrize(
    ("secret", "why"),
    [
        ("change-me", "placeholder"),
        ("change-me-too" + "x" * 60, "placeholder"),
        ("insecure-development-key-only-for-debug-runs", "placeholder"),
        (secrets.token_urlsafe(40)[:49], "has 49 characters"),
        ("ab" * 40, "fewer than 5 different characters"),
        ("django-insecure-" + secrets.token_urlsafe(50), "startproject"),
    ],
)
def test_a_weak_or_placeholder_secret_is_refused(secret, why) -> None:
    result = start(DJANGO_SECRET_KEY=secret)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr
    assert why in result.stderr
    assert "token_urlsafe(50)" in result.stderr  # how to make a good one
    assert secret not in result.stderr  # the rejected value itself is never printed


def test_every_secret_in_env_example_is_refused() -> None:
    text = (REPO / ".env.example").read_text()
    (line,) = [line for line in text.splitlines() if line.startswith("DJANGO_SECRET_KEY=")]
    assert production.weak_secret(line.split("=", 1)[1]) is not None


def test_every_url_password_in_env_example_is_refused() -> None:
    """A copied .env.example must not start with the example's database or mail password."""
    text = (REPO / ".env.example").read_text()
    env = {
        name: line.split("=", 1)[1]
        for line in text.splitlines()
        for name in ("DATABASE_URL", "EMAIL_URL")
        if line.startswith(f"{name}=")
    }
    assert set(env) == {"DATABASE_URL", "EMAIL_URL"}
    found = production.refusals(
        secret_key=secrets.token_urlsafe(50),
        email_backend="django.core.mail.backends.smtp.EmailBackend",
        webhook_allow_hosts=[],
        require_second_publisher=True,
        urls=env,
    )
    assert {r.setting for r in found} == {"DATABASE_URL", "EMAIL_URL"}
    assert all("change-me" not in r.message() for r in found)  # the value is never printed


def test_a_placeholder_mail_password_stops_the_start() -> None:
    result = start(EMAIL_URL="smtp+tls://terms:change-me@mail.example.com:587")
    assert result.returncode != 0
    assert "EMAIL_URL: carries a placeholder password" in result.stderr


def test_webhook_allow_hosts_outside_debug_is_refused_not_ignored() -> None:
    result = start(TERMS_WEBHOOK_ALLOW_HOSTS="127.0.0.1")
    assert result.returncode != 0
    assert "TERMS_WEBHOOK_ALLOW_HOSTS" in result.stderr


def test_every_refusal_is_listed_at_once() -> None:
    result = start(EMAIL_URL="consolemail://", DJANGO_SECRET_KEY="change-me")
    assert result.returncode != 0
    assert "EMAIL_URL" in result.stderr
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_staging_allows_by_name_and_says_so_on_every_start() -> None:
    result = start(
        EMAIL_URL="consolemail://",
        DJANGO_SECRET_KEY="change-me",
        TERMS_ALLOW_NONPRODUCTION="email,secret",
    )
    assert (result.returncode, result.stdout.strip()) == (0, "started"), result.stderr
    assert "NOT PRODUCTION" in result.stderr
    assert "TERMS_ALLOW_NONPRODUCTION=email,secret" in result.stderr
    # Allowing one thing does not allow another.
    partly = start(
        EMAIL_URL="consolemail://", DJANGO_SECRET_KEY="change-me", TERMS_ALLOW_NONPRODUCTION="email"
    )
    assert partly.returncode != 0
    assert "DJANGO_SECRET_KEY" in partly.stderr
    assert "EMAIL_URL:" not in partly.stderr


def test_an_unknown_allowance_is_refused() -> None:
    result = start(TERMS_ALLOW_NONPRODUCTION="everything")
    assert result.returncode != 0
    assert "TERMS_ALLOW_NONPRODUCTION names everything" in result.stderr


def test_the_debug_only_single_publisher_mode_cannot_be_allowed() -> None:
    with pytest.raises(ImproperlyConfigured, match="TERMS_REQUIRE_SECOND_PUBLISHER"):
        production.enforce(
            production.refusals(
                secret_key=secrets.token_urlsafe(50),
                email_backend="django.core.mail.backends.smtp.EmailBackend",
                webhook_allow_hosts=[],
                require_second_publisher=False,
            ),
            list(production.ALLOWABLE),
        )


def test_loaddemo_refuses_outside_debug_before_loading_anything() -> None:
    result = start("", "manage.py", "loaddemo")
    assert result.returncode != 0
    assert "loaddemo refuses to run without DJANGO_DEBUG=true" in result.stderr
    assert "TERMS_ALLOW_NONPRODUCTION=loaddemo" in result.stderr
    assert "demo-pass-2026" not in result.stdout
