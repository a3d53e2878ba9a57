from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings

from core import clock
from core.enums import AuditAction, EventKind
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.models import AuditEntry
from tenants.models import WebhookEndpoint
from tenants.services.webhooks import (
    MAX_WEBHOOKS,
    webhook_disable,
    webhook_register,
    webhook_rotate_secret,
)
from tenants.webhooks import (
    SIGNATURE_HEADER,
    signing_secrets,
    webhook_headers,
    webhook_signature,
    webhook_verify,
)
from tests.factories.tenants import TenantFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

T0 = datetime(2025, 3, 1, 0, 0, tzinfo=UTC)
BODY = b'{"event_id":1,"kind":"notice.posted"}'
# Computed independently: printf '%s' '1700000000.<BODY>' | openssl dgst -sha256 -hmac whsec_known-answer
KNOWN = "61c40f3ea5c25dcbcd20b8ab70691cbf8f39d8e7a00dba112006c6de3646754c"


def test_webhook_signature_known_answer():
    assert webhook_signature("whsec_known-answer", 1700000000, BODY) == KNOWN


def test_webhook_signature_depends_on_every_input():
    base = webhook_signature("s", 1700000000, BODY)
    assert webhook_signature("t", 1700000000, BODY) != base
    assert webhook_signature("s", 1700000001, BODY) != base
    assert webhook_signature("s", 1700000000, BODY + b" ") != base


def test_webhook_headers_with_secret():
    headers = webhook_headers(
        secret="whsec_known-answer",
        body=BODY,
        event_id=1,
        kind="notice.posted",
        timestamp=1700000000,
    )
    assert headers == {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "OPTiM-Terms-Webhook/1",
        "X-Terms-Signature": f"t=1700000000,v1={KNOWN}",
        "X-Terms-Event-Id": "1",
        "X-Terms-Event": "notice.posted",
    }


def test_webhook_headers_need_a_secret():
    with pytest.raises(TypeError):
        webhook_headers(body=BODY)


def test_webhook_verify_as_a_receiver():
    header = f"t=1700000000,v1={KNOWN}"
    assert webhook_verify(secret="whsec_known-answer", header=header, body=BODY, now=1700000100)
    assert not webhook_verify(secret="other", header=header, body=BODY, now=1700000100)
    assert not webhook_verify(
        secret="whsec_known-answer", header=header, body=BODY + b"x", now=1700000100
    )
    # Replayed long after: refused.
    assert not webhook_verify(
        secret="whsec_known-answer", header=header, body=BODY, now=1700000000 + 301
    )
    assert not webhook_verify(secret="whsec_known-answer", header="v1=" + KNOWN, body=BODY)


# --- services ---------------------------------------------------------------------------------


def test_webhook_register_returns_secret_once(partner_scope, partner):
    endpoint, secret = webhook_register(
        scope=partner_scope,
        url="https://partner.example/hooks",
        event_kinds=[EventKind.NOTICE_POSTED, EventKind.NOTICE_POSTED, EventKind.ENDED],
    )
    assert secret.startswith("whsec_")
    assert len(secret) > 40
    assert (endpoint.partner, endpoint.secret, endpoint.event_kinds) == (
        partner,
        secret,
        sorted([EventKind.ENDED, EventKind.NOTICE_POSTED]),
    )
    entry = AuditEntry.objects.get(object_id=endpoint.pk, action=AuditAction.CREATE)
    assert secret not in f"{entry.summary}{entry.data}"


@override_settings(DEBUG=False)
def test_webhook_register_requires_https_in_production(partner_scope):
    with pytest.raises(ValidationFailed) as exc:
        webhook_register(scope=partner_scope, url="http://partner.example/hooks")
    assert exc.value.code == "https_required"
    assert not WebhookEndpoint.objects.exists()


@override_settings(DEBUG=True, TERMS_WEBHOOK_ALLOW_HOSTS=["127.0.0.1"])
def test_webhook_register_allows_http_in_debug(partner_scope):
    # A loopback receiver needs the debug-only allow-list (tests/security/test_webhook_ssrf.py).
    endpoint, _ = webhook_register(scope=partner_scope, url="http://127.0.0.1:9000/h")
    assert endpoint.url == "http://127.0.0.1:9000/h"


@pytest.mark.parametrize("url", ["", "ftp://partner.example/", "https://", "partner.example/h"])
def test_webhook_register_invalid_url(partner_scope, url):
    with pytest.raises(ValidationFailed) as exc:
        webhook_register(scope=partner_scope, url=url)
    assert list(exc.value.details["fields"]) == ["url"]


def test_webhook_register_unknown_event_kind(partner_scope):
    with pytest.raises(ValidationFailed) as exc:
        webhook_register(scope=partner_scope, url="https://p.example/h", event_kinds=["nope"])
    assert list(exc.value.details["fields"]) == ["event_kinds"]


def test_webhook_register_refused_for_others(
    partner_scope, read_only_partner_scope, member_scope, other_partner_scope
):
    with pytest.raises(PermissionDenied):
        webhook_register(scope=read_only_partner_scope, url="https://p.example/h")
    with pytest.raises(PermissionDenied):
        webhook_register(scope=member_scope(TenantFactory()), url="https://p.example/h")
    other = other_partner_scope.partner_key.partner
    with pytest.raises(PermissionDenied):
        webhook_register(scope=partner_scope, url="https://p.example/h", partner=other)


def test_webhook_register_by_staff_needs_partner(staff_scope, partner):
    with pytest.raises(ValidationFailed):
        webhook_register(scope=staff_scope, url="https://p.example/h")
    endpoint, _ = webhook_register(scope=staff_scope, url="https://p.example/h", partner=partner)
    assert endpoint.partner == partner


def test_webhook_rotate_keeps_previous_secret_for_24_hours(partner_scope):
    endpoint, old = webhook_register(scope=partner_scope, url="https://p.example/h")
    with clock.frozen_at(T0):
        rotated, new = webhook_rotate_secret(scope=partner_scope, endpoint=endpoint)
    assert new != old
    rotated.refresh_from_db()
    assert (rotated.secret, rotated.previous_secret, rotated.previous_secret_expires_at) == (
        new,
        old,
        T0 + timedelta(hours=24),
    )
    ts = int(T0.timestamp())
    with clock.frozen_at(T0 + timedelta(hours=23)):
        header = webhook_headers(endpoint=rotated, body=BODY, timestamp=ts)[SIGNATURE_HEADER]
    assert header == (
        f"t={ts},v1={webhook_signature(new, ts, BODY)},v1={webhook_signature(old, ts, BODY)}"
    )
    # A receiver still on the old secret accepts it, and so does one already switched.
    for secret in (old, new):
        assert webhook_verify(secret=secret, header=header, body=BODY, now=ts)
    with clock.frozen_at(T0 + timedelta(hours=24)):
        header = webhook_headers(endpoint=rotated, body=BODY, timestamp=ts)[SIGNATURE_HEADER]
    assert header == f"t={ts},v1={webhook_signature(new, ts, BODY)}"
    assert not webhook_verify(secret=old, header=header, body=BODY, now=ts)


def test_a_second_rotation_keeps_the_first_secret_signing_until_its_stated_expiry(
    partner_scope,
):
    endpoint, first = webhook_register(scope=partner_scope, url="https://p.example/h")
    with clock.frozen_at(T0):
        rotated, second = webhook_rotate_secret(scope=partner_scope, endpoint=endpoint)
    with clock.frozen_at(T0 + timedelta(hours=2)):
        rotated, third = webhook_rotate_secret(scope=partner_scope, endpoint=rotated)
    ts = int(T0.timestamp())
    with clock.frozen_at(T0 + timedelta(hours=23)):
        header = webhook_headers(endpoint=rotated, body=BODY, timestamp=ts)[SIGNATURE_HEADER]
    # All three sign: a receiver that had not yet switched from the first secret still verifies.
    for secret in (first, second, third):
        assert webhook_verify(secret=secret, header=header, body=BODY, now=ts)
    with clock.frozen_at(T0 + timedelta(hours=24)):  # the first rotation's stated expiry
        header = webhook_headers(endpoint=rotated, body=BODY, timestamp=ts)[SIGNATURE_HEADER]
    assert not webhook_verify(secret=first, header=header, body=BODY, now=ts)
    assert webhook_verify(secret=second, header=header, body=BODY, now=ts)
    with clock.frozen_at(T0 + timedelta(hours=26)):  # the second rotation's
        header = webhook_headers(endpoint=rotated, body=BODY, timestamp=ts)[SIGNATURE_HEADER]
    assert header == f"t={ts},v1={webhook_signature(third, ts, BODY)}"


def test_rotations_beyond_five_signing_secrets_are_refused_until_the_oldest_expires(
    partner_scope,
):
    endpoint, _first = webhook_register(scope=partner_scope, url="https://p.example/h")
    for hour in range(4):
        with clock.frozen_at(T0 + timedelta(hours=hour)):
            endpoint, _secret = webhook_rotate_secret(scope=partner_scope, endpoint=endpoint)
    with clock.frozen_at(T0 + timedelta(hours=5)), pytest.raises(Conflict) as refused:
        webhook_rotate_secret(scope=partner_scope, endpoint=endpoint)
    assert refused.value.code == "secret_rotation_limit"
    with clock.frozen_at(T0 + timedelta(hours=24)):  # the first rotated secret has expired
        endpoint, _secret = webhook_rotate_secret(scope=partner_scope, endpoint=endpoint)
        assert len(signing_secrets(endpoint)) == 5


def test_webhook_disable_idempotent_and_blocks_rotation(partner_scope):
    endpoint, _ = webhook_register(scope=partner_scope, url="https://p.example/h")
    with clock.frozen_at(T0):
        webhook_disable(scope=partner_scope, endpoint=endpoint)
    with clock.frozen_at(T0 + timedelta(hours=1)):
        again = webhook_disable(scope=partner_scope, endpoint=endpoint)
    assert (again.is_active, again.disabled_at) == (False, T0)
    with pytest.raises(Conflict):
        webhook_rotate_secret(scope=partner_scope, endpoint=endpoint)
    assert AuditEntry.objects.filter(object_id=endpoint.pk, action=AuditAction.UPDATE).count() == 1


def test_webhook_of_another_partner_not_found(partner_scope, other_partner_scope):
    endpoint, _ = webhook_register(scope=other_partner_scope, url="https://p.example/h")
    with pytest.raises(NotFound):
        webhook_rotate_secret(scope=partner_scope, endpoint=endpoint)
    with pytest.raises(NotFound):
        webhook_disable(scope=partner_scope, endpoint=endpoint)
    endpoint.refresh_from_db()
    assert endpoint.is_active


def test_webhook_register_limit_counts_active_endpoints(partner_scope):
    endpoints = [
        webhook_register(scope=partner_scope, url=f"https://p.example/{n}")[0]
        for n in range(MAX_WEBHOOKS)
    ]
    with pytest.raises(Conflict) as exc:
        webhook_register(scope=partner_scope, url="https://p.example/one-more")
    assert exc.value.code == "webhook_limit"
    webhook_disable(scope=partner_scope, endpoint=endpoints[0])
    webhook_register(scope=partner_scope, url="https://p.example/one-more")
