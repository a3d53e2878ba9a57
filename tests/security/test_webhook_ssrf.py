"""Webhooks cannot be turned inward (docs/security.md, webhooks).

The attacks: register a URL on loopback, link-local (cloud metadata), private, multicast or
reserved addresses, literally or through a name; re-point a registered name at loopback
afterwards (DNS rebinding); answer with a redirect to an inside address; hold a delivery open
by trickling bytes. Every receiver here listens on 127.0.0.1, and a test that wants a name to
resolve somewhere replaces the resolver: no packet leaves the machine.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Iterator

import pytest
from rest_framework.test import APIClient

from core.enums import EventKind, OutboxChannel, OutboxStatus
from core.errors import ValidationFailed
from core.models import Delivery, Outbox
from core.services import outbox_add
from tenants.delivery import destinations
from tenants.delivery.destinations import address_is_public
from tenants.delivery.outbox import outbox_deliver_due
from tenants.delivery.webhooks import webhook_post
from tenants.models import WebhookEndpoint
from tenants.scope import Scope
from tenants.services.webhooks import webhook_register
from tests.factories.tenants import PartnerFactory, make_partner_key
from tests.security.receivers import Receiver, Tarpit, answer

INSIDE = [
    "127.0.0.1",
    "127.1.2.3",
    "0.0.0.0",  # noqa: S104 -- an address refused, not bound
    "10.0.0.5",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # carrier-grade NAT
    "224.0.0.1",  # multicast
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "::1",
    "::",
    "::ffff:127.0.0.1",  # IPv4-mapped loopback
    "::ffff:169.254.169.254",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "ff02::1",
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2001:db8::1",  # documentation
]
PUBLIC = ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"]


@pytest.mark.unit
@pytest.mark.parametrize("address", INSIDE)
def test_inside_addresses_are_not_public(address: str) -> None:
    assert not address_is_public(ipaddress.ip_address(address))


@pytest.mark.unit
@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_public(address: str) -> None:
    assert address_is_public(ipaddress.ip_address(address))


@pytest.fixture
def partner_scope(db) -> Scope:
    key, _ = make_partner_key(PartnerFactory())
    return Scope.partner(key)


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> Callable[[list[str]], list[str]]:
    """`resolver([addresses])`: every name resolves to these; returns the log of names asked."""
    asked: list[str] = []

    def install(addresses: list[str]) -> list[str]:
        def fake(host: str, port: int) -> list[str]:
            asked.append(host)
            return list(addresses)

        monkeypatch.setattr(destinations, "resolve", fake)
        return asked

    return install


def _literal_url(address: str) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"https://{host}/hooks/terms"


@pytest.mark.integration
@pytest.mark.parametrize("address", INSIDE)
def test_registration_refuses_an_inside_address(partner_scope, settings, address) -> None:
    settings.DEBUG = False
    with pytest.raises(ValidationFailed) as exc:
        webhook_register(scope=partner_scope, url=_literal_url(address))
    assert exc.value.code == "address_forbidden"
    assert list(exc.value.details["fields"]) == ["url"]
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.integration
@pytest.mark.parametrize(
    "answers",
    [["169.254.169.254"], ["10.1.2.3"], ["::1"], ["93.184.216.34", "192.168.0.10"]],
    ids=["metadata", "private", "loopback-v6", "one-public-one-private"],
)
def test_registration_refuses_a_name_that_resolves_inside(
    partner_scope, settings, resolver, answers
) -> None:
    settings.DEBUG = False
    resolver(answers)
    with pytest.raises(ValidationFailed) as exc:
        webhook_register(scope=partner_scope, url="https://hooks.partner.example/terms")
    assert exc.value.code == "address_forbidden"
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.integration
@pytest.mark.parametrize(
    "url", ["https://localhost/h", "https://2130706433/h", "https://0x7f.1/h", "https://127.1/h"]
)
def test_registration_refuses_loopback_spellings(partner_scope, settings, url) -> None:
    """Names and legacy numeric forms the system resolver turns into 127.0.0.1."""
    settings.DEBUG = False
    with pytest.raises(ValidationFailed) as exc:
        webhook_register(scope=partner_scope, url=url)
    assert exc.value.code in {"address_forbidden", "invalid"}
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.integration
def test_registration_accepts_a_public_name_without_connecting(
    partner_scope, settings, resolver
) -> None:
    settings.DEBUG = False
    asked = resolver(["93.184.216.34"])
    endpoint, _ = webhook_register(scope=partner_scope, url="https://hooks.partner.example/t")
    assert endpoint.url == "https://hooks.partner.example/t"
    assert asked == ["hooks.partner.example"]


@pytest.mark.integration
def test_allow_list_is_ignored_outside_debug(partner_scope, settings) -> None:
    settings.DEBUG = False
    settings.TERMS_WEBHOOK_ALLOW_HOSTS = ["127.0.0.1", "localhost"]
    with pytest.raises(ValidationFailed) as exc:
        webhook_register(scope=partner_scope, url="https://127.0.0.1/hooks")
    assert exc.value.code == "address_forbidden"


@pytest.mark.integration
@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("https://127.0.0.1:9000/h", "address_forbidden"),
        ("http://127.0.0.1:9000/h", "https_required"),
    ],
)
def test_debug_loopback_needs_the_allow_list(partner_scope, settings, url, code) -> None:
    settings.DEBUG = True
    settings.TERMS_WEBHOOK_ALLOW_HOSTS = []
    with pytest.raises(ValidationFailed) as exc:
        webhook_register(scope=partner_scope, url=url)
    assert exc.value.code == code


# --- at delivery -----------------------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver(answer(204))
    yield server
    server.close()


def _queued(url: str) -> tuple[Outbox, WebhookEndpoint]:
    # Written directly: the URL passed registration when its name still resolved outside.
    endpoint = WebhookEndpoint.objects.create(partner=PartnerFactory(), url=url, secret="whsec_t")
    row = outbox_add(
        kind=EventKind.RENEWED,
        channel=OutboxChannel.WEBHOOK,
        dedupe_key=f"ssrf:{endpoint.pk}",
        payload={"event_id": 5, "kind": EventKind.RENEWED, "data": {"contract_id": 3}},
        recipient=url,
        partner_id=endpoint.partner_id,
        webhook_endpoint_id=endpoint.pk,
    )
    assert row is not None
    return row, endpoint


@pytest.mark.integration
@pytest.mark.django_db
def test_delivery_refuses_a_name_rebound_to_loopback(settings, resolver, receiver) -> None:
    """DNS rebinding: registered while public, now answering 127.0.0.1 where a service listens."""
    settings.DEBUG = True
    settings.TERMS_WEBHOOK_ALLOW_HOSTS = ["127.0.0.1"]  # the address is, the name is not
    resolver(["127.0.0.1"])
    row, _ = _queued(f"https://rebound.partner.example:{receiver.port}/hook")
    assert outbox_deliver_due() == {"webhook.failed": 1}
    assert receiver.hits == []
    row.refresh_from_db()
    assert "address_forbidden" in row.last_error
    assert Delivery.objects.get(outbox=row).succeeded is False


@pytest.mark.integration
@pytest.mark.django_db
def test_delivery_connects_to_the_address_it_checked_and_names_the_host(
    settings, resolver, receiver
) -> None:
    """Resolved once, connected to that address, the URL's name sent as Host: the HTTP client
    never resolves the name a second time (no window for a second DNS answer)."""
    settings.DEBUG = True
    settings.TERMS_WEBHOOK_ALLOW_HOSTS = ["hooks.local.test"]
    asked = resolver(["127.0.0.1"])
    _queued(receiver.url(host="hooks.local.test"))
    assert outbox_deliver_due() == {"webhook.sent": 1}
    assert asked == ["hooks.local.test"]
    (hit,) = receiver.hits
    assert hit.headers["Host"] == f"hooks.local.test:{receiver.port}"


@pytest.mark.integration
@pytest.mark.django_db
def test_plain_http_is_refused_at_delivery_outside_debug(settings, receiver) -> None:
    settings.DEBUG = False
    row, _ = _queued(receiver.url())
    assert outbox_deliver_due() == {"webhook.dead": 1}
    assert receiver.hits == []
    row.refresh_from_db()
    assert "https_required" in row.last_error


@pytest.mark.integration
@pytest.mark.django_db
def test_a_redirect_is_a_failed_attempt_and_is_not_followed(settings) -> None:
    settings.DEBUG = True
    settings.TERMS_WEBHOOK_ALLOW_HOSTS = ["127.0.0.1"]
    inside = Receiver(answer(200))
    bouncer = Receiver(answer(307, {"Location": inside.url("/admin")}))
    try:
        row, _ = _queued(bouncer.url())
        assert outbox_deliver_due() == {"webhook.failed": 1}
        assert len(bouncer.hits) == 1
        assert inside.hits == []  # neither as POST nor as GET, signed or not
        row.refresh_from_db()
        assert row.last_error == "HTTP 307"
    finally:
        inside.close()
        bouncer.close()


@pytest.mark.unit
@pytest.mark.parametrize("trickle", [None, 0.2], ids=["silent", "trickling"])
def test_one_deadline_for_the_whole_delivery(settings, trickle) -> None:
    """A silent endpoint and one that sends a byte every 0.2 s (each read succeeds, so a
    per-read timeout never fires) are both cut at the deadline."""
    settings.DEBUG = True
    settings.TERMS_WEBHOOK_ALLOW_HOSTS = ["127.0.0.1"]
    settings.TERMS_WEBHOOK_TIMEOUT_SECONDS = 1.0
    tarpit = Tarpit(trickle_every=trickle)
    try:
        endpoint = WebhookEndpoint(url=tarpit.url(), secret="whsec_t", is_active=True)
        row = Outbox(pk=9, kind=EventKind.RENEWED, channel=OutboxChannel.WEBHOOK, payload={})
        started = time.monotonic()
        result = webhook_post(row, endpoint)
        elapsed = time.monotonic() - started
    finally:
        tarpit.close()
    assert not result.ok
    assert "DeadlineExceeded" in result.error
    assert 0.9 <= elapsed < 2.0
    assert tarpit.connections == 1


@pytest.mark.integration
@pytest.mark.django_db
def test_a_dead_letter_from_a_refused_literal_is_permanent(settings) -> None:
    """An endpoint stored with an inside literal (e.g. through the admin) is never tried."""
    settings.DEBUG = False
    row, _ = _queued("https://169.254.169.254/latest/meta-data/")
    assert outbox_deliver_due() == {"webhook.dead": 1}
    row.refresh_from_db()
    assert row.status == OutboxStatus.DEAD


@pytest.mark.integration
@pytest.mark.django_db
def test_the_api_answers_a_metadata_url_with_a_field_error(settings) -> None:
    """What the reviewer did: POST /api/v1/webhooks/ with the cloud metadata address."""
    settings.DEBUG = False
    _key, raw = make_partner_key(PartnerFactory())
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    response = client.post(
        "/api/v1/webhooks/",
        {"url": "https://169.254.169.254/latest/meta-data/iam/"},
        format="json",
        secure=True,
    )
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "address_forbidden"
    assert [e["field"] for e in body["errors"]] == ["url"]
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.integration
@pytest.mark.django_db
def test_every_message_to_a_forbidden_literal_is_a_dead_letter_at_once(settings) -> None:
    settings.DEBUG = False
    _row, endpoint = _queued("https://10.0.0.8/hooks")
    second = outbox_add(
        kind=EventKind.RENEWED,
        channel=OutboxChannel.WEBHOOK,
        dedupe_key="ssrf:second",
        payload={"event_id": 6},
        recipient=endpoint.url,
        partner_id=endpoint.partner_id,
        webhook_endpoint_id=endpoint.pk,
    )
    assert second is not None
    assert outbox_deliver_due() == {"webhook.dead": 2}
