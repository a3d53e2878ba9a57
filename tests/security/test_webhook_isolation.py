"""One slow or dead partner endpoint cannot delay anyone else's notices (docs/security.md).

Before: deliveries went one by one in one loop with a 10 s timeout per read, so an endpoint
that never answered held every other tenant's e-mails and webhooks of the batch for 10 s per
message. Now endpoints are posted to side by side, e-mail does not wait for webhooks, and a
dead endpoint's other messages back off with the first one instead of each taking a deadline.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend

from core.enums import EventKind, OutboxChannel, OutboxStatus
from core.models import Delivery, Outbox
from core.services import outbox_add
from tenants.delivery.outbox import outbox_deliver_batch
from tenants.models import WebhookEndpoint
from tests.factories.tenants import PartnerFactory
from tests.security.receivers import Receiver, Tarpit, answer

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

DEADLINE = 2.0
SENT_AT: list[float] = []


class TimedBackend(EmailBackend):
    """locmem, noting when each message was handed over."""

    def send_messages(self, messages):  # type: ignore[no-untyped-def]
        SENT_AT.extend(time.monotonic() for _ in messages)
        return super().send_messages(messages)


@pytest.fixture
def local(settings) -> None:
    settings.DEBUG = True
    settings.TERMS_WEBHOOK_ALLOW_HOSTS = ["127.0.0.1"]
    settings.TERMS_WEBHOOK_TIMEOUT_SECONDS = DEADLINE
    settings.EMAIL_BACKEND = f"{__name__}.TimedBackend"
    SENT_AT.clear()


@pytest.fixture
def tarpit() -> Iterator[Tarpit]:
    server = Tarpit()
    yield server
    server.close()


@pytest.fixture
def healthy() -> Iterator[list[Receiver]]:
    servers = [Receiver(answer(204)) for _ in range(3)]
    yield servers
    for server in servers:
        server.close()


def _hooks(url: str, count: int) -> list[Outbox]:
    endpoint = WebhookEndpoint.objects.create(partner=PartnerFactory(), url=url, secret="whsec_t")
    rows = []
    for n in range(count):
        row = outbox_add(
            kind=EventKind.RENEWED,
            channel=OutboxChannel.WEBHOOK,
            dedupe_key=f"iso:{endpoint.pk}:{n}",
            payload={"event_id": n, "kind": EventKind.RENEWED, "data": {"contract_id": n}},
            recipient=url,
            partner_id=endpoint.partner_id,
            webhook_endpoint_id=endpoint.pk,
        )
        assert row is not None
        rows.append(row)
    return rows


def _mails(count: int) -> list[Outbox]:
    rows = []
    for n in range(count):
        row = outbox_add(
            kind=EventKind.RENEWED,
            channel=OutboxChannel.EMAIL,
            dedupe_key=f"iso:mail:{n}",
            payload={"contract_id": n, "tenant_name": "テスト商事", "product_name": "Optimal Biz"},
            recipient=f"it{n}@customer.example",
            tenant_id=n + 1,
        )
        assert row is not None
        rows.append(row)
    return rows


def test_a_hanging_endpoint_delays_no_other_endpoint_and_no_email(local, tarpit, healthy):
    stuck = _hooks(tarpit.url(), 5)  # queued first: the old loop met these before anything else
    others = [_hooks(server.url(), 2) for server in healthy]
    mails = _mails(4)

    started = time.monotonic()
    counts = outbox_deliver_batch(limit=100)
    took = time.monotonic() - started

    # Every other endpoint and every e-mail went out well before the stuck one's deadline.
    for server in healthy:
        assert len(server.hits) == 2
        assert max(hit.at for hit in server.hits) - started < DEADLINE / 2
    assert len(mail.outbox) == 4
    assert max(SENT_AT) - started < DEADLINE / 2
    # The batch lasted one deadline, not one per stuck message (5 × 2 s before).
    assert took < DEADLINE + 1.5
    assert tarpit.connections == 1
    assert counts == {
        "email.sent": 4,
        "webhook.sent": 6,
        "webhook.failed": 1,
        "webhook.deferred": 4,
    }
    for row in [*mails, *(row for rows in others for row in rows)]:
        row.refresh_from_db()
        assert row.status == OutboxStatus.SENT

    # The stuck endpoint: one attempt recorded, the rest given back untried (no attempt
    # counted, no in-flight record) to retry when the failed one does.
    first, *rest = stuck
    first.refresh_from_db()
    assert (first.status, first.attempts) == (OutboxStatus.FAILED, 1)
    assert "DeadlineExceeded" in first.last_error
    for row in rest:
        row.refresh_from_db()
        assert (row.status, row.attempts, row.lease_until) == (OutboxStatus.PENDING, 0, None)
        assert row.next_attempt_at == first.next_attempt_at
        assert not Delivery.objects.filter(outbox=row).exists()


def test_emails_are_recorded_before_webhooks_finish(local, tarpit, monkeypatch):
    """A worker killed while a webhook hangs has already recorded its e-mails as sent, so
    they are not sent a second time after the lease."""
    _hooks(tarpit.url(), 1)
    (email_row,) = _mails(1)
    seen: list[str] = []

    from tenants.delivery import outbox as outbox_module

    real_batch = outbox_module.WebhookBatch

    class Watching(real_batch):  # type: ignore[misc, valid-type]
        def results(self):  # type: ignore[no-untyped-def]
            seen.append(Outbox.objects.get(pk=email_row.pk).status)
            return super().results()

    monkeypatch.setattr(outbox_module, "WebhookBatch", Watching)
    outbox_deliver_batch(limit=10)
    assert seen == [OutboxStatus.SENT]


def test_a_busy_endpoint_cannot_hold_the_batch(local, settings, healthy):
    """Rows an endpoint cannot start within the batch's budget go back untried."""
    settings.TERMS_WEBHOOK_TIMEOUT_SECONDS = 0.5
    slow = Receiver(lambda h: (time.sleep(0.3), answer(204)(h)))
    try:
        rows = _hooks(slow.url(), 6)
        started = time.monotonic()
        counts = outbox_deliver_batch(limit=100)
        took = time.monotonic() - started
    finally:
        slow.close()
    assert took < 2 * 0.5 + 1.0
    assert counts["webhook.sent"] + counts["webhook.deferred"] == len(rows)
    assert 1 <= counts["webhook.sent"] < len(rows)
