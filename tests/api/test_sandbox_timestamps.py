"""One clock for every timestamp of a sandbox (docs/api.md, "Sandbox"): what a sandbox key
creates or changes is stamped with the sandbox's instant, never real time, so `updated_since`
and the deliveries' times agree with the contracts' and events' dates."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from agreements.models import Contract
from core import clock
from core.enums import EventKind, OutboxChannel, OutboxStatus
from core.models import Event, Outbox
from tenants.delivery.outbox import outbox_deliver_due
from tenants.models import Partner, Tenant, WebhookEndpoint
from tenants.webhooks import SIGNATURE_HEADER
from tests.api.conftest import World, key_client, open_sandbox
from tests.security.receivers import Receiver, answer

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

# Far from any real time this test may run at: a row stamped on the wall clock cannot match.
SANDBOX_NOW = datetime(2031, 6, 2, 10, 30, tzinfo=clock.TOKYO)


def _sandbox(world: World) -> tuple[Partner, str]:
    row, raw, _products = open_sandbox(world)
    Partner.objects.filter(pk=row.pk).update(sandbox_now=SANDBOX_NOW)
    return row, raw


def test_every_row_a_sandbox_key_writes_carries_the_sandbox_instant(world: World) -> None:
    sandbox_row, raw = _sandbox(world)
    client = key_client(raw)
    hook = client.post("/api/v1/webhooks/", {"url": "https://sandbox.example/hooks"}, format="json")
    assert hook.status_code == 201, hook.content
    tenant = client.post("/api/v1/tenants/", {"name": "時計商事"}, format="json").json()
    contract = client.post(
        "/api/v1/contracts/",
        {
            "tenant": tenant["id"],
            "product": "optim-id-plus",
            "start_date": "2031-06-02",
            "billing_cycle": "annual",
        },
        format="json",
    )
    assert contract.status_code == 201, contract.content
    instant = clock.api_instant(SANDBOX_NOW)
    assert (tenant["created_at"], tenant["updated_at"]) == (instant, instant)
    assert (contract.json()["created_at"], contract.json()["updated_at"]) == (instant, instant)
    assert hook.json()["created_at"] == instant
    stored = Tenant.objects.get(pk=tenant["id"])
    assert (stored.created_at, stored.updated_at) == (SANDBOX_NOW, SANDBOX_NOW)
    assert Contract.objects.get(pk=contract.json()["id"]).updated_at == SANDBOX_NOW
    assert WebhookEndpoint.objects.get(pk=hook.json()["id"]).updated_at == SANDBOX_NOW
    # The deliveries queued for the sandbox's webhook, and the events they carry.
    rows = Outbox.objects.filter(partner_id=sandbox_row.pk, channel=OutboxChannel.WEBHOOK)
    assert rows.exists()
    assert {(r.created_at, r.updated_at, r.next_attempt_at) for r in rows} == {
        (SANDBOX_NOW, SANDBOX_NOW, SANDBOX_NOW)
    }
    events = Event.objects.filter(partner_id=sandbox_row.pk)
    assert {(e.created_at, e.occurred_at) for e in events} == {(SANDBOX_NOW, SANDBOX_NOW)}
    deliveries = client.get(f"/api/v1/webhooks/{hook.json()['id']}/deliveries/").json()
    assert {d["created_at"] for d in deliveries["results"]} == {instant}


def test_updated_since_finds_sandbox_tenants_by_the_sandbox_clock(world: World) -> None:
    _sandbox_row, raw = _sandbox(world)
    client = key_client(raw)
    made = client.post("/api/v1/tenants/", {"name": "差分商事"}, format="json").json()
    # The sandbox's clock stands still between advances: a change at the instant a poll names
    # is part of the answer (at or after), never lost between two polls.
    for since in (SANDBOX_NOW - timedelta(seconds=1), SANDBOX_NOW):
        found = client.get("/api/v1/tenants/", {"updated_since": since.isoformat()}).json()
        assert [t["id"] for t in found["results"]] == [made["id"]], since
    later = client.get(
        "/api/v1/tenants/", {"updated_since": (SANDBOX_NOW + timedelta(seconds=1)).isoformat()}
    ).json()
    assert later["results"] == []


def test_two_changes_at_one_sandbox_instant_are_both_told(world: World) -> None:
    """The clock does not move between two requests: each change is still its own event and
    webhook delivery (the lifecycle keys do not rest on the instant alone)."""
    sandbox_row, raw = _sandbox(world)
    client = key_client(raw)
    hook = client.post("/api/v1/webhooks/", {"url": "https://sandbox.example/hooks"}, format="json")
    assert hook.status_code == 201, hook.content
    tenant = client.post("/api/v1/tenants/", {"name": "二度商事"}, format="json").json()
    for name in ("二度商事（一）", "二度商事（二）"):
        changed = client.patch(f"/api/v1/tenants/{tenant['id']}/", {"name": name}, format="json")
        assert changed.status_code == 200, changed.content
    webhooks = Outbox.objects.filter(
        partner_id=sandbox_row.pk,
        channel=OutboxChannel.WEBHOOK,
        kind=EventKind.TENANT_UPDATED,
    )
    assert sorted(r.payload["data"]["tenant_name"] for r in webhooks) == [
        "二度商事（一）",
        "二度商事（二）",
    ]


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    """A local webhook receiver (answering 204) that the delivery may reach."""
    settings.DEBUG = True
    settings.TERMS_WEBHOOK_ALLOW_HOSTS = ["127.0.0.1"]
    server = Receiver(answer(204))
    yield server
    server.close()


def test_a_sandbox_delivery_by_the_live_worker_is_stamped_on_the_sandbox_clock(
    world: World, receiver: Receiver
) -> None:
    """Between advances the worker (on real time) delivers a sandbox's webhooks at once; the
    attempt and its `sent_at` are recorded at the sandbox's instant all the same."""
    sandbox_row, raw = _sandbox(world)
    client = key_client(raw)
    hook = client.post("/api/v1/webhooks/", {"url": receiver.url()}, format="json").json()
    assert client.post("/api/v1/tenants/", {"name": "配信商事"}, format="json").status_code == 201
    # Only the sandbox's rows: the world's live ones would go to the internet.
    Outbox.objects.exclude(partner_id=sandbox_row.pk).update(status=OutboxStatus.SENT)
    assert outbox_deliver_due()["webhook.sent"] == 1
    assert len(receiver.hits) == 1
    (delivery,) = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries/").json()["results"]
    instant = clock.api_instant(SANDBOX_NOW)
    assert (delivery["status"], delivery["sent_at"], delivery["created_at"]) == (
        "sent",
        instant,
        instant,
    )
    assert [a["attempted_at"] for a in delivery["attempts"]] == [instant]


def test_a_sandbox_secret_rotated_away_stops_signing_on_the_sandbox_clock(
    world: World, receiver: Receiver
) -> None:
    """A rotation in a sandbox states the old secret's expiry on the sandbox's clock; once the
    sandbox has advanced past it, deliveries (by the worker, on real time) carry the new
    secret's signature only, as `previous_secret_expires_at: null` says."""
    sandbox_row, raw = _sandbox(world)
    client = key_client(raw)
    hook = client.post("/api/v1/webhooks/", {"url": receiver.url()}, format="json").json()
    rotated = client.post(f"/api/v1/webhooks/{hook['id']}/rotate-secret/").json()
    expiry = rotated["previous_secret_expires_at"]
    assert expiry == clock.api_instant(SANDBOX_NOW + timedelta(hours=24))
    Outbox.objects.update(status=OutboxStatus.SENT)  # nothing queued so far goes out
    # Within the grace period on the sandbox's clock: both secrets sign.
    assert client.post("/api/v1/tenants/", {"name": "猶予商事"}, format="json").status_code == 201
    assert outbox_deliver_due()["webhook.sent"] == 1
    assert receiver.hits[-1].headers[SIGNATURE_HEADER].count("v1=") == 2
    # Two sandbox days later the old secret has expired there, whatever real time says.
    Partner.objects.filter(pk=sandbox_row.pk).update(sandbox_now=SANDBOX_NOW + timedelta(days=2))
    read = client.get(f"/api/v1/webhooks/{hook['id']}/").json()
    assert read["previous_secret_expires_at"] is None
    assert client.post("/api/v1/tenants/", {"name": "失効商事"}, format="json").status_code == 201
    assert outbox_deliver_due()["webhook.sent"] == 1
    assert receiver.hits[-1].headers[SIGNATURE_HEADER].count("v1=") == 1


def test_a_signature_carries_real_time_even_on_a_sandbox_clock() -> None:
    """Receivers check `t=` against their own clock: a delivery signed while a sandbox's clock
    is set (years ahead) still carries real time, which `webhook_verify` accepts."""
    from core import sandbox
    from tenants.webhooks import webhook_headers, webhook_verify

    with clock.frozen_at(datetime(2025, 3, 10, 9, 0, tzinfo=clock.TOKYO)):
        real = int(clock.wall_now().timestamp())
        with sandbox.acting_for(1, SANDBOX_NOW):
            header = webhook_headers(body=b"{}", secret="s3cret")[SIGNATURE_HEADER]
        assert header.startswith(f"t={real},")
        assert webhook_verify(secret="s3cret", header=header, body=b"{}", now=real)
