"""The known sign-in attacks, each reproduced and refused.

- a Unicode or case variant of a locked staff name signed in with a fresh counter;
- staff signed in through /portal/login/ and then opened the console, the admin and the API;
- the portal's password reset mailed links to staff accounts, the superuser included;
- the per-address portal limit counted successful sign-ins, so the 51st correct sign-in from
  one address (an office, or everyone behind a proxy) was refused;
- and what happens when the cache that holds the counters is unreachable.

Counters live on the Redis cache with the run's key prefix; every test uses its own account
names and client addresses.
"""

from __future__ import annotations

import io
import logging
import re
import uuid

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.core.management import call_command
from django.test import Client, RequestFactory
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from core.enums import EventKind
from core.models import Outbox
from tenants.enums import InvitationStatus, Role
from tenants.models import Invitation, Membership
from tenants.scope import Scope
from tenants.services import invitation_create
from tests.api.conftest import key_client, make_staff
from tests.factories.tenants import (
    MembershipFactory,
    PartnerFactory,
    StaffFactory,
    TenantFactory,
    UserFactory,
    make_partner_key,
)
from web import ratelimit

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

PASSWORD = "pass-1234-word"  # tests/factories/tenants.py
PER_ACCOUNT = django_settings.AXES_FAILURE_LIMIT
PER_ADDRESS = django_settings.TERMS_SIGNIN_ADDRESS_FAILURE_LIMIT
INVALID_PORTAL_LOGIN = "メールアドレスまたはパスワードが正しくありません"


def address() -> str:
    n = uuid.uuid4().int
    return f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250 + 1}"


def attempt(path: str, username: str, password: str, ip: str, **extra: str) -> int:
    client = Client(REMOTE_ADDR=ip, **extra)
    return client.post(path, {"username": username, "password": password}).status_code


def to_fullwidth(text: str) -> str:
    """「admin-1」 → 「ａｄｍｉｎ－１」: what NFKC folds back to the ASCII name."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def customer() -> object:
    user = UserFactory(username=f"user-{uuid.uuid4().hex[:8]}@customer.example")
    MembershipFactory(tenant=TenantFactory(), user=user)
    return user


# --- the account name as Django reads it ----------------------------------------------------


@pytest.mark.parametrize("path", ["/console/login/", "/admin/login/"])
@pytest.mark.parametrize("variant", [to_fullwidth, str.upper, str.title])
def test_variant_of_a_locked_staff_name_is_refused_too(path: str, variant) -> None:  # type: ignore[no-untyped-def]
    staff = StaffFactory(username=f"admin-{uuid.uuid4().hex[:8]}")
    for _ in range(PER_ACCOUNT):
        assert attempt(path, staff.username, "wrong", address()) == 200
    client = Client(REMOTE_ADDR=address())
    refused = client.post(path, {"username": variant(staff.username), "password": PASSWORD})
    assert refused.status_code == 429
    assert "_auth_user_id" not in client.session


def test_failures_under_every_spelling_count_against_one_account() -> None:
    staff = StaffFactory(username=f"admin-{uuid.uuid4().hex[:8]}")
    spellings = [staff.username, to_fullwidth(staff.username), staff.username.upper()]
    for n in range(PER_ACCOUNT):
        assert attempt("/console/login/", spellings[n % 3], "wrong", address()) == 200
    assert attempt("/console/login/", staff.username, PASSWORD, address()) == 429


def test_portal_and_console_share_the_account_budget() -> None:
    staff = StaffFactory(username=f"admin-{uuid.uuid4().hex[:8]}")
    for _ in range(PER_ACCOUNT):
        assert attempt("/portal/login/", staff.username, "wrong", address()) == 200
    assert attempt("/console/login/", staff.username, PASSWORD, address()) == 429


@pytest.mark.parametrize(
    ("typed", "counted"),
    [("ａｄｍｉｎ", "admin"), ("Admin", "admin"), (" ADMIN ", "admin"), ("Straße", "strasse")],
)
def test_account_name_is_nfkc_casefolded(typed: str, counted: str) -> None:
    assert ratelimit.account_name(typed) == counted


# --- staff only where staff sign in ---------------------------------------------------------


@pytest.mark.parametrize("superuser", [False, True])
def test_staff_cannot_sign_in_through_the_portal(superuser: bool) -> None:
    staff = StaffFactory(
        username=f"staff-{uuid.uuid4().hex[:8]}@optim.example", is_superuser=superuser
    )
    client = Client(REMOTE_ADDR=address())
    response = client.post("/portal/login/", {"username": staff.username, "password": PASSWORD})
    assert response.status_code == 200
    assert INVALID_PORTAL_LOGIN in response.content.decode()
    assert "_auth_user_id" not in client.session
    # Nothing beyond the portal opened either.
    assert client.get("/console/")["Location"].startswith("/console/login/")
    assert client.get("/admin/")["Location"].startswith("/admin/login/")
    assert client.get("/api/v1/tenants/").status_code == 401


def test_staff_at_the_portal_counts_as_a_failed_sign_in() -> None:
    staff = StaffFactory(username=f"staff-{uuid.uuid4().hex[:8]}")
    # The right password at the wrong door looks exactly like a wrong one, lock-out included.
    for _ in range(PER_ACCOUNT):
        assert attempt("/portal/login/", staff.username, PASSWORD, address()) == 200
    assert attempt("/portal/login/", staff.username, PASSWORD, address()) == 429


def test_tenant_user_cannot_sign_in_to_the_console_or_the_admin() -> None:
    user = customer()
    for path in ("/console/login/", "/admin/login/"):
        client = Client(REMOTE_ADDR=address())
        response = client.post(path, {"username": user.username, "password": PASSWORD})
        assert response.status_code == 200
        assert "_auth_user_id" not in client.session
    # The portal is their door.
    assert attempt("/portal/login/", user.username, PASSWORD, address()) == 302


@pytest.mark.parametrize("superuser", [False, True])
def test_portal_password_reset_sends_nothing_to_staff(superuser: bool) -> None:
    staff = StaffFactory(
        username=f"staff-{uuid.uuid4().hex[:8]}",
        email=f"staff-{uuid.uuid4().hex[:8]}@optim.example",
        is_superuser=superuser,
    )
    unknown = f"nobody-{uuid.uuid4().hex[:8]}@optim.example"
    answers = []
    for email in (staff.email, unknown):
        response = Client(REMOTE_ADDR=address()).post("/portal/password/reset/", {"email": email})
        answers.append((response.status_code, response["Location"]))
    # The same answer as for an address nobody has, and no mail.
    assert answers == [(302, "/portal/password/reset/sent/")] * 2
    assert mail.outbox == []


def test_portal_password_reset_still_reaches_tenant_users() -> None:
    user = customer()
    response = Client(REMOTE_ADDR=address()).post("/portal/password/reset/", {"email": user.email})
    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [[user.email]]
    assert re.search(r"/portal/password/reset/[^\s]+/", mail.outbox[0].body)


def test_portal_reset_link_for_a_staff_account_is_invalid() -> None:
    staff = StaffFactory(username=f"staff-{uuid.uuid4().hex[:8]}", is_superuser=True)
    uid = urlsafe_base64_encode(force_bytes(staff.pk))
    token = default_token_generator.make_token(staff)
    client = Client(REMOTE_ADDR=address())
    page = client.get(f"/portal/password/reset/{uid}/{token}/", follow=True)
    assert page.context["validlink"] is False
    posted = client.post(
        page.redirect_chain[-1][0]
        if page.redirect_chain
        else f"/portal/password/reset/{uid}/{token}/",
        {"new_password1": "taken-over-9876", "new_password2": "taken-over-9876"},
    )
    assert posted.status_code == 200
    staff.refresh_from_db()
    assert staff.check_password(PASSWORD)


# --- failures only, per client address -------------------------------------------------------


@pytest.mark.parametrize("path", ["/portal/login/", "/console/login/"])
def test_fifty_first_correct_sign_in_from_one_address_is_admitted(path: str) -> None:
    ip = address()
    user = customer() if path == "/portal/login/" else StaffFactory()
    statuses = [attempt(path, user.username, PASSWORD, ip) for _ in range(PER_ADDRESS + 1)]
    assert statuses == [302] * (PER_ADDRESS + 1)


def test_a_successful_sign_in_does_not_refill_the_address_budget() -> None:
    ip = address()
    own = customer()  # the attacker's own valid account
    for n in range(PER_ADDRESS - 1):
        assert attempt("/portal/login/", f"victim-{n}@customer.example", "x", ip) == 200
    assert attempt("/portal/login/", own.username, PASSWORD, ip) == 302
    assert attempt("/portal/login/", "victim-last@customer.example", "x", ip) == 200
    assert attempt("/portal/login/", own.username, PASSWORD, ip) == 429


def test_forged_forwarded_for_does_not_escape_the_address_budget() -> None:
    ip = address()
    for n in range(PER_ADDRESS):
        forged = address()
        status = attempt(
            "/portal/login/", f"x-{n}@customer.example", "x", ip, HTTP_X_FORWARDED_FOR=forged
        )
        assert status == 200
    assert (
        attempt("/portal/login/", "y@customer.example", "x", ip, HTTP_X_FORWARDED_FOR="1.2.3.4")
        == 429
    )


def test_behind_a_trusted_proxy_each_client_has_its_own_budget(settings) -> None:  # type: ignore[no-untyped-def]
    settings.TERMS_TRUSTED_PROXY_COUNT = 1
    proxy, first, second = address(), address(), address()
    for n in range(PER_ADDRESS):
        # Whatever the client writes on the left, the proxy's right-most entry decides.
        forwarded = f"{address()}, {first}"
        status = attempt(
            "/portal/login/", f"x-{n}@customer.example", "x", proxy, HTTP_X_FORWARDED_FOR=forwarded
        )
        assert status == 200
    assert attempt("/portal/login/", "y@c.example", "x", proxy, HTTP_X_FORWARDED_FOR=first) == 429
    user = customer()
    assert (
        attempt("/portal/login/", user.username, PASSWORD, proxy, HTTP_X_FORWARDED_FOR=second)
        == 302
    )


@pytest.mark.parametrize(
    ("count", "trusted", "peer", "forwarded", "expected"),
    [
        (0, [], "192.0.2.9", "198.51.100.7", "192.0.2.9"),  # default: the socket
        (1, [], "192.0.2.9", "198.51.100.7", "198.51.100.7"),
        (1, [], "192.0.2.9", "203.0.113.66, 198.51.100.7", "198.51.100.7"),  # forged left part
        (1, [], "192.0.2.9", "garbage, 198.51.100.7", "198.51.100.7"),
        (2, [], "192.0.2.9", "203.0.113.66, 198.51.100.7, 192.0.2.200", "198.51.100.7"),
        (1, ["192.0.2.0/24"], "192.0.2.9", "198.51.100.7", "198.51.100.7"),
        (1, ["192.0.2.0/24"], "203.0.113.5", "198.51.100.7", "203.0.113.5"),  # not our proxy
        (1, [], "192.0.2.9", "", "192.0.2.9"),  # no header: the proxy itself
    ],
)
def test_client_address_trusts_only_the_configured_proxies(  # type: ignore[no-untyped-def]
    settings, count: int, trusted: list[str], peer: str, forwarded: str, expected: str
) -> None:
    settings.TERMS_TRUSTED_PROXY_COUNT = count
    settings.TERMS_TRUSTED_PROXIES = trusted
    request = RequestFactory().get("/", REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=forwarded)
    assert ratelimit.client_address(request) == expected


# --- when the cache is gone ------------------------------------------------------------------


@pytest.fixture
def cache_unreachable(settings, monkeypatch):  # type: ignore[no-untyped-def]
    """The counters' cache points at a port nothing listens on (connection refused)."""
    monkeypatch.setattr(ratelimit, "_OUTAGES", {})  # no outage remembered from another test
    settings.CACHES = {
        **settings.CACHES,
        "unreachable": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        },
    }
    settings.AXES_CACHE = "unreachable"


def test_cache_down_neither_locks_everybody_out_nor_stops_counting(
    cache_unreachable, caplog
) -> None:  # type: ignore[no-untyped-def]
    staff = StaffFactory(username=f"staff-{uuid.uuid4().hex[:8]}")
    with caplog.at_level(logging.WARNING, logger="web.ratelimit"):
        # Sign-in still works for the right password ...
        assert attempt("/console/login/", staff.username, PASSWORD, address()) == 302
        # ... and failures are still counted (in this process) and locked out.
        victim = StaffFactory(username=f"staff-{uuid.uuid4().hex[:8]}")
        for _ in range(PER_ACCOUNT):
            assert attempt("/console/login/", victim.username, "wrong", address()) == 200
        assert attempt("/console/login/", victim.username, PASSWORD, address()) == 429
        # Password reset throttling degrades the same way instead of failing.
        user = customer()
        response = Client(REMOTE_ADDR=address()).post(
            "/portal/password/reset/", {"email": user.email}
        )
        assert response.status_code == 302
    # Said once for the whole outage, not once per counter operation.
    said = [r for r in caplog.records if "ratelimit.cache.unavailable" in r.getMessage()]
    assert len(said) == 1
    assert said[0].exc_info is None


def test_an_operator_lifts_a_lock_with_axes_reset_username() -> None:
    staff = StaffFactory(username=f"staff-{uuid.uuid4().hex[:8]}")
    for _ in range(PER_ACCOUNT):
        assert attempt("/console/login/", staff.username, "wrong", address()) == 200
    assert attempt("/console/login/", staff.username, PASSWORD, address()) == 429
    # Any spelling of the name finds the one counter.
    call_command("axes_reset_username", to_fullwidth(staff.username), stdout=io.StringIO())
    assert attempt("/console/login/", staff.username, PASSWORD, address()) == 302


def _accept(client: Client, token: str, password: str):  # type: ignore[no-untyped-def]
    return client.post(
        f"/portal/invitations/{token}/", {"password": password, "password_confirm": password}
    )


def _invitation_token(email: str, tenant: object | None = None) -> tuple[object, str]:
    tenant = tenant or TenantFactory()
    _invitation, token = invitation_create(
        scope=Scope.staff(StaffFactory(is_superuser=True)), tenant=tenant, email=email
    )
    return tenant, token


def test_an_invitation_gives_a_staff_account_no_portal_session() -> None:
    """A staff account accepted an invitation with its password and got a tenant
    membership; its right password was answered differently from a wrong one (an oracle).
    Now both answers are the wrong-password answer, counted, and no membership is made."""
    staff = StaffFactory(username=f"staff-{uuid.uuid4().hex[:8]}@optim.example")
    tenant, token = _invitation_token(staff.username)
    client = Client(REMOTE_ADDR=address())
    wrong = _accept(client, token, "not-the-password-1")
    right = _accept(client, token, PASSWORD)
    assert (wrong.status_code, right.status_code) == (200, 200)
    assert right.context["form"].errors == wrong.context["form"].errors
    assert "password" in right.context["form"].errors
    assert not Membership.objects.filter(user=staff).exists()
    assert Invitation.objects.get(tenant=tenant).status == InvitationStatus.PENDING
    assert "_auth_user_id" not in client.session
    assert client.get("/console/")["Location"].startswith("/console/login/")


@pytest.mark.parametrize("door", ["api", "console", "portal"])
def test_inviting_a_staff_address_never_makes_the_staff_account_a_member(door: str) -> None:
    staff = StaffFactory(username=f"staff-{uuid.uuid4().hex[:8]}@optim.example")
    partner = PartnerFactory()
    tenant = TenantFactory(partner=partner)
    if door == "api":
        _key, raw = make_partner_key(partner)
        invited = key_client(raw).post(
            f"/api/v1/tenants/{tenant.pk}/invitations/",
            {"email": staff.username, "role": "admin"},
            format="json",
        )
        assert invited.status_code == 201
    else:
        inviter = Client()
        if door == "console":
            inviter.force_login(make_staff("editor"))
            url = f"/console/tenants/{tenant.pk}/invitations/"
        else:
            admin = customer()
            Membership.objects.filter(user=admin).update(tenant=tenant, role=Role.ADMIN)
            inviter.force_login(admin)
            url = "/portal/members/invite/"
        assert inviter.post(url, {"email": staff.username, "role": "admin"}).status_code == 302
    row = Outbox.objects.get(kind=EventKind.INVITATION, recipient=staff.username)
    token = row.payload["invitation_url"].rstrip("/").rsplit("/", 1)[1]
    response = _accept(Client(REMOTE_ADDR=address()), token, PASSWORD)
    assert response.status_code == 200
    assert not Membership.objects.filter(user=staff).exists()


def test_a_locked_account_does_not_sign_in_through_an_invitation() -> None:
    """A customer account locked at /portal/login/ accepted an invitation with its
    password (unlimited guesses, then a session). Now the lock refuses it like the sign-in page."""
    user = customer()
    _tenant, token = _invitation_token(user.username)  # type: ignore[attr-defined]
    for _ in range(PER_ACCOUNT):
        assert attempt("/portal/login/", user.username, "wrong", address()) == 200  # type: ignore[attr-defined]
    client = Client(REMOTE_ADDR=address())
    refused = _accept(client, token, PASSWORD)
    assert refused.status_code == 429
    assert refused["Retry-After"] == str(15 * 60)
    assert str(ratelimit.SIGNIN_LOCKED_OUT) in refused.content.decode()
    assert Membership.objects.filter(user=user).count() == 1  # only the one it had
    assert "_auth_user_id" not in client.session


def test_guesses_through_an_invitation_spend_the_sign_in_budget() -> None:
    user = customer()
    _tenant, token = _invitation_token(user.username)  # type: ignore[attr-defined]
    for n in range(PER_ACCOUNT):
        guess = _accept(Client(REMOTE_ADDR=address()), token, f"guess-{n}-password")
        assert guess.status_code == 200
    assert _accept(Client(REMOTE_ADDR=address()), token, PASSWORD).status_code == 429
    assert attempt("/portal/login/", user.username, PASSWORD, address()) == 429  # type: ignore[attr-defined]
    assert Membership.objects.filter(user=user).count() == 1


def test_an_invitation_accepted_with_the_right_password_clears_the_account_failures() -> None:
    user = customer()
    tenant, token = _invitation_token(user.username)  # type: ignore[attr-defined]
    for _ in range(PER_ACCOUNT - 1):
        assert attempt("/portal/login/", user.username, "wrong", address()) == 200  # type: ignore[attr-defined]
    client = Client(REMOTE_ADDR=address())
    assert _accept(client, token, PASSWORD).status_code == 302
    assert Membership.objects.filter(user=user, tenant=tenant).exists()
    assert attempt("/portal/login/", user.username, "wrong", address()) == 200  # type: ignore[attr-defined]
