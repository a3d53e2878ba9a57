"""Webhook signatures from the receiver's side, with the snippets docs/api.md gives partners.

The snippets (the signature check, and the receiver that also refuses replays) are read from
the document and executed as they are; deliveries come from the outbox's own sender
(tenants.delivery.webhooks.webhook_post) over real HTTP to a local receiver.
"""

from __future__ import annotations

import http.server
import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core import clock
from core.enums import EventKind, OutboxChannel
from core.events import event_envelope
from core.models import Event, Outbox
from tenants.delivery.webhooks import webhook_body, webhook_post
from tenants.models import WebhookEndpoint
from tenants.webhooks import SIGNATURE_HEADER, webhook_headers

pytestmark = pytest.mark.unit

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
SECRET = "whsec_receiver-test-secret"


def documented(marker: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(rf"<!-- {marker} -->\s*```python\n(.*?)```", text, re.S)
    assert match, f"docs/api.md lost its {marker}"
    return match.group(1)


def documented_verifier() -> Callable[..., bool]:
    namespace: dict[str, Any] = {}
    exec(compile(documented("webhook-verify-snippet"), str(DOC), "exec"), namespace)  # noqa: S102 -- our own document
    return namespace["verify_terms_webhook"]


def documented_receiver() -> Callable[..., int]:
    """The receiver snippet, run in the namespace of the signature check it calls."""
    namespace: dict[str, Any] = {}
    for marker in ("webhook-verify-snippet", "webhook-receiver-snippet"):
        exec(compile(documented(marker), str(DOC), "exec"), namespace)  # noqa: S102 -- our own document
    return namespace["receive_terms_webhook"]


verify = documented_verifier()


class _Receiver(http.server.BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.received.append((dict(self.headers.items()), body))
        ok = verify(SECRET, self.headers[SIGNATURE_HEADER], body)
        self.send_response(204 if ok else 400)
        self.end_headers()

    def log_message(self, *args: Any) -> None:  # keep the test output quiet
        return


@pytest.fixture
def receiver(settings: Any) -> Iterator[str]:
    # A receiver on loopback over http: allowed in debug, through the allow-list only.
    settings.DEBUG = True
    settings.TERMS_WEBHOOK_ALLOW_HOSTS = ["127.0.0.1"]
    _Receiver.received = []
    server = http.server.HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks/terms"
    finally:
        server.shutdown()
        server.server_close()


def _outbox() -> Outbox:
    return Outbox(
        pk=77,
        kind=EventKind.ANSWER_RECORDED,
        channel=OutboxChannel.WEBHOOK,
        payload=event_envelope(
            Event(
                pk=981,
                kind=EventKind.ANSWER_RECORDED,
                tenant_id=42,
                subject_type="agreements.consentrecord",
                subject_id=5,
                occurred_at=datetime(2025, 3, 10, 5, 5, tzinfo=UTC),
                payload={
                    "tenant_id": 42,
                    "tenant_name": "テスト商事株式会社",
                    "answer": "accepted",
                },
            )
        ),
    )


def test_a_real_delivery_verifies_with_the_documented_snippet(receiver: str) -> None:
    endpoint = WebhookEndpoint(url=receiver, secret=SECRET, is_active=True)
    result = webhook_post(_outbox(), endpoint)
    assert (result.ok, result.status_code) == (True, 204)
    headers, body = _Receiver.received[0]
    assert body == webhook_body(_outbox())
    assert (headers["X-Terms-Event-Id"], headers["X-Terms-Event"]) == (
        "981",
        "consent.answer_recorded",
    )


def test_a_delivery_signed_with_another_secret_is_refused(receiver: str) -> None:
    endpoint = WebhookEndpoint(url=receiver, secret="whsec_someone-else", is_active=True)
    result = webhook_post(_outbox(), endpoint)
    assert (result.ok, result.status_code) == (False, 400)


def test_during_a_rotation_either_secret_verifies() -> None:
    endpoint = WebhookEndpoint(
        secret="whsec_new",
        previous_secret=SECRET,
        previous_secret_expires_at=clock.now() + timedelta(hours=1),
    )
    body = b'{"event_id":1}'
    header = webhook_headers(body=body, endpoint=endpoint)[SIGNATURE_HEADER]
    assert header.count("v1=") == 2
    assert verify(SECRET, header, body)
    assert verify("whsec_new", header, body)


def test_tampered_body_or_stale_timestamp_is_refused() -> None:
    body = b'{"event_id":1,"kind":"contract.ended"}'
    header = webhook_headers(body=body, secret=SECRET)[SIGNATURE_HEADER]
    assert verify(SECRET, header, body)
    assert not verify(SECRET, header, body.replace(b"ended", b"renewed"))
    stale = webhook_headers(body=body, secret=SECRET, timestamp=int(time.time()) - 301)
    assert not verify(SECRET, stale[SIGNATURE_HEADER], body)
    assert not verify(SECRET, "v1=" + "0" * 64, body)  # no timestamp
    assert not verify(SECRET, "", body)


class _Partner(http.server.BaseHTTPRequestHandler):
    """A partner's endpoint built on the documented receiver, with a store of handled ids."""

    receive = staticmethod(documented_receiver())
    seen: set[int] = set()
    handled: list[dict[str, Any]] = []
    answers: list[int] = []
    raw: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        headers = dict(self.headers.items())
        _Partner.raw.append((headers, body))

        def first_time(event_id: int) -> bool:
            if event_id in _Partner.seen:
                return False
            _Partner.seen.add(event_id)
            return True

        status = _Partner.receive(SECRET, headers, body, first_time, _Partner.handled.append)
        _Partner.answers.append(status)
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def partner_endpoint(settings: Any) -> Iterator[str]:
    settings.DEBUG = True
    settings.TERMS_WEBHOOK_ALLOW_HOSTS = ["127.0.0.1"]
    _Partner.seen, _Partner.handled, _Partner.answers, _Partner.raw = set(), [], [], []
    server = http.server.HTTPServer(("127.0.0.1", 0), _Partner)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks/terms"
    finally:
        server.shutdown()
        server.server_close()


def _replay(url: str, headers: dict[str, str], body: bytes) -> int:
    """Send a captured request again, byte for byte (what an eavesdropper would do)."""
    request = urllib.request.Request(url, data=body, method="POST")  # noqa: S310 -- loopback http
    for name in ("Content-Type", "X-Terms-Signature", "X-Terms-Event-Id", "X-Terms-Event"):
        if name in headers:
            request.add_header(name, headers[name])
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 -- loopback
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_the_documented_receiver_handles_a_real_delivery_once(partner_endpoint: str) -> None:
    endpoint = WebhookEndpoint(url=partner_endpoint, secret=SECRET, is_active=True)
    result = webhook_post(_outbox(), endpoint)
    assert (result.ok, result.status_code) == (True, 204)
    assert [e["id"] for e in _Partner.handled] == [981]
    assert _Partner.handled[0] == json.loads(webhook_body(_outbox()))

    # A retry (signed afresh) and a replay of the captured request: acknowledged, not handled.
    assert webhook_post(_outbox(), endpoint).status_code == 204
    headers, body = _Partner.raw[0]
    assert _replay(partner_endpoint, headers, body) == 204
    assert len(_Partner.handled) == 1

    # Tampered, signed with another secret, or stale: refused, and not handled.
    assert _replay(partner_endpoint, headers, body.replace(b"accepted", b"rejected")) == 400
    forged = WebhookEndpoint(url=partner_endpoint, secret="whsec_forger", is_active=True)
    assert webhook_post(_outbox(), forged).status_code == 400
    stale_body = webhook_body(_outbox()).replace(b"981", b"982")
    stale = webhook_headers(
        body=stale_body, secret=SECRET, event_id=982, timestamp=int(time.time()) - 301
    )
    assert (
        _replay(partner_endpoint, {**stale, **{"Content-Type": "application/json"}}, stale_body)
        == 400
    )
    assert [e["id"] for e in _Partner.handled] == [981]
