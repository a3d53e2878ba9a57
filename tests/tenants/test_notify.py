"""notify: one set-based path for events and outbox rows, delivery rung once per transaction."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.enums import EventKind, OutboxChannel
from core.models import Event, Outbox
from core.outbox import _ring
from tenants.models import WebhookEndpoint
from tenants.notify import AddressNote, Note, StaffNote, notify
from tests.factories.tenants import MembershipFactory, PartnerFactory, TenantFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _tenants(count: int, partner=None) -> list:
    tenants = [TenantFactory(partner=partner) for _ in range(count)]
    for tenant in tenants:
        MembershipFactory(tenant=tenant)
    return tenants


def _notes(tenants, key: str = "c:1") -> list[Note]:
    return [
        Note(kind=EventKind.RENEWED, tenant=t, key=key, payload={"contract_id": 1}) for t in tenants
    ]


def test_notify_many_tenants_staff_and_an_address_rings_delivery_once(
    django_capture_on_commit_callbacks,
):
    partner = PartnerFactory()
    WebhookEndpoint.objects.create(partner=partner, url="https://hooks.example/a", secret="s")
    tenants = _tenants(3, partner=partner)
    with django_capture_on_commit_callbacks() as callbacks:
        notified = notify(
            _notes(tenants),
            staff=[StaffNote(kind=EventKind.DELETION_REMINDER, key="d:1", payload={})],
            addresses=[
                AddressNote(
                    kind=EventKind.INVITATION,
                    tenant=tenants[0],
                    key="inv:1",
                    recipient="new@customer.example",
                    payload={"role": "viewer"},
                )
            ],
            batch_size=2,  # two batches, still one ring
        )
    assert callbacks == [_ring]
    assert notified.tenants == 3
    assert Event.objects.filter(kind=EventKind.RENEWED).count() == 3
    rows = Outbox.objects.all()
    # per tenant: the admin, the contact address and the partner's webhook
    assert rows.filter(kind=EventKind.RENEWED, channel=OutboxChannel.EMAIL).count() == 6
    assert rows.filter(kind=EventKind.RENEWED, channel=OutboxChannel.WEBHOOK).count() == 3
    staff = rows.get(kind=EventKind.DELETION_REMINDER)
    assert (staff.recipient, staff.dedupe_key, staff.tenant_id) == (
        "legal@optim.example",
        f"{EventKind.DELETION_REMINDER}:d:1:staff",
        None,
    )
    invitation = rows.get(kind=EventKind.INVITATION)
    assert (invitation.recipient, invitation.dedupe_key, invitation.tenant_id) == (
        "new@customer.example",
        f"{EventKind.INVITATION}:inv:1",
        tenants[0].pk,
    )
    assert invitation.payload == {
        "tenant_id": tenants[0].pk,
        "tenant_name": tenants[0].name,
        "role": "viewer",
    }
    assert not Event.objects.filter(
        kind__in=[EventKind.INVITATION, EventKind.DELETION_REMINDER]
    ).exists()


def _queries(tenants, key: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        notify(_notes(tenants, key))
    return len(ctx.captured_queries)


def test_notify_queries_do_not_grow_with_the_number_of_tenants():
    partner = PartnerFactory()
    WebhookEndpoint.objects.create(partner=partner, url="https://hooks.example/a", secret="s")
    # events, admins' addresses, partners' endpoints, outbox rows
    assert _queries(_tenants(2, partner=partner), "a") == 4
    # The partner's endpoints are now cached (tenants.notify._active_endpoints): one fewer.
    assert _queries(_tenants(20, partner=partner), "b") == 3


def test_notify_again_queues_nothing_new_and_can_return_the_queued_rows():
    tenants = _tenants(2)
    first = notify(_notes(tenants), outbox_ids=True)
    queued = set(Outbox.objects.values_list("pk", flat=True))
    assert len(queued) == 4
    again = notify(_notes(tenants), outbox_ids=True)
    assert set(Outbox.objects.values_list("pk", flat=True)) == queued
    assert again.outbox_ids == first.outbox_ids
    assert set(first.outbox_ids) <= queued
    no_recipient = TenantFactory(contact_email="")
    assert notify(_notes([no_recipient]), outbox_ids=True).outbox_ids == [None]


def test_notify_one_tenant_and_the_staff_mailbox_in_one_call(
    django_capture_on_commit_callbacks,
):
    (tenant,) = _tenants(1)
    with django_capture_on_commit_callbacks() as callbacks:
        event = notify(
            [Note(kind=EventKind.RENEWED, tenant=tenant, key="k", payload={"x": 1})],
            staff=[StaffNote(kind=EventKind.VERSION_LAPSED, key="version:1:lapsed", payload={})],
        ).first_event
    assert event is not None
    assert callbacks == [_ring]
    assert (event.kind, event.tenant_id, event.payload["x"]) == (EventKind.RENEWED, tenant.pk, 1)
    assert Outbox.objects.filter(event=event).count() == 2
    assert Outbox.objects.filter(dedupe_key="version.lapsed:version:1:lapsed:staff").exists()
