"""Webhook signatures from the receiver's side, with the snippet docs/api.md gives partners.

The snippet is read from the document and executed as is; deliveries come from the outbox's
own sender (tenants.delivery.webhooks.webhook_post) over real HTTP to a local receiver.
"""

from __future__ import annotations

import http.server
import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from core import clock
from core.enums import EventKind, OutboxChannel
from core.models import Outbox
from tenants.delivery.webhooks import webhook_body, webhook_post
from tenants.models import WebhookEndpoint
from tenants.webhooks import SIGNATURE_HEADER, webhook_headers

pytestmark = pytest.mark.unit

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
SECRET = "whsec_receiver-test-secret"


def documented_verifier() -> Callable[..., bool]:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(r"<!-- webhook-verify-snippet -->\s*```python\n(.*?)```", text, re.S)
    assert match, "docs/api.md lost its verification snippet"
    namespace: dict[str, Any] = {}
    exec(compile(match.group(1), str(DOC), "exec"), namespace)  # noqa: S102 -- our own document
    return namespace["verify_terms_webhook"]


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
        payload={
            "event_id": 981,
            "kind": EventKind.ANSWER_RECORDED.value,
            "data": {"tenant_id": 42, "tenant_name": "テスト商事株式会社", "answer": "accepted"},
        },
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
