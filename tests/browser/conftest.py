"""Playwright against Debian's chromium (never `playwright install`), headless, locale ja-JP.

The live server runs in a thread of this process, so the ORM calls the tests make between
browser steps need DJANGO_ALLOW_ASYNC_UNSAFE (the sync Playwright API runs an event loop),
and a clock moved with time_machine here is the clock the server reads.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "pass-1234-word"  # the test factories' password
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is required for the browser tests (apt-get install chromium)")
        pytest.skip("chromium is not installed")
    return {**browser_type_launch_args, "executable_path": executable, "args": ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {
        **browser_context_args,
        "locale": "ja-JP",
        "viewport": {"width": 1280, "height": 900},
    }


@pytest.fixture
def shot(page):
    """Save a full-page screenshot as a test artefact: shot("console-home")."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str, target=None) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        (target or page).screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def login(page, live_server):
    """Sign in to the console through its login page."""

    def sign_in(user, password: str = PASSWORD, target=None) -> None:
        browser_page = target or page
        browser_page.goto(f"{live_server.url}/console/login/")
        browser_page.fill("#id_username", user.username)
        browser_page.fill("#id_password", password)
        browser_page.get_by_role("button", name="ログイン").click()
        browser_page.wait_for_url(f"{live_server.url}/console/")

    return sign_in
