"""The Django admin asks the one authorization table too: a console viewer reads there and runs
no action; staff in no group see nothing; a publisher's admin action goes through."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tenants.models import PartnerAPIKey
from tests.api.conftest import make_staff
from tests.factories.tenants import PartnerFactory, make_partner_key

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _revoke(client: Client, key: PartnerAPIKey):
    return client.post(
        reverse("admin:tenants_partnerapikey_changelist"),
        {"action": "revoke", "_selected_action": [key.pk]},
    )


@pytest.fixture
def key() -> PartnerAPIKey:
    key, _plain = make_partner_key(PartnerFactory())
    return key


def test_admin_viewer_reads_but_cannot_revoke_a_key(key) -> None:
    client = _client(make_staff("viewer"))
    assert client.get(reverse("admin:tenants_partnerapikey_changelist")).status_code == 200
    _revoke(client, key)
    key.refresh_from_db()
    assert key.revoked_at is None


def test_admin_staff_in_no_group_sees_nothing(key) -> None:
    client = _client(make_staff())
    assert client.get(reverse("admin:tenants_partnerapikey_changelist")).status_code == 403
    assert client.get(reverse("admin:tenants_partner_changelist")).status_code == 403


def test_admin_editor_cannot_revoke_a_key_but_a_publisher_can(key) -> None:
    _revoke(_client(make_staff("editor")), key)
    key.refresh_from_db()
    assert key.revoked_at is None
    _revoke(_client(make_staff("publisher")), key)
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_admin_viewer_cannot_edit_a_partner() -> None:
    partner = PartnerFactory(name="元の名前")
    client = _client(make_staff("viewer"))
    url = reverse("admin:tenants_partner_change", args=[partner.pk])
    client.post(url, {"name": "書き換え", "contact_email": "x@example.com", "is_active": "on"})
    partner.refresh_from_db()
    assert partner.name == "元の名前"


def test_admin_index_reads_the_roles_once(django_assert_num_queries) -> None:
    # Every registered model is asked for its permissions; the roles come from one query
    # per request (it was a query per model and check: 115 on this page).
    client = _client(make_staff("viewer"))
    with django_assert_num_queries(6):
        assert client.get(reverse("admin:index")).status_code == 200
