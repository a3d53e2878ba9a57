"""Login throttling on every sign-in form, and the cookies a sign-in sets.

Every sign-in form (/console/login/, /admin/login/, /portal/login/) is throttled by
django-axes with the counters of terms_site/signin.py. Counters live on the Redis cache with
the run's key prefix; each test uses its own account names and client address. The attacks
of the known attacks (Unicode names, staff at the portal, the 51st correct sign-in) are in
tests/security/test_signin_doors.py.
"""

from __future__ import annotations

import uuid

import pytest
from django.conf import settings as django_settings
from django.test import Client

from tests.factories.tenants import StaffFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

PASSWORD = "pass-1234-word"  # tests/factories/tenants.py
PER_ACCOUNT = django_settings.AXES_FAILURE_LIMIT  # failures allowed per account (10)
PER_ADDRESS = django_settings.TERMS_SIGNIN_ADDRESS_FAILURE_LIMIT  # per client address (50)


def address() -> str:
    n = uuid.uuid4().int
    return f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250 + 1}"


def attempt(path: str, username: str, password: str, ip: str) -> int:
    client = Client(REMOTE_ADDR=ip)
    return client.post(path, {"username": username, "password": password}).status_code


@pytest.mark.parametrize("path", ["/console/login/", "/admin/login/"])
def test_staff_login_refused_after_ten_failures_per_account(path: str) -> None:
    staff = StaffFactory(username=f"staff-{uuid.uuid4().hex[:8]}", is_staff=True)
    statuses = [attempt(path, staff.username, "wrong", address()) for _ in range(PER_ACCOUNT)]
    assert statuses == [200] * PER_ACCOUNT  # the form with its error
    client = Client(REMOTE_ADDR=address())
    refused = client.post(path, {"username": staff.username, "password": PASSWORD})
    assert refused.status_code == 429  # even the right password, until the window ends
    assert int(refused["Retry-After"]) > 0
    assert "_auth_user_id" not in client.session
    # Another account is not affected.
    other = StaffFactory(username=f"staff-{uuid.uuid4().hex[:8]}", is_staff=True)
    assert attempt(path, other.username, PASSWORD, address()) == 302


def test_staff_login_refused_after_fifty_attempts_from_one_address() -> None:
    ip = address()
    for n in range(PER_ADDRESS):
        assert attempt("/console/login/", f"nobody-{n}-{uuid.uuid4().hex[:6]}", "x", ip) == 200
    assert attempt("/console/login/", f"nobody-{uuid.uuid4().hex[:6]}", "x", ip) == 429


def test_staff_login_success_clears_the_account_counter() -> None:
    staff = StaffFactory(username=f"staff-{uuid.uuid4().hex[:8]}", is_staff=True)
    for _ in range(PER_ACCOUNT - 1):
        assert attempt("/console/login/", staff.username, "wrong", address()) == 200
    assert attempt("/console/login/", staff.username, PASSWORD, address()) == 302
    for _ in range(PER_ACCOUNT - 1):
        assert attempt("/console/login/", staff.username, "wrong", address()) == 200


def test_portal_login_is_throttled_too() -> None:
    username = f"nobody-{uuid.uuid4().hex[:8]}@example.com"
    statuses = [attempt("/portal/login/", username, "wrong", address()) for _ in range(11)]
    assert statuses[:10] == [200] * 10
    assert statuses[10] == 429


def test_sign_in_cookies_are_secure_httponly_and_same_site(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    staff = StaffFactory(username=f"staff-{uuid.uuid4().hex[:8]}", is_staff=True)
    client = Client(REMOTE_ADDR=address())
    page = client.get("/console/login/")
    csrf = page.cookies[settings.CSRF_COOKIE_NAME]
    assert csrf["secure"] is True
    assert csrf["samesite"] == "Lax"
    response = client.post("/console/login/", {"username": staff.username, "password": PASSWORD})
    assert response.status_code == 302
    session = response.cookies[settings.SESSION_COOKIE_NAME]
    assert session["secure"] is True
    assert session["httponly"] is True
    assert session["samesite"] == "Lax"
    assert (
        session["max-age"] == ""
    )  # ends with the browser session (SESSION_EXPIRE_AT_BROWSER_CLOSE)
