from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import clock
from core.enums import AuditAction
from core.errors import PermissionDenied, ValidationFailed
from core.models import AuditEntry
from tenants.auth import partner_key_authenticate
from tenants.enums import KeyScope
from tenants.keys import PRODUCT_KEY_TAG, issue_key
from tenants.models import PartnerAPIKey
from tenants.services.keys import partner_key_issue, partner_key_revoke
from tests.factories.tenants import PartnerFactory, make_partner_key

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

T0 = datetime(2025, 3, 1, 0, 0, tzinfo=UTC)


def test_partner_key_issue_returns_plain_key_once_and_stores_only_hash(staff_scope, partner):
    key, plain = partner_key_issue(
        scope=staff_scope, partner=partner, name="本番", scopes=[KeyScope.READ]
    )
    tag, prefix, secret = plain.split("_", 2)
    assert (tag, prefix) == ("tpk", key.prefix)
    assert len(secret) >= 40
    stored = PartnerAPIKey.objects.filter(pk=key.pk).values().get()
    assert stored["hashed_key"] == hashlib.sha256(plain.encode()).hexdigest()
    # Neither the key nor its secret part is anywhere in the row.
    assert not [v for v in stored.values() if isinstance(v, str) and secret in v]
    assert stored["scopes"] == ["read"]
    entry = AuditEntry.objects.get(object_id=key.pk, action=AuditAction.ISSUE_KEY)
    assert entry.data == {"partner_id": partner.pk, "prefix": key.prefix, "scopes": ["read"]}
    assert secret not in str(entry.data) + entry.summary


def test_partner_key_issue_write_implies_read(staff_scope, partner):
    key, _ = partner_key_issue(
        scope=staff_scope, partner=partner, name="k", scopes=[KeyScope.WRITE]
    )
    assert key.scopes == ["read", "write"]
    assert key.created_by == staff_scope.user


@pytest.mark.parametrize("scopes", [[], ["admin"], ["read", "delete"]])
def test_partner_key_issue_invalid_scopes(staff_scope, partner, scopes):
    with pytest.raises(ValidationFailed) as exc:
        partner_key_issue(scope=staff_scope, partner=partner, name="k", scopes=scopes)
    assert list(exc.value.details["fields"]) == ["scopes"]
    assert not PartnerAPIKey.objects.exists()


def test_partner_key_issue_refused_for_partner(partner_scope, partner):
    with pytest.raises(PermissionDenied):
        partner_key_issue(scope=partner_scope, partner=partner, name="k", scopes=["read"])


def test_issued_key_authenticates(staff_scope, partner):
    key, plain = partner_key_issue(scope=staff_scope, partner=partner, name="k", scopes=["read"])
    found = partner_key_authenticate(plain)
    assert found == key
    assert found.partner == partner


def test_revoked_key_not_authenticated_and_revoke_idempotent(staff_scope, partner):
    key, plain = partner_key_issue(scope=staff_scope, partner=partner, name="k", scopes=["read"])
    with clock.frozen_at(T0):
        partner_key_revoke(scope=staff_scope, key=key)
    with clock.frozen_at(T0 + timedelta(hours=1)):
        again = partner_key_revoke(scope=staff_scope, key=key)
    assert again.revoked_at == T0  # the first revocation stands
    assert partner_key_authenticate(plain) is None
    assert AuditEntry.objects.filter(action=AuditAction.REVOKE_KEY).count() == 1


def test_partner_key_revoke_refused_for_partner(partner_scope):
    key, plain = make_partner_key(PartnerFactory())
    with pytest.raises(PermissionDenied):
        partner_key_revoke(scope=partner_scope, key=key)
    assert partner_key_authenticate(plain) == key


@pytest.mark.parametrize(
    "mangle",
    [
        lambda k: k[:-1] + ("A" if k[-1] != "A" else "B"),  # one character of the secret
        lambda k: k.replace("tpk_", f"{PRODUCT_KEY_TAG}_", 1),  # right secret, wrong kind
        lambda k: k.upper(),
        lambda k: k + " ",
        lambda k: k.split("_", 2)[2],  # the secret alone
        lambda k: "",
        lambda k: k * 10,  # absurdly long
    ],
)
def test_wrong_keys_not_authenticated(mangle):
    _key, plain = make_partner_key()
    assert partner_key_authenticate(mangle(plain)) is None


def test_key_of_another_tag_with_same_hash_space_not_authenticated():
    issued = issue_key(PRODUCT_KEY_TAG)
    PartnerAPIKey.objects.create(
        partner=PartnerFactory(),
        name="misfiled",
        prefix=issued.prefix,
        hashed_key=issued.hashed,
        scopes=["read"],
    )
    # A product key stored in the partner table by mistake still is not a partner key.
    assert partner_key_authenticate(issued.full) is None


def test_key_of_inactive_partner_not_authenticated():
    partner = PartnerFactory(is_active=False)
    _key, plain = make_partner_key(partner)
    assert partner_key_authenticate(plain) is None


def test_last_used_at_recorded_at_most_once_a_minute():
    key, plain = make_partner_key()
    with clock.frozen_at(T0):
        assert partner_key_authenticate(plain).last_used_at == T0
    for seconds in (1, 30, 59):
        with clock.frozen_at(T0 + timedelta(seconds=seconds)):
            with CaptureQueriesContext(connection) as queries:
                found = partner_key_authenticate(plain)
            assert found.last_used_at == T0
            # A fresh key costs no write; within the minute it comes from the cache
            # (tenants.auth.key_authenticate_cached), without even the lookup.
            assert [q["sql"].split()[0] for q in queries.captured_queries] == []
    key.refresh_from_db()
    assert key.last_used_at == T0
    with clock.frozen_at(T0 + timedelta(seconds=61)):
        assert partner_key_authenticate(plain).last_used_at == T0 + timedelta(seconds=61)
    key.refresh_from_db()
    assert key.last_used_at == T0 + timedelta(seconds=61)


def test_last_used_at_conditional_update_loses_race_quietly():
    """Two requests that both read a stale value: only the first UPDATE writes."""
    from tenants.auth import key_touch

    key, _ = make_partner_key()
    racer = PartnerAPIKey.objects.get(pk=key.pk)
    with clock.frozen_at(T0):
        assert key_touch(key) is True
        assert key_touch(racer) is False  # its in-memory value was stale; the row was not
    with clock.frozen_at(T0 + timedelta(seconds=10)):
        assert key_touch(key) is False
    assert PartnerAPIKey.objects.get(pk=key.pk).last_used_at == T0


def test_last_used_at_does_not_touch_updated_at():
    key, plain = make_partner_key()
    before = PartnerAPIKey.objects.get(pk=key.pk).updated_at
    with clock.frozen_at(T0 + timedelta(days=3650)):
        partner_key_authenticate(plain)
    assert PartnerAPIKey.objects.get(pk=key.pk).updated_at == before
