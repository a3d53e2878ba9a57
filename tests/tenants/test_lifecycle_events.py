"""Lifecycle events of tenants, contracts, invitations and memberships: written by the services
in their own transaction, in the one envelope the feed and webhook deliveries share, with
instants in Japan time; never an e-mail, never an invitation's token."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.db import transaction
from django.test import RequestFactory

from core import clock
from core.enums import EVENT_API_VERSION, EventKind, OutboxChannel
from core.events import event_envelope
from core.models import Event, Outbox
from tenants.enums import Role
from tenants.models import Membership, Tenant, WebhookEndpoint
from tenants.services import (
    invitation_accept,
    invitation_create,
    membership_remove,
    membership_set_role,
    tenant_create,
    tenant_update,
)
from tests.factories.contracts import idplus_product, make_contract
from tests.factories.tenants import MembershipFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

T0 = datetime(2025, 3, 1, 1, 0, tzinfo=UTC)
INSTANT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)$")


@pytest.fixture
def hook(partner) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        partner=partner, url="https://partner.example/hooks", secret="whsec_x"
    )


def told(kind: str) -> list[tuple[Event, Outbox]]:
    """The events of `kind` with their webhook message (one endpoint in these tests)."""
    found = []
    for event in Event.objects.filter(kind=kind).order_by("pk"):
        rows = list(Outbox.objects.filter(event=event))
        assert [r.channel for r in rows] == [OutboxChannel.WEBHOOK], "webhook only, no e-mail"
        found.append((event, rows[0]))
    return found


def instants(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [i for v in value.values() for i in instants(v)]
    if isinstance(value, list):
        return [i for v in value for i in instants(v)]
    return [value] if isinstance(value, str) and INSTANT.match(value) else []


def check_envelope(event: Event, row: Outbox, tenant: Tenant, subject: Any) -> dict[str, Any]:
    envelope = row.payload
    assert envelope == event_envelope(event)
    assert envelope["id"] == event.pk
    assert envelope["api_version"] == EVENT_API_VERSION
    assert envelope["tenant"] == {"id": tenant.pk, "name": tenant.name}
    assert envelope["subject"] == {"type": subject._meta.model_name, "id": subject.pk}
    found = instants(envelope)
    assert envelope["occurred_at"] in found
    assert all(i.endswith("+09:00") for i in found), found
    assert "token" not in str(envelope)
    assert "/portal/invitations/" not in str(envelope)
    return envelope["data"]


def test_tenant_created_and_updated(partner_scope, partner, hook) -> None:
    with clock.frozen_at(T0):
        tenant = tenant_create(scope=partner_scope, name="イベント商事", external_ref="C-1")
        tenant_update(scope=partner_scope, tenant=tenant, locale="en", contact_email="a@b.example")
        tenant_update(scope=partner_scope, tenant=tenant, locale="ja")
        tenant_update(scope=partner_scope, tenant=tenant, locale="ja")  # no change: no event
    ((created, row),) = told(EventKind.TENANT_CREATED)
    data = check_envelope(created, row, tenant, tenant)
    assert data["external_ref"] == "C-1"
    assert created.occurred_at == T0
    assert row.payload["occurred_at"] == "2025-03-01T10:00:00+09:00"
    updates = told(EventKind.TENANT_UPDATED)
    assert [check_envelope(e, r, tenant, tenant)["changed"] for e, r in updates] == [
        ["contact_email", "locale"],
        ["locale"],
    ]
    assert "a@b.example" not in str(updates[0][1].payload)


def test_contract_created(partner_scope, partner, hook) -> None:
    tenant = tenant_create(scope=partner_scope, name="契約商事")
    contract = make_contract(tenant=tenant, product=idplus_product(), scope=partner_scope)
    ((event, row),) = told(EventKind.CONTRACT_CREATED)
    data = check_envelope(event, row, tenant, contract)
    assert (data["contract_id"], data["start_date"], data["product_code"]) == (
        contract.pk,
        date(2024, 4, 1).isoformat(),
        contract.product.code,
    )


def test_invitation_created_accepted_and_membership_events(partner_scope, partner, hook) -> None:
    tenant = tenant_create(scope=partner_scope, name="招待商事")
    MembershipFactory(tenant=tenant, role=Role.ADMIN)
    with clock.frozen_at(T0):
        invitation, token = invitation_create(
            scope=partner_scope, tenant=tenant, email="New@Customer.example", role=Role.VIEWER
        )
        membership = invitation_accept(
            request=RequestFactory().post("/portal/", REMOTE_ADDR="192.0.2.1"),
            token=token,
            password="kawa-sakura-2025!",
        )
    ((created, row),) = told(EventKind.INVITATION_CREATED)
    data = check_envelope(created, row, tenant, invitation)
    assert (data["email"], data["role"], data["expires_at"]) == (
        "new@customer.example",
        Role.VIEWER,
        "2025-03-08T10:00:00+09:00",
    )
    assert token not in str(row.payload)
    ((accepted, row),) = told(EventKind.INVITATION_ACCEPTED)
    assert check_envelope(accepted, row, tenant, invitation)["membership_id"] == membership.pk
    ((added, row),) = told(EventKind.MEMBERSHIP_ADDED)
    assert check_envelope(added, row, tenant, membership)["role"] == Role.VIEWER

    membership_set_role(scope=partner_scope, membership=membership, role=Role.ADMIN)
    ((changed, row),) = told(EventKind.MEMBERSHIP_ROLE_CHANGED)
    data = check_envelope(changed, row, tenant, membership)
    assert (data["previous_role"], data["role"]) == (Role.VIEWER, Role.ADMIN)

    pk = membership.pk
    membership_remove(scope=partner_scope, membership=membership)
    ((removed, row),) = told(EventKind.MEMBERSHIP_REMOVED)
    assert removed.subject_id == pk
    assert row.payload["data"]["email"] == "new@customer.example"
    assert not Membership.objects.filter(pk=pk).exists()


def test_the_event_commits_with_the_change_or_not_at_all(partner_scope, hook) -> None:
    tenant = tenant_create(scope=partner_scope, name="巻き戻し商事")
    before = Event.objects.count(), Outbox.objects.count()

    def fails_after_the_service() -> None:
        with transaction.atomic():
            tenant_update(scope=partner_scope, tenant=tenant, name="変更後")
            assert Event.objects.filter(kind=EventKind.TENANT_UPDATED).exists()
            raise RuntimeError("the caller's transaction fails after the service")

    with pytest.raises(RuntimeError):
        fails_after_the_service()
    assert (Event.objects.count(), Outbox.objects.count()) == before
    tenant.refresh_from_db()
    assert tenant.name == "巻き戻し商事"


def test_an_endpoint_gets_only_the_kinds_it_subscribed_to(partner_scope, partner) -> None:
    WebhookEndpoint.objects.create(
        partner=partner,
        url="https://partner.example/contracts",
        secret="whsec_y",
        event_kinds=[EventKind.CONTRACT_CREATED],
    )
    tenant = tenant_create(scope=partner_scope, name="購読商事")
    assert Event.objects.filter(kind=EventKind.TENANT_CREATED, tenant_id=tenant.pk).exists()
    assert not Outbox.objects.filter(kind=EventKind.TENANT_CREATED).exists()
    make_contract(tenant=tenant, product=idplus_product(), scope=partner_scope)
    assert Outbox.objects.filter(kind=EventKind.CONTRACT_CREATED).count() == 1
