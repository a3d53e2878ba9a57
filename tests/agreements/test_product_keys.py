from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agreements.enums import ProductKeyScope
from agreements.models import ProductKey
from agreements.services.product_keys import (
    product_key_authenticate,
    product_key_issue,
    product_key_revoke,
    product_key_scope,
)
from core import clock
from core.enums import AuditAction
from core.errors import PermissionDenied, ValidationFailed
from core.models import AuditEntry
from tenants.auth import partner_key_authenticate
from tenants.scope import Scope
from tests.factories.agreements import ProductFactory
from tests.factories.tenants import StaffFactory, make_partner_key

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

T0 = datetime(2025, 3, 1, 0, 0, tzinfo=UTC)


@pytest.fixture
def staff() -> Scope:
    return Scope.staff(StaffFactory())


def test_product_key_issue_shown_once_hash_stored(staff):
    product = ProductFactory(code="biz")
    key, plain = product_key_issue(
        scope=staff,
        product=product,
        name="Optimal Biz 本番",
        scopes=[ProductKeyScope.DELETION_ACK, ProductKeyScope.STATUS_READ],
    )
    tag, prefix, secret = plain.split("_", 2)
    assert (tag, prefix) == ("tprd", key.prefix)
    row = ProductKey.objects.filter(pk=key.pk).values().get()
    assert row["hashed_key"] == hashlib.sha256(plain.encode()).hexdigest()
    assert not [v for v in row.values() if isinstance(v, str) and secret in v]
    assert row["scopes"] == ["status:read", "deletion:ack"]
    entry = AuditEntry.objects.get(object_id=key.pk, action=AuditAction.ISSUE_KEY)
    assert entry.data == {
        "product_id": product.pk,
        "prefix": key.prefix,
        "scopes": ["status:read", "deletion:ack"],
    }


@pytest.mark.parametrize("scopes", [[], ["read"], ["status:read", "write"]])
def test_product_key_issue_invalid_scopes(staff, scopes):
    with pytest.raises(ValidationFailed) as exc:
        product_key_issue(scope=staff, product=ProductFactory(), name="k", scopes=scopes)
    assert list(exc.value.details["fields"]) == ["scopes"]


def test_product_key_issue_and_revoke_staff_only():
    key, _ = make_partner_key()
    partner = Scope.partner(key)
    with pytest.raises(PermissionDenied):
        product_key_issue(scope=partner, product=ProductFactory(), name="k", scopes=["status:read"])
    product_key = ProductKey.objects.create(
        product=ProductFactory(), name="k", prefix="abcd1234", hashed_key="0" * 64, scopes=[]
    )
    with pytest.raises(PermissionDenied):
        product_key_revoke(scope=partner, key=product_key)


def test_product_key_authenticates_and_builds_scope(staff):
    product = ProductFactory()
    key, plain = product_key_issue(
        scope=staff, product=product, name="k", scopes=[ProductKeyScope.STATUS_READ]
    )
    found = product_key_authenticate(plain)
    assert found == key
    scope = product_key_scope(found)
    assert (scope.kind, scope.product_id, scope.product_key_id) == ("product", product.pk, key.pk)
    assert scope.has_product_scope("status:read")
    assert not scope.has_product_scope("deletion:ack")
    # A product key is not a partner key, however it is presented.
    assert partner_key_authenticate(plain) is None


def test_revoked_product_key_not_authenticated(staff):
    key, plain = product_key_issue(
        scope=staff, product=ProductFactory(), name="k", scopes=["status:read"]
    )
    with clock.frozen_at(T0):
        product_key_revoke(scope=staff, key=key)
    with clock.frozen_at(T0 + timedelta(days=1)):
        assert product_key_revoke(scope=staff, key=key).revoked_at == T0
    assert product_key_authenticate(plain) is None
    assert AuditEntry.objects.filter(action=AuditAction.REVOKE_KEY).count() == 1


def test_partner_key_not_a_product_key():
    _key, plain = make_partner_key()
    assert product_key_authenticate(plain) is None


def test_product_key_last_used_throttled(staff):
    key, plain = product_key_issue(
        scope=staff, product=ProductFactory(), name="k", scopes=["status:read"]
    )
    with clock.frozen_at(T0):
        product_key_authenticate(plain)
    with clock.frozen_at(T0 + timedelta(seconds=59)), CaptureQueriesContext(connection) as q:
        product_key_authenticate(plain)
    # The key comes from the cache and its stamp is not due within the minute: no SQL.
    assert len(q.captured_queries) == 0
    key.refresh_from_db()
    assert key.last_used_at == T0
    with clock.frozen_at(T0 + timedelta(minutes=5)):
        product_key_authenticate(plain)
    key.refresh_from_db()
    assert key.last_used_at == T0 + timedelta(minutes=5)
