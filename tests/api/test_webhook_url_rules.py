"""Each rule docs/api.md states for a webhook URL ("What a webhook URL may be") holds at
registration and on change, with the code the documentation names. No packet leaves the
machine: names resolve through a replaced resolver."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tenants.delivery import destinations
from tenants.models import WebhookEndpoint
from tests.api.conftest import World

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

PUBLIC = "93.184.216.34"

# (url, what the name resolves to, the documented code), one row per documented rule.
REFUSED = [
    ("http://hooks.partner.example/t", [PUBLIC], "https_required"),
    ("https://user:pw@hooks.partner.example/t", [PUBLIC], "invalid"),
    ("https://127.0.0.1/t", [], "address_forbidden"),  # loopback
    ("https://[::1]/t", [], "address_forbidden"),
    ("https://10.0.0.8/t", [], "address_forbidden"),  # private 10/8
    ("https://172.16.4.4/t", [], "address_forbidden"),  # private 172.16/12
    ("https://192.168.1.1/t", [], "address_forbidden"),  # private 192.168/16
    ("https://[fc00::1]/t", [], "address_forbidden"),  # unique local
    ("https://169.254.169.254/t", [], "address_forbidden"),  # link-local, cloud metadata
    ("https://[fe80::1]/t", [], "address_forbidden"),
    ("https://100.64.0.1/t", [], "address_forbidden"),  # carrier-grade NAT
    ("https://224.0.0.1/t", [], "address_forbidden"),  # multicast
    ("https://0.0.0.0/t", [], "address_forbidden"),  # unspecified
    ("https://240.0.0.1/t", [], "address_forbidden"),  # reserved
    ("https://[::ffff:10.0.0.8]/t", [], "address_forbidden"),  # IPv4-mapped private
    ("https://hooks.partner.example/t", ["10.0.0.8"], "address_forbidden"),  # resolves inside
    ("https://hooks.partner.example/t", [PUBLIC, "192.168.0.9"], "address_forbidden"),
    ("https://hooks.partner.example/" + "a" * 500, [PUBLIC], "invalid"),  # over 500 characters
    ("https://example.com:0/", [PUBLIC], "invalid"),  # port 0 (was read as 443)
    ("https://hooks.partner.example:65536/t", [PUBLIC], "invalid"),  # beyond the port range
    ("https://hooks.partner.example:99999/t", [PUBLIC], "invalid"),
]


@pytest.fixture
def resolve_to(monkeypatch: pytest.MonkeyPatch) -> Callable[[list[str]], None]:
    def install(addresses: list[str]) -> None:
        def fake(host: str, port: int) -> list[str]:
            if not addresses:
                raise OSError("does not resolve")
            return list(addresses)

        monkeypatch.setattr(destinations, "resolve", fake)

    return install


@pytest.fixture(autouse=True)
def _production(settings) -> None:
    settings.DEBUG = False  # plain http is allowed for local development only


@pytest.mark.parametrize(("url", "answers", "code"), REFUSED)
def test_registration_refuses_each_documented_kind_of_url(
    world: World, resolve_to, url: str, answers: list[str], code: str
) -> None:
    resolve_to(answers)
    before = WebhookEndpoint.objects.count()
    response = world.client("own_partner").post("/api/v1/webhooks/", {"url": url}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == code
    assert [error["field"] for error in response.json()["errors"]] == ["url"]
    assert WebhookEndpoint.objects.count() == before


@pytest.mark.parametrize(("url", "answers", "code"), REFUSED)
def test_a_change_of_url_is_checked_as_at_registration(
    world: World, resolve_to, url: str, answers: list[str], code: str
) -> None:
    resolve_to(answers)
    response = world.client("own_partner").patch(
        f"/api/v1/webhooks/{world.webhook.pk}/", {"url": url}, format="json"
    )
    assert response.status_code == 400, response.content
    assert response.json()["code"] == code
    world.webhook.refresh_from_db()
    assert world.webhook.url == "https://partner.example/hooks"


def test_a_public_https_name_and_a_name_that_does_not_resolve_yet_are_accepted(
    world: World, resolve_to
) -> None:
    client = world.client("own_partner")
    resolve_to([PUBLIC])
    assert (
        client.post(
            "/api/v1/webhooks/", {"url": "https://hooks.partner.example:8443/t"}, format="json"
        ).status_code
        == 201
    )
    resolve_to([])  # documented: registered now, deliveries fail until the name resolves
    assert (
        client.post(
            "/api/v1/webhooks/", {"url": "https://later.partner.example/t"}, format="json"
        ).status_code
        == 201
    )


def test_enabling_checks_the_url_again(world: World, resolve_to) -> None:
    client = world.client("own_partner")
    resolve_to([PUBLIC])
    assert client.post(f"/api/v1/webhooks/{world.webhook.pk}/disable/").status_code == 200
    resolve_to(["10.0.0.8"])  # the name now points inside
    response = client.post(f"/api/v1/webhooks/{world.webhook.pk}/enable/")
    assert response.status_code == 400
    assert response.json()["code"] == "address_forbidden"


@pytest.mark.parametrize("key", ["own_partner", "sandbox"])
def test_plain_http_is_refused_in_debug_too_unless_the_host_is_a_listed_local_receiver(
    world: World, resolve_to, settings, key: str
) -> None:
    """docs/api.md: `http://` is a 400 `https_required` whatever the deployment's debug mode;
    the one exception is a development server's allow-listed local receiver, for any key."""
    from tests.api.conftest import key_client, open_sandbox

    settings.DEBUG = True
    settings.TERMS_WEBHOOK_ALLOW_HOSTS = ["127.0.0.1"]
    resolve_to([PUBLIC])
    if key == "sandbox":
        _row, raw, _products = open_sandbox(world)
        client = key_client(raw)
    else:
        client = world.client(key)
    refused = client.post(
        "/api/v1/webhooks/", {"url": "http://hooks.partner.example/t"}, format="json"
    )
    assert refused.status_code == 400, refused.content
    assert (refused.json()["code"], refused.json()["errors"][0]["field"]) == (
        "https_required",
        "url",
    )
    local = client.post("/api/v1/webhooks/", {"url": "http://127.0.0.1:9000/t"}, format="json")
    assert local.status_code == 201, local.content


@pytest.mark.parametrize("url", ["https://example.com:0/", "https://hooks.partner.example:70000/t"])
def test_a_port_outside_1_to_65535_is_refused_saying_so(world: World, resolve_to, url: str) -> None:
    """Port 0 was accepted (and delivered to as 443): refused as an invalid URL, the message
    naming the port's range; a delivery to such a URL stored before is never attempted."""
    resolve_to([PUBLIC])
    response = world.client("own_partner").post(
        "/api/v1/webhooks/", {"url": url}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid"
    [error] = response.json()["errors"]
    assert error["field"] == "url"
    assert "65535" in error["message"], error["message"]
    with pytest.raises(destinations.DestinationRefused) as refused:
        destinations.destination_check("https://example.com:0/")
    assert refused.value.code == "url_invalid"
    ok = world.client("own_partner").post(
        "/api/v1/webhooks/", {"url": "https://hooks.partner.example:65535/t"}, format="json"
    )
    assert ok.status_code == 201, ok.content
