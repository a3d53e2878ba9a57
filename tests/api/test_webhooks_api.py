"""Webhook management and the one event shape, over the API.

Deliveries go out through the outbox's own sender to a local receiver over real HTTP (debug
and the allow-list let it sit on loopback); their attempts are read back as the partner sees
them. Every operation on an endpoint is scoped to its partner: another partner's key is a 404.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.test import override_settings

from core import clock
from core.enums import EventKind, OutboxStatus
from core.models import Event, Outbox
from tenants.delivery.outbox import outbox_deliver_batch
from tenants.delivery.webhooks import webhook_body
from tenants.models import WebhookEndpoint
from tests.api.conftest import World

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


class _Receiver(http.server.BaseHTTPRequestHandler):
    answers: list[int] = []
    received: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.received.append((dict(self.headers.items()), body))
        self.send_response(_Receiver.answers.pop(0) if _Receiver.answers else 204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def receiver(settings: Any) -> Iterator[str]:
    settings.DEBUG = True
    settings.TERMS_WEBHOOK_ALLOW_HOSTS = ["127.0.0.1"]
    _Receiver.answers, _Receiver.received = [], []
    server = http.server.HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks"
    finally:
        server.shutdown()
        server.server_close()


def _deliver() -> None:
    outbox_deliver_batch(limit=500)


def _only_test_messages() -> None:
    """Leave only the rows these tests queue (the world's own rows are not delivered here)."""
    Outbox.objects.exclude(kind=EventKind.WEBHOOK_TEST).exclude(
        kind=EventKind.TENANT_CREATED
    ).update(status=OutboxStatus.SENT)


def test_the_feed_one_event_and_a_delivery_are_one_shape(world: World, receiver: str) -> None:
    client = world.client("own_partner")
    WebhookEndpoint.objects.filter(partner=world.partner).update(is_active=False)
    created = client.post(
        "/api/v1/webhooks/", {"url": receiver, "event_kinds": ["tenant.created"]}, format="json"
    )
    assert created.status_code == 201, created.content
    last = Event.objects.order_by("-pk").values_list("pk", flat=True).first()
    assert client.post("/api/v1/tenants/", {"name": "形の商事"}, format="json").status_code == 201
    feed = client.get(f"/api/v1/events/?after={last}").json()["results"]
    (item,) = [e for e in feed if e["kind"] == "tenant.created"]
    one = client.get(f"/api/v1/events/{item['id']}/").json()
    _only_test_messages()
    _deliver()
    ((headers, body),) = _Receiver.received
    delivered = json.loads(body)
    assert item == one == delivered
    assert body == webhook_body(Outbox.objects.get(event_id=item["id"]))
    assert set(item) == {"id", "kind", "api_version", "occurred_at", "tenant", "subject", "data"}
    assert item["occurred_at"].endswith("+09:00")
    assert item["subject"]["type"] == "tenant"
    assert item["tenant"]["name"] == "形の商事"
    assert headers["X-Terms-Event-Id"] == str(item["id"])
    # Another partner neither lists nor reads it.
    other = world.client("other_partner")
    assert item["id"] not in [e["id"] for e in other.get("/api/v1/events/").json()["results"]]
    assert other.get(f"/api/v1/events/{item['id']}/").status_code == 404


def test_register_read_update_disable_enable_delete(world: World, settings: Any) -> None:
    settings.DEBUG = False
    client = world.client("own_partner")
    created = client.post(
        "/api/v1/webhooks/", {"url": "https://hooks.example/a"}, format="json"
    ).json()
    url = f"/api/v1/webhooks/{created['id']}/"
    read = client.get(url).json()
    assert "secret" not in read
    assert read["url"] == "https://hooks.example/a"
    assert read["previous_secret_expires_at"] is None
    assert read["secret_rotated_at"] is None

    refused = client.patch(url, {"event_kinds": ["tenant.invitation"]}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (400, "event_kind_not_subscribable")
    assert refused.json()["errors"][0]["field"] == "event_kinds"
    plain = client.patch(url, {"url": "http://hooks.example/a"}, format="json")
    assert (plain.status_code, plain.json()["code"]) == (400, "https_required")
    inside = client.patch(url, {"url": "https://169.254.169.254/latest"}, format="json")
    assert (inside.status_code, inside.json()["code"]) == (400, "address_forbidden")

    changed = client.patch(
        url, {"url": "https://hooks.example/b", "event_kinds": ["contract.created"]}, format="json"
    )
    assert changed.status_code == 200
    assert (changed.json()["url"], changed.json()["event_kinds"]) == (
        "https://hooks.example/b",
        ["contract.created"],
    )
    secret = WebhookEndpoint.objects.get(pk=created["id"]).secret
    disabled = client.post(f"{url}disable/").json()
    assert disabled["is_active"] is False
    assert disabled["disabled_at"]
    enabled = client.post(f"{url}enable/").json()
    assert (enabled["is_active"], enabled["disabled_at"]) == (True, None)
    assert WebhookEndpoint.objects.get(pk=created["id"]).secret == secret  # same secret

    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404
    assert not WebhookEndpoint.objects.filter(pk=created["id"]).exists()


def test_enable_checks_the_url_and_the_limit_again(world: World, settings: Any) -> None:
    settings.DEBUG = False
    WebhookEndpoint.objects.filter(pk=world.webhook.pk).update(
        is_active=False, url="http://partner.example/hooks"
    )
    response = world.client("own_partner").post(f"/api/v1/webhooks/{world.webhook.pk}/enable/")
    assert (response.status_code, response.json()["code"]) == (400, "https_required")
    assert not WebhookEndpoint.objects.get(pk=world.webhook.pk).is_active


def test_rotation_states_when_the_previous_secret_stops_signing(world: World) -> None:
    client = world.client("own_partner")
    rotated = client.post(f"/api/v1/webhooks/{world.webhook.pk}/rotate-secret/")
    body = rotated.json()
    now = clock.now()
    expires = (now + timedelta(hours=24)).astimezone(clock.TOKYO).isoformat()
    assert body["previous_secret_expires_at"] == expires
    assert body["secret_rotated_at"] == now.astimezone(clock.TOKYO).isoformat()
    assert body["secret"].startswith("whsec_")
    assert rotated["Cache-Control"] == "no-store"
    with clock.frozen_at(now + timedelta(hours=24, seconds=1)):
        later = client.get(f"/api/v1/webhooks/{world.webhook.pk}/").json()
    assert later["previous_secret_expires_at"] is None
    assert later["secret_rotated_at"] == body["secret_rotated_at"]


def test_a_second_rotation_lists_the_first_secrets_expiry_as_still_signing(
    world: World,
) -> None:
    client = world.client("own_partner")
    path = f"/api/v1/webhooks/{world.webhook.pk}/rotate-secret/"
    now = clock.now()
    first = client.post(path).json()
    with clock.frozen_at(now + timedelta(hours=1)):
        second = client.post(path).json()
    assert second["earlier_secrets_expire_at"] == [first["previous_secret_expires_at"]]
    assert second["previous_secret_expires_at"] == (
        (now + timedelta(hours=25)).astimezone(clock.TOKYO).isoformat()
    )
    with clock.frozen_at(now + timedelta(hours=24, seconds=1)):
        later = client.get(f"/api/v1/webhooks/{world.webhook.pk}/").json()
    assert later["earlier_secrets_expire_at"] == []
    assert later["previous_secret_expires_at"] == second["previous_secret_expires_at"]


def test_test_event_attempts_and_resend(world: World, receiver: str) -> None:
    client = world.client("own_partner")
    WebhookEndpoint.objects.filter(pk=world.webhook.pk).update(url=receiver)
    _only_test_messages()
    queued = client.post(f"/api/v1/webhooks/{world.webhook.pk}/test/")
    assert queued.status_code == 202
    delivery = queued.json()
    assert (delivery["kind"], delivery["status"], delivery["attempts"]) == (
        "webhook.test",
        "pending",
        [],
    )
    _Receiver.answers = [503]
    _deliver()
    listed = client.get(f"/api/v1/webhooks/{world.webhook.pk}/deliveries/").json()["results"]
    first = next(d for d in listed if d["id"] == delivery["id"])
    assert first["status"] == "failed"
    (attempt,) = first["attempts"]
    assert (attempt["attempt"], attempt["succeeded"], attempt["status_code"]) == (1, False, 503)
    assert isinstance(attempt["duration_ms"], int)
    assert attempt["error"] == "HTTP 503"
    assert attempt["attempted_at"].endswith("+09:00")

    # Pending again is refused while queued; a failed one may be resent at once.
    resend = f"/api/v1/webhooks/{world.webhook.pk}/deliveries/{delivery['id']}/resend/"
    again = client.post(resend)
    assert again.status_code == 202
    assert again.json()["status"] == "pending"
    busy = client.post(resend)
    assert (busy.status_code, busy.json()["code"]) == (409, "delivery_pending")
    _deliver()
    row = client.get(f"/api/v1/webhooks/{world.webhook.pk}/deliveries/").json()["results"]
    done = next(d for d in row if d["id"] == delivery["id"])
    assert done["status"] == "sent"
    assert done["sent_at"]
    assert [(a["attempt"], a["status_code"]) for a in done["attempts"]] == [(1, 503), (2, 204)]
    # Both attempts carried the same event: the same id header, the same body.
    assert len({h["X-Terms-Event-Id"] for h, _b in _Receiver.received}) == 1
    assert len({b for _h, b in _Receiver.received}) == 1
    event = json.loads(_Receiver.received[0][1])
    assert event["kind"] == "webhook.test"
    assert event["data"]["webhook_id"] == world.webhook.pk
    # A delivered one may be resent too (the receiver lost it).
    assert client.post(resend).status_code == 202

    # A disabled endpoint sends no test and resends nothing.
    client.post(f"/api/v1/webhooks/{world.webhook.pk}/disable/")
    refused = client.post(f"/api/v1/webhooks/{world.webhook.pk}/test/")
    assert (refused.status_code, refused.json()["code"]) == (409, "webhook_disabled")


def test_another_partners_key_gets_404_on_every_webhook_operation(world: World) -> None:
    other = world.client("other_partner")
    base = f"/api/v1/webhooks/{world.webhook.pk}/"
    delivery = f"{base}deliveries/{world.delivery.pk}/resend/"
    calls = [
        ("get", base, None),
        ("patch", base, {"event_kinds": []}),
        ("delete", base, None),
        ("post", f"{base}disable/", None),
        ("post", f"{base}enable/", None),
        ("post", f"{base}rotate-secret/", None),
        ("post", f"{base}test/", None),
        ("get", f"{base}deliveries/", None),
        ("post", delivery, None),
        ("get", f"/api/v1/events/{world.event.pk}/", None),
    ]
    before = WebhookEndpoint.objects.filter(pk=world.webhook.pk).values().get()
    for method, url, data in calls:
        response = getattr(other, method)(url, data, format="json")
        assert response.status_code == 404, (method, url, response.content)
        assert world.webhook.url not in response.content.decode()
    assert WebhookEndpoint.objects.filter(pk=world.webhook.pk).values().get() == before
    assert Outbox.objects.get(pk=world.delivery.pk).status == OutboxStatus.DEAD
    # Nor can it reach the partner's delivery through its own endpoint.
    own = WebhookEndpoint.objects.get(partner=world.other_partner)
    response = other.post(f"/api/v1/webhooks/{own.pk}/deliveries/{world.delivery.pk}/resend/")
    assert response.status_code == 404


@override_settings(DEBUG=False)
def test_the_feed_lists_partner_kinds_in_japan_time(world: World) -> None:
    results = world.client("own_partner").get("/api/v1/events/").json()["results"]
    assert results
    assert all(e["occurred_at"].endswith("+09:00") for e in results)
