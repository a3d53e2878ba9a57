"""The known attacks replayed against a live server, without a browser (findings 5–8).

Same rules as test_review_replay.py: the attack goes over a socket with plain HTTP through the
real forms or with an API key; the ORM only sets up the actors and checks that nothing was
written. The live server runs in a thread of this process with the test settings' locmem
mail backend, so what it sends is in django.core.mail.outbox.
"""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.test import override_settings

from agreements.services.deletions import deletions_order_due
from core.enums import OutboxChannel, OutboxStatus
from core.models import Outbox
from tenants.delivery.outbox import outbox_deliver_batch
from tenants.models import Invitation, Tenant, WebhookEndpoint
from tests.api.conftest import make_staff
from tests.factories.tenants import (
    MembershipFactory,
    PartnerFactory,
    StaffFactory,
    TenantFactory,
    UserFactory,
    make_partner_key,
)
from tests.security.http_replay import PASSWORD, Caller, staff_session
from tests.security.test_redaction import (  # noqa: F401 -- purged_world is a fixture
    INVITEE,
    MEMBER,
    NEW_CONTACT,
    OLD_CONTACT,
    STAFF_MAILBOX,
    _copies,
    purged_world,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PROBLEM = "application/problem+json"
PER_ACCOUNT = django_settings.AXES_FAILURE_LIMIT
PER_ADDRESS = django_settings.TERMS_SIGNIN_ADDRESS_FAILURE_LIMIT


def _customer() -> object:
    user = UserFactory(username=f"user-{uuid.uuid4().hex[:8]}@customer.example")
    MembershipFactory(tenant=TenantFactory(), user=user)
    return user


def _partner_caller(base: str, partner=None) -> Caller:  # type: ignore[no-untyped-def]
    return Caller(base, api_key=make_partner_key(partner or PartnerFactory())[1])


# --- 5. Sign-in ----------------------------------------------------------------------------


def test_sign_in_locks_variants_keeps_staff_out_of_the_portal_and_admits_the_51st(
    live_server,
) -> None:
    base = live_server.url
    # `admin` locked by failures; 「ａｄｍｉｎ」 (NFKC: admin) is the same locked account.
    admin = StaffFactory(username="admin", email="admin@optim.example", is_superuser=True)
    for _ in range(PER_ACCOUNT):
        assert Caller(base).sign_in("/console/login/", "admin", "wrong").status_code == 200
    for door in ("/console/login/", "/admin/login/"):
        for name in ("ａｄｍｉｎ", "ADMIN", "admin"):
            variant = Caller(base)
            assert variant.sign_in(door, name).status_code == 429, (door, name)
            assert not variant.signed_in()

    # A staff account, right password, at the portal: refused, and no other door opened.
    staff = StaffFactory(username=f"staff-{uuid.uuid4().hex[:8]}@optim.example")
    at_portal = Caller(base)
    assert at_portal.sign_in("/portal/login/", staff.username).status_code == 200
    assert not at_portal.signed_in()
    assert at_portal.get("/console/").headers["Location"].startswith("/console/login/")
    assert at_portal.get("/admin/").headers["Location"].startswith("/admin/login/")
    assert at_portal.get("/api/v1/tenants/").status_code == 401

    # The portal's password reset for staff addresses sends nothing (the superuser's included);
    # the same form for a customer does send, so the mail is observable here.
    for email in (staff.email, admin.email):
        reset = Caller(base).submit("/portal/password/reset/", {"email": email})
        assert (reset.status_code, reset.headers["Location"]) == (
            302,
            "/portal/password/reset/sent/",
        )
    assert mail.outbox == []
    assert not Outbox.objects.filter(recipient__in=[staff.email, admin.email]).exists()
    customer = _customer()
    Caller(base).submit("/portal/password/reset/", {"email": customer.email})
    assert [m.to for m in mail.outbox] == [[customer.email]]

    # Every request came from 127.0.0.1: the 51st correct portal sign-in is still admitted.
    statuses = []
    for _ in range(PER_ADDRESS + 1):
        caller = Caller(base)
        response = caller.sign_in("/portal/login/", customer.username, PASSWORD)
        statuses.append((response.status_code, caller.signed_in()))
    assert statuses == [(302, True)] * (PER_ADDRESS + 1)


# --- 6. Webhooks cannot be turned inward ---------------------------------------------------


def test_webhooks_to_inside_addresses_are_refused(live_server) -> None:
    partner = PartnerFactory()
    caller = _partner_caller(live_server.url, partner)
    inside = [
        "https://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "https://10.0.0.5/hooks",
        "https://192.168.1.10/hooks",
        f"https://127.0.0.1:{live_server.thread.port}/api/v1/",
        "https://[::1]/hooks",
    ]
    # Plain http to the server itself is refused for its scheme before its address is read.
    plain = f"http://127.0.0.1:{live_server.thread.port}/api/v1/"
    for url, code in [(plain, "https_required"), *((u, "address_forbidden") for u in inside)]:
        response = caller.api("POST", "/api/v1/webhooks/", {"url": url})
        assert response.status_code == 400, (url, response.text[:300])
        assert response.headers["Content-Type"] == PROBLEM
        assert response.json()["code"] == code, url
    assert not WebhookEndpoint.objects.filter(partner=partner).exists()
    assert not Outbox.objects.filter(channel=OutboxChannel.WEBHOOK).exists()


# --- 7. Redaction reaches every copy -------------------------------------------------------

SECOND_INVITEE = "second-invitee@outside.example"


def test_redaction_leaves_no_address_and_cancels_queued_mail(live_server, purged_world) -> None:  # noqa: F811
    tenant = purged_world
    # One more invitation, over HTTP by a staff editor: an e-mail queued to the tenant.
    editor = staff_session(live_server.url, make_staff("editor"))
    invited = editor.api(
        "POST",
        f"/api/v1/tenants/{tenant.pk}/invitations/",
        {"email": SECOND_INVITEE, "role": "viewer"},
    )
    assert invited.status_code == 201, invited.text[:300]
    queued = Outbox.objects.get(recipient=SECOND_INVITEE)
    assert queued.status == OutboxStatus.PENDING
    # Staff pages over HTTP show the addresses before the purge (and, below, not after).
    viewer = staff_session(live_server.url, make_staff("viewer"))
    pages = ("/console/audit/", "/console/deliveries/", f"/console/tenants/{tenant.pk}/")
    assert all(MEMBER in viewer.get(page).text.lower() for page in pages)

    assert deletions_order_due(today=date(2026, 4, 1))["redacted"] == 1

    copies = _copies(tenant.pk)
    for value in (MEMBER, INVITEE, SECOND_INVITEE, OLD_CONTACT, NEW_CONTACT, "山田", "花子"):
        assert value not in copies, value
    queued.refresh_from_db()
    assert (queued.status, queued.recipient) == (OutboxStatus.CANCELLED, "")
    while sum(outbox_deliver_batch().values()):
        pass
    assert {address for message in mail.outbox for address in message.to} <= {STAFF_MAILBOX}
    for page in pages:
        text = viewer.get(page).text.lower()
        for value in (MEMBER, INVITEE, SECOND_INVITEE, OLD_CONTACT, NEW_CONTACT):
            assert value not in text, (page, value)


# --- 8. Input edges ------------------------------------------------------------------------

NTA = "7000012050002"  # 国税庁's own 法人番号 (a valid check digit)


def _problem(response, status: int) -> dict:  # type: ignore[no-untyped-def,type-arg]
    assert response.status_code == status, response.text[:300]
    assert response.headers["Content-Type"] == PROBLEM
    assert "Traceback" not in response.text
    assert "<html" not in response.text.lower()
    return response.json()


def test_input_edges_are_refused_with_problems_and_leak_nothing(live_server) -> None:
    base = live_server.url
    partner, rival = PartnerFactory(), PartnerFactory()
    TenantFactory(partner=rival, corporate_number=NTA)
    caller = _partner_caller(base, partner)
    json_body = {"Content-Type": "application/json"}
    tenants_before = Tenant.objects.count()

    deep = caller.api("POST", "/api/v1/tenants/", data=b"[" * 2000 + b"]" * 2000, headers=json_body)
    assert _problem(deep, 400)["code"] == "json_too_deep"
    oversized = b'{"name": "' + b"a" * (3 * 1024 * 1024) + b'"}'
    big = caller.api("POST", "/api/v1/tenants/", data=oversized, headers=json_body)
    assert _problem(big, 413)["code"] == "payload_too_large"
    newline = caller.api("POST", "/api/v1/tenants/", {"name": "正規商事\n偽の行"})
    _problem(newline, 400)
    assert Tenant.objects.count() == tenants_before
    assert not Tenant.objects.filter(name__contains="\n").exists()

    # Another partner's 法人番号: created, and nothing says the number is taken elsewhere.
    same = caller.api("POST", "/api/v1/tenants/", {"name": "国税商事", "corporate_number": NTA})
    assert same.status_code == 201, same.text[:300]
    assert "corporate_number_taken" not in same.text
    assert Tenant.objects.filter(partner=partner, corporate_number=NTA).count() == 1

    anonymous = Caller(base)
    ready = anonymous.get("/readyz")
    assert ready.status_code in (200, 503)
    assert set(ready.json()) == {"status"}, ready.text

    token = "scrape-token-for-replay"
    production_like = override_settings(
        TERMS_METRICS_TOKEN=token,
        TERMS_METRICS_REQUIRE_HTTPS=True,
        SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
    )
    with production_like:
        auth = {"Authorization": f"Bearer {token}"}
        plain = anonymous.get("/metrics", headers=auth)
        assert (plain.status_code, plain.text) == (403, "https required\n")
        detail = anonymous.get("/readyz", headers=auth)
        assert set(detail.json()) == {"status"}, detail.text
        # Control: the token is right; behind the TLS proxy it is accepted.
        proxied = anonymous.get("/metrics", headers={**auth, "X-Forwarded-Proto": "https"})
        assert proxied.status_code == 200
    assert Invitation.objects.count() == 0
