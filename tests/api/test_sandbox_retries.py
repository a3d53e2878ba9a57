"""A sandbox's failed webhook deliveries back off on the sandbox's clock and are retried within
one advance, each attempt at the sandbox instant its backoff makes it due, until it succeeds
or is given up (docs/api.md, "Sandbox"); they were tried once per advance."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

import pytest
from django.conf import settings

from core import clock
from core.enums import OutboxChannel, OutboxStatus
from core.models import Delivery, Outbox
from tenants.delivery import destinations
from tenants.delivery.outbox import retry_delay
from tests.api.conftest import World, key_client, open_sandbox

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_retries_due_by_the_sandbox_clock_run_in_one_advance(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No packet leaves the machine: the receiver's name never resolves (a failed attempt).
    monkeypatch.setattr(destinations, "resolve", lambda host, port: [])
    sandbox_row, raw, _products = open_sandbox(world)
    client = key_client(raw)
    start = sandbox_row.sandbox_now
    hook = client.post("/api/v1/webhooks/", {"url": "https://sandbox.example/h"}, format="json")
    assert hook.status_code == 201, hook.content
    made = client.post("/api/v1/tenants/", {"name": "再送商事"}, format="json")
    assert made.status_code == 201, made.content
    [row] = Outbox.objects.filter(
        partner_id=sandbox_row.pk, channel=OutboxChannel.WEBHOOK, kind="tenant.created"
    )

    to = start + timedelta(days=1)
    moved = client.post(
        "/api/v1/sandbox/clock/advance/", {"to": clock.api_instant(to)}, format="json"
    )
    assert moved.status_code == 200, moved.content

    row.refresh_from_db()
    attempts = list(Delivery.objects.filter(outbox=row).order_by("attempt"))
    limit = int(settings.TERMS_OUTBOX_MAX_ATTEMPTS)
    assert len(attempts) == limit  # every retry due within the day, not one per advance
    assert row.status == OutboxStatus.DEAD
    assert not any(a.succeeded for a in attempts)
    # Each at the sandbox instant its backoff made it due.
    instants = [a.attempted_at for a in attempts]
    assert instants[0] >= start
    assert [later - earlier for earlier, later in pairwise(instants)] == [
        retry_delay(n) for n in range(1, limit)
    ]
    assert instants[-1] <= to
    # The partner reads them on the sandbox's clock.
    listed = client.get(f"/api/v1/webhooks/{hook.json()['id']}/deliveries/").json()["results"]
    [delivery] = [d for d in listed if d["id"] == row.pk]
    assert len(delivery["attempts"]) == limit


def test_a_retry_not_yet_due_by_the_sandbox_clock_waits_for_a_later_advance(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(destinations, "resolve", lambda host, port: [])
    sandbox_row, raw, _products = open_sandbox(world)
    client = key_client(raw)
    start = sandbox_row.sandbox_now
    assert (
        client.post(
            "/api/v1/webhooks/", {"url": "https://sandbox.example/h"}, format="json"
        ).status_code
        == 201
    )
    assert client.post("/api/v1/tenants/", {"name": "待機商事"}, format="json").status_code == 201
    [row] = Outbox.objects.filter(
        partner_id=sandbox_row.pk, channel=OutboxChannel.WEBHOOK, kind="tenant.created"
    )
    # 3.5 minutes: attempts at +0, +1 and +3 minutes; the fourth is due at +7.
    to = start + timedelta(minutes=3, seconds=30)
    client.post("/api/v1/sandbox/clock/advance/", {"to": clock.api_instant(to)}, format="json")
    row.refresh_from_db()
    assert Delivery.objects.filter(outbox=row).count() == 3
    assert row.status == OutboxStatus.FAILED
    assert row.next_attempt_at == start + timedelta(minutes=7)
