"""notify: one set-based path for events and outbox rows, delivery rung once per transaction."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import clock, prepared
from core.cache import FallbackRedisCache
from core.enums import EventKind, OutboxChannel
from core.models import Event, Outbox
from core.outbox import _ring
from tenants.enums import Role
from tenants.models import NotificationContact, WebhookEndpoint
from tenants.notify import (
    AddressNote,
    Note,
    StaffNote,
    _active_endpoints,
    dedupe_key,
    notify,
    notify_one,
)
from tests.factories.tenants import (
    MembershipFactory,
    PartnerFactory,
    TenantFactory,
    WebhookEndpointFactory,
)

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
    assert [getattr(c, "func", c) for c in callbacks] == [_ring]
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
    assert [getattr(c, "func", c) for c in callbacks] == [_ring]
    assert (event.kind, event.tenant_id, event.payload["x"]) == (EventKind.RENEWED, tenant.pk, 1)
    assert Outbox.objects.filter(event=event).count() == 2
    assert Outbox.objects.filter(dedupe_key="version.lapsed:version:1:lapsed:staff").exists()


def _told_tenant(partner, n: int):
    """A tenant whose recipients need every rule of tenant_recipients: addresses repeated in
    another case across admins, the contact address and further contacts, languages of their
    own or none, members who are not told, and an address long enough that its outbox key is
    shortened."""
    tenant = TenantFactory(
        partner=partner, contact_email=f"Office{n}@Customer.example", locale="en"
    )
    MembershipFactory(tenant=tenant, user__email=f"Admin{n}@Customer.example")
    MembershipFactory(tenant=tenant, user__email=f"OFFICE{n}@customer.example")
    MembershipFactory(tenant=tenant, role=Role.VIEWER, user__email=f"viewer{n}@customer.example")
    MembershipFactory(tenant=tenant, user__email="")
    for email, locale in (
        (f"admin{n}@CUSTOMER.example", "ja"),
        (f"legal{n}@customer.example", "ja"),
        (f"ops{n}@customer.example", ""),
        (f"{'x' * 200}{n}@customer.example", "en"),
    ):
        NotificationContact.objects.create(tenant=tenant, name="c", email=email, locale=locale)
    return tenant


def _written(tenant) -> list[tuple]:
    """The tenant's outbox rows in order, with what names the tenant or its event taken out."""
    event = Event.objects.get(tenant_id=tenant.pk)
    rows = []
    for row in Outbox.objects.filter(tenant_id=tenant.pk).order_by("pk"):
        assert row.event_id == event.pk
        tail = row.dedupe_key.split(f":tenant:{tenant.pk}:", 1)[-1]
        payload = dict(row.payload)
        if row.channel == OutboxChannel.WEBHOOK:
            assert payload["id"] == event.pk
            assert payload["tenant"] == {"id": tenant.pk, "name": tenant.name}
            assert payload["occurred_at"] == clock.api_instant(event.occurred_at)
            payload = {
                k: v for k, v in payload.items() if k not in ("id", "tenant", "data", "occurred_at")
            }
            assert row.payload["data"] == event.payload
        else:
            assert row.payload == event.payload
            assert (payload.pop("tenant_id"), payload.pop("tenant_name")) == (
                tenant.pk,
                tenant.name,
            )
        rows.append(
            (
                row.kind,
                row.channel,
                tail if len(row.dedupe_key) < 255 else "(shortened)",
                row.recipient,
                row.locale,
                row.webhook_endpoint_id,
                row.partner_id,
                row.status,
                row.attempts,
                sorted(payload.items()),
            )
        )
    return rows


def test_notify_one_writes_what_notify_writes_in_one_statement(
    django_capture_on_commit_callbacks,
) -> None:
    partner = PartnerFactory()
    hooks = [
        WebhookEndpointFactory(partner=partner, url="https://hooks.example/all"),
        WebhookEndpointFactory(
            partner=partner,
            url="https://hooks.example/answers",
            event_kinds=[EventKind.ANSWER_RECORDED],
        ),
        WebhookEndpointFactory(
            partner=partner, url="https://hooks.example/renewals", event_kinds=[EventKind.RENEWED]
        ),
        WebhookEndpointFactory(partner=partner, url="https://hooks.example/off", is_active=False),
    ]
    by_notify, by_one = _told_tenant(partner, 1), _told_tenant(partner, 2)

    def note(tenant) -> Note:
        return Note(
            kind=EventKind.ANSWER_RECORDED,
            tenant=tenant,
            key="consent:7",
            subject=hooks[0],
            payload={"answer": "accepted", "n": 1},
        )

    with (
        django_capture_on_commit_callbacks() as callbacks,
        CaptureQueriesContext(connection) as statements,
    ):
        told = notify_one(note(by_one))
    # The partner's endpoints (cached from now on), then the one statement.
    written = [prepared.statement_of(q["sql"]) for q in statements.captured_queries]
    assert [sql.split()[0] for sql in written] == ["SELECT", "WITH"]
    assert [getattr(c, "func", c) for c in callbacks] == [_ring]
    notify([note(by_notify)])
    expected = _written(by_notify)
    assert _written(by_one) == [
        tuple(
            value.replace("1@", "2@").replace("Office1", "Office2")
            if isinstance(value, str)
            else value
            for value in row
        )
        for row in expected
    ]
    assert [row[1] for row in expected].count(OutboxChannel.WEBHOOK) == 2
    assert told.first_event == Event.objects.get(tenant_id=by_one.pk)
    assert (told.first_event.subject_type, told.first_event.subject_id) == (
        "tenants.webhookendpoint",
        hooks[0].pk,
    )
    # Each key as tenants.notify.dedupe_key makes it, long ones shortened alike.
    for row in Outbox.objects.filter(tenant_id=by_one.pk, channel=OutboxChannel.EMAIL):
        assert row.dedupe_key == dedupe_key(
            EventKind.ANSWER_RECORDED, "consent:7", by_one.pk, f"email:{row.recipient}"
        )
    # Told again: nothing new is queued, the event is written again (the feed's record).
    notify_one(note(by_one))
    assert Event.objects.filter(tenant_id=by_one.pk).count() == 2
    assert Outbox.objects.filter(tenant_id=by_one.pk).count() == len(expected)


def test_notify_one_without_recipients_or_partner_queues_nothing() -> None:
    tenant = TenantFactory(contact_email="")
    with CaptureQueriesContext(connection) as statements:
        told = notify_one(Note(kind=EventKind.RENEWED, tenant=tenant, key="k", payload={}))
    assert len(statements) == 1
    assert told.first_event is not None
    assert Event.objects.filter(tenant_id=tenant.pk).count() == 1
    assert not Outbox.objects.filter(tenant_id=tenant.pk).exists()


def test_a_partners_cached_endpoints_cost_one_cache_round_trip_and_no_query(monkeypatch) -> None:
    backend = caches["default"]
    if not isinstance(backend, FallbackRedisCache):
        pytest.skip("the endpoints are cached only in the shared cache (core/generations.py)")
    partner = PartnerFactory()
    WebhookEndpoint.objects.create(partner=partner, url="https://hooks.example/a", secret="s")
    assert [e.url for e in _active_endpoints({partner.pk})[partner.pk]] == [
        "https://hooks.example/a"
    ]
    round_trips: list[list[str]] = []
    get_many = backend.get_many

    def counted(keys, *args, **kwargs):
        round_trips.append(list(keys))
        return get_many(keys, *args, **kwargs)

    monkeypatch.setattr(backend, "get_many", counted)
    with CaptureQueriesContext(connection) as statements:
        cached = _active_endpoints({partner.pk})
    assert [e.url for e in cached[partner.pk]] == ["https://hooks.example/a"]
    # The partner's generation and its endpoints together (generations.lookup).
    assert (len(statements), len(round_trips)) == (0, 1)
