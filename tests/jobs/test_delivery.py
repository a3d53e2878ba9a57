from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from unittest import mock

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.template.loader import get_template

from core import clock
from core.enums import AuditAction, EventKind, OutboxChannel, OutboxStatus
from core.errors import PermissionDenied
from core.models import AuditEntry, Delivery, Outbox
from core.outbox import _ring, delivery_ring_on_commit
from core.services import message_id_for, outbox_add
from tenants.delivery.email import email_context, email_render
from tenants.delivery.kinds import GENERIC, MESSAGES
from tenants.delivery.outbox import (
    claim,
    outbox_deliver_batch,
    outbox_deliver_due,
    outbox_retry,
    retry_delay,
)
from tenants.models import WebhookEndpoint
from tenants.notify import Note, notify
from tenants.scope import Scope
from tenants.webhooks import SIGNATURE_HEADER, webhook_verify
from tests.factories.tenants import PartnerFactory, StaffFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

# One realistic payload per kind, with the keys the services write.
PAYLOADS = {
    EventKind.NOTICE_POSTED: {
        "version_id": 7,
        "document": "OPTiM ID+ 利用規約",
        "label": "2025年4月改定",
        "notice_on": "2025-03-20",
        "effective_on": "2025-04-01",
        "consent_mode": "deemed",
    },
    EventKind.VERSION_WITHDRAWN: {
        "version_id": 7,
        "document": "OPTiM ID+ 利用規約",
        "label": "v3",
        "effective_on": "2025-04-01",
        "reason": "誤記のため",
    },
    EventKind.VERSION_LAPSED: {
        "version_id": 7,
        "document": "OPTiM ID+ 利用規約",
        "label": "v3",
        "effective_on": "2025-04-01",
        "notice_on": "2025-03-20",
    },
    EventKind.CONSENT_REMINDER: {
        "version_id": 7,
        "document": "OPTiM ID+ 利用規約",
        "label": "v3",
        "effective_on": "2025-04-01",
        "status": "no_answer",
    },
    EventKind.CONSENT_OUTSTANDING: {
        "version_id": 7,
        "document": "OPTiM ID+ 利用規約",
        "label": "v3",
        "effective_on": "2025-04-01",
        "status": "outstanding",
    },
    EventKind.ANSWER_RECORDED: {
        "record_id": 11,
        "seq": 4,
        "version_id": 7,
        "version_label": "v3",
        "document": "Optimal Biz 利用規約",
        "product": "optimal-biz",
        "product_name": "Optimal Biz",
        "effective_on": "2025-04-01",
        "answer": "rejected",
        "recorded_at": "2025-03-10T00:00:00+00:00",
        "case_grounded": True,
    },
    EventKind.CASE_OPENED: {
        "case_id": 2,
        "contract_id": 3,
        "version_id": 7,
        "version_label": "v3",
        "document": "Optimal Biz 利用規約",
        "product": "optimal-biz",
        "product_name": "Optimal Biz",
        "effective_on": "2025-04-01",
        "rejection_seq": 4,
        "rejected_at": "2025-03-10T00:00:00+00:00",
        "earliest_end": "2025-04-09",
        "notice_days": 30,
    },
    EventKind.CASE_CONFIRMED: {
        "case_id": 2,
        "contract_id": 3,
        "version_label": "v3",
        "document": "Optimal Biz 利用規約",
        "product": "optimal-biz",
        "product_name": "Optimal Biz",
        "effective_on": "2025-04-01",
        "end_date": "2025-04-11",
    },
    EventKind.CASE_DROPPED: {
        "case_id": 2,
        "contract_id": 3,
        "version_label": "v3",
        "document": "Optimal Biz 利用規約",
        "product": "optimal-biz",
        "product_name": "Optimal Biz",
        "effective_on": "2025-04-01",
        "cause": "accepted",
    },
    EventKind.RENEWAL_NOTICE: {
        "contract_id": 3,
        "product_name": "OPTiM ID+",
        "period_end": "2025-03-31",
        "deadline": "2025-02-28",
        "next_period_start": "2025-04-01",
        "next_period_end": "2026-03-31",
    },
    EventKind.NON_RENEWAL_RECEIVED: {
        "contract_id": 3,
        "product_name": "OPTiM ID+",
        "requested_on": "2025-02-01",
        "end_date": "2025-03-31",
        "deadline": "2025-02-28",
    },
    EventKind.NON_RENEWAL_WITHDRAWN: {
        "contract_id": 3,
        "product_name": "OPTiM ID+",
        "request_id": 8,
        "withdrawn_on": "2025-02-10",
        "cancelled_end_date": "2025-03-31",
        "period_end": "2025-03-31",
        "renews_on": "2025-04-01",
    },
    EventKind.DELETION_WITHDRAWN: {
        "contract_id": 3,
        "product_name": "Optimal Biz",
        "deletion_id": 5,
        "kind": "requested",
        "due_on": "2025-04-01",
        "contract_ended_on": None,
        "withdrawn_on": "2025-02-10",
    },
    EventKind.RENEWED: {
        "contract_id": 3,
        "product_name": "OPTiM ID+",
        "period_start": "2025-04-01",
        "period_end": "2026-03-31",
        "non_renewal_deadline": "2026-02-28",
    },
    EventKind.ENDED: {
        "contract_id": 3,
        "product_name": "OPTiM ID+",
        "reason": "non_renewal",
        "end_date": "2025-03-31",
        "claims_window_closes": "2025-06-30",
        "primary_deletion_from": "2025-05-01",
        "backup_purge_due": "2026-04-01",
    },
    EventKind.TERMINATION: {
        "contract_id": 3,
        "product_name": "Optimal Biz",
        "reason": "non_payment",
        "end_date": "2025-03-31",
    },
    EventKind.DELETION_ORDERED: {
        "deletion_id": 5,
        "contract_id": 3,
        "product_name": "Optimal Biz",
        "kind": "primary",
        "due_on": "2025-05-01",
    },
    EventKind.DELETION_DONE: {
        "deletion_id": 5,
        "contract_id": 3,
        "product_name": "Optimal Biz",
        "kind": "backup",
        "acknowledged_on": "2026-04-02",
    },
    EventKind.DELETION_REMINDER: {
        "deletion_id": 5,
        "contract_id": 3,
        "tenant_id": 9,
        "tenant_name": "テスト商事株式会社",
        "product_name": "Optimal Biz",
        "kind": "primary",
        "due_on": "2025-05-01",
        "contract_ended_on": "2025-03-31",
    },
    EventKind.OPTION_PREREQUISITE_LOST: {
        "contract_id": 4,
        "product_code": "id-plus",
        "option_name": "デバイス認証",
        "prerequisite_product_code": "biz",
        "prerequisite_ended_on": "2025-03-31",
    },
    EventKind.INVITATION: {
        "tenant_name": "テスト商事株式会社",
        "role": "admin",
        "invitation_url": "http://127.0.0.1:8000/portal/invitations/abc/",
        "expires_at": "2025-03-08T01:00:00+00:00",
    },
}

# The concrete date each message must show, written as people read it.
DATES = {
    "ja": {
        EventKind.RENEWAL_NOTICE: [
            "2025年2月28日（金）",
            "2025年3月31日（月）",
            "2026年3月31日（火）",
        ],
        EventKind.ENDED: [
            "2025年3月31日（月）",
            "2025年6月30日（月）",
            "2025年5月1日（木）",
            "2026年4月1日（水）",
        ],
        EventKind.NOTICE_POSTED: ["2025年4月1日（火）"],
        EventKind.ANSWER_RECORDED: ["2025年4月1日（火）", "2025年3月10日（月） 09:00（日本時間）"],
        EventKind.CASE_OPENED: [
            "2025年4月1日（火）",
            "2025年4月9日（水）",
            "2025年3月10日（月） 09:00（日本時間）",
        ],
        EventKind.CASE_CONFIRMED: ["2025年4月11日（金）"],
        EventKind.NON_RENEWAL_WITHDRAWN: ["2025年3月31日（月）", "2025年4月1日（火）"],
        EventKind.DELETION_WITHDRAWN: ["2025年4月1日（火）", "2025年2月10日（月）"],
    },
    "en": {
        EventKind.RENEWAL_NOTICE: ["Fri, 28 Feb 2025", "Mon, 31 Mar 2025", "Tue, 31 Mar 2026"],
        EventKind.ENDED: [
            "Mon, 31 Mar 2025",
            "Mon, 30 Jun 2025",
            "Thu, 1 May 2025",
            "Wed, 1 Apr 2026",
        ],
        EventKind.NOTICE_POSTED: ["Tue, 1 Apr 2025"],
        EventKind.ANSWER_RECORDED: ["Tue, 1 Apr 2025", "Mon, 10 Mar 2025 09:00 JST"],
        EventKind.CASE_OPENED: ["Tue, 1 Apr 2025", "Wed, 9 Apr 2025", "Mon, 10 Mar 2025 09:00 JST"],
        EventKind.CASE_CONFIRMED: ["Fri, 11 Apr 2025"],
        EventKind.NON_RENEWAL_WITHDRAWN: ["Mon, 31 Mar 2025", "Tue, 1 Apr 2025"],
        EventKind.DELETION_WITHDRAWN: ["Tue, 1 Apr 2025", "Mon, 10 Feb 2025"],
    },
}


def _outbox(kind: str, *, locale: str = "ja", recipient: str = "it@customer.example") -> Outbox:
    payload = {"tenant_id": 9, "tenant_name": "テスト商事株式会社", **PAYLOADS.get(kind, {})}
    row = outbox_add(
        kind=kind,
        channel=OutboxChannel.EMAIL,
        dedupe_key=f"{kind}:test:{locale}:{recipient}",
        payload=payload,
        recipient=recipient,
        locale=locale,
    )
    assert row is not None
    return row


@pytest.mark.parametrize("locale", ["ja", "en"])
@pytest.mark.parametrize("kind", [k.value for k in EventKind])
def test_email_render_every_kind_has_subject_dates_and_links(kind, locale):
    row = _outbox(kind, locale=locale)
    subject, text, html = email_render(row)
    assert subject
    assert "\n" not in subject
    for body in (text, html):
        assert "{{" not in body
        assert "{%" not in body
        assert "None" not in body
    for shown in DATES[locale].get(kind, []):
        assert shown in text
        assert shown in html
    assert "http://" in text
    assert "<a href=" in html
    if kind in PAYLOADS and locale == "en":
        # English messages carry no Japanese boilerplate (names and titles are data).
        assert "ご担当者様" not in text


@pytest.mark.parametrize("kind", [k.value for k in EventKind])
def test_every_event_kind_has_its_templates_or_is_generic_with_a_reason(kind):
    message = MESSAGES[kind]
    if message.template == GENERIC:
        assert message.generic_reason
        return
    for locale in ("ja", "en"):
        for extension in ("txt", "html"):
            get_template(f"emails/{locale}/{message.template}.{extension}")  # raises if missing


def test_email_context_reads_only_declared_fields_as_dates():
    row = Outbox(
        kind=EventKind.RENEWAL_NOTICE,
        payload={"deadline": "2025-02-28", "reference": "2025-01-01", "contract_id": 3},
        locale="en",
    )
    context = email_context(row, "en")
    assert context["p"]["deadline"] == date(2025, 2, 28)
    assert context["p"]["reference"] == "2025-01-01"  # not declared: stays as written
    assert context["d"] == {"deadline": "Fri, 28 Feb 2025"}


def test_email_render_non_renewal_withdrawn_says_the_contract_renews():
    _subject, text, _html = email_render(_outbox(EventKind.NON_RENEWAL_WITHDRAWN))
    assert "取り下げました" in text
    assert "2025年4月1日（火）から更新されます" in text


def test_email_render_renewal_notice_links_to_the_contract():
    row = _outbox(EventKind.RENEWAL_NOTICE)
    _subject, text, html = email_render(row)
    assert "/portal/contracts/3/" in text
    assert 'href="http://127.0.0.1:8000/portal/contracts/3/"' in html


def test_outbox_deliver_email_with_message_id_text_and_html():
    row = _outbox(EventKind.RENEWAL_NOTICE, locale="en")
    counts = outbox_deliver_due()
    assert counts == {"email.sent": 1}
    (message,) = mail.outbox
    row.refresh_from_db()
    assert message.extra_headers["Message-ID"] == message_id_for(row) == row.message_id
    assert message.to == ["it@customer.example"]
    assert message.alternatives[0][1] == "text/html"
    assert "28 Feb 2025" in message.body
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 1)
    attempt = Delivery.objects.get(outbox=row)
    assert (attempt.attempt, attempt.succeeded) == (1, True)
    assert outbox_deliver_due() == {}  # nothing due any more


class FailingBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise ConnectionRefusedError("smtp down")


def test_outbox_delivery_failure_backs_off_then_dead_letters(settings):
    settings.EMAIL_BACKEND = "tests.jobs.test_delivery.FailingBackend"
    settings.TERMS_OUTBOX_MAX_ATTEMPTS = 3
    row = _outbox(EventKind.RENEWAL_NOTICE)
    start = clock.now()
    with clock.frozen_at(start):
        assert outbox_deliver_due() == {"email.failed": 1}
    row.refresh_from_db()
    assert row.status == OutboxStatus.FAILED
    assert row.next_attempt_at == start + retry_delay(1) == start + timedelta(minutes=1)
    assert "smtp down" in row.last_error
    with clock.frozen_at(start + timedelta(seconds=30)):
        assert outbox_deliver_due() == {}  # not yet due
    with clock.frozen_at(start + timedelta(minutes=1)):
        assert outbox_deliver_due() == {"email.failed": 1}
    row.refresh_from_db()
    assert row.next_attempt_at == start + timedelta(minutes=1) + timedelta(minutes=2)
    with clock.frozen_at(start + timedelta(minutes=3)):
        assert outbox_deliver_due() == {"email.dead": 1}
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.DEAD, 3)
    assert list(Delivery.objects.filter(outbox=row).values_list("attempt", "succeeded")) == [
        (1, False),
        (2, False),
        (3, False),
    ]


def test_outbox_retry_requeues_dead_letters_with_audit(settings):
    settings.EMAIL_BACKEND = "tests.jobs.test_delivery.FailingBackend"
    settings.TERMS_OUTBOX_MAX_ATTEMPTS = 1
    row = _outbox(EventKind.RENEWAL_NOTICE)
    outbox_deliver_due()
    row.refresh_from_db()
    assert row.status == OutboxStatus.DEAD
    staff = StaffFactory()
    with pytest.raises(PermissionDenied):
        outbox_retry(scope=Scope(kind="partner", partner_id=1), ids=[row.pk])
    assert outbox_retry(scope=Scope.staff(staff), ids=[row.pk]) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.PENDING, 0)
    entry = AuditEntry.objects.get(action=AuditAction.RETRY)
    assert (entry.actor, entry.object_id, entry.data["previous_status"]) == (staff, row.pk, "dead")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert outbox_deliver_due() == {"email.sent": 1}
    # The retried delivery is attempt 2 of the row, never a reused number.
    assert list(Delivery.objects.filter(outbox=row).values_list("attempt", flat=True)) == [1, 2]


class _Receiver(http.server.BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []
    status = 204

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers), body))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver(settings) -> Iterator[str]:
    # A receiver on loopback over http: allowed in debug, through the allow-list only.
    settings.DEBUG = True
    settings.TERMS_WEBHOOK_ALLOW_HOSTS = ["127.0.0.1"]
    _Receiver.received = []
    _Receiver.status = 204
    server = http.server.HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()
    server.server_close()


def _webhook(url: str) -> tuple[Outbox, WebhookEndpoint]:
    partner = PartnerFactory()
    endpoint = WebhookEndpoint.objects.create(partner=partner, url=url, secret="whsec_test")
    row = outbox_add(
        kind=EventKind.RENEWED,
        channel=OutboxChannel.WEBHOOK,
        dedupe_key="contract.renewed:test:webhook:1",
        payload={"event_id": 41, "kind": EventKind.RENEWED, "data": {"contract_id": 3}},
        recipient=url,
        partner_id=partner.pk,
        webhook_endpoint_id=endpoint.pk,
    )
    assert row is not None
    return row, endpoint


def test_webhook_delivery_is_signed_and_verifiable(receiver):
    row, endpoint = _webhook(receiver)
    assert outbox_deliver_due() == {"webhook.sent": 1}
    ((headers, body),) = _Receiver.received
    assert webhook_verify(secret=endpoint.secret, header=headers[SIGNATURE_HEADER], body=body)
    assert headers["X-Terms-Event-Id"] == "41"
    assert b'"contract_id":3' in body
    row.refresh_from_db()
    assert row.status == OutboxStatus.SENT
    assert Delivery.objects.get(outbox=row).status_code == 204


def test_webhook_http_error_is_retried(receiver):
    _Receiver.status = 503
    row, _endpoint = _webhook(receiver)
    assert outbox_deliver_due() == {"webhook.failed": 1}
    row.refresh_from_db()
    assert (row.status, row.last_error) == (OutboxStatus.FAILED, "HTTP 503")


def test_webhook_to_disabled_endpoint_is_a_dead_letter(receiver):
    _row, endpoint = _webhook(receiver)
    endpoint.is_active = False
    endpoint.save()
    assert outbox_deliver_due() == {"webhook.dead": 1}
    assert _Receiver.received == []


def test_delivery_rung_once_per_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        delivery_ring_on_commit()
        delivery_ring_on_commit()
    assert [getattr(c, "func", c) for c in callbacks] == [_ring]


def test_interrupted_attempt_is_resent_with_the_same_message_id(settings):
    """A worker that dies after sending, before recording: the lease runs out, the message
    goes again, recognisable by its Message-ID."""
    row = _outbox(EventKind.RENEWAL_NOTICE)
    start = clock.now()
    with clock.frozen_at(start):
        (claimed,) = claim(limit=10)  # claimed and leased, then the worker "dies"
        Delivery.objects.create(outbox=claimed, attempt=1, attempted_at=start)
    with clock.frozen_at(start + timedelta(seconds=10)):
        assert outbox_deliver_batch() == {}  # leased: nobody else takes it
    with clock.frozen_at(start + timedelta(seconds=settings.TERMS_JOB_LEASE_SECONDS + 1)):
        assert outbox_deliver_batch() == {"email.sent": 1}
    row.refresh_from_db()
    assert row.attempts == 2
    assert mail.outbox[0].extra_headers["Message-ID"] == message_id_for(row)


def test_outbox_add_rings_delivery_after_commit_once(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        _outbox(EventKind.RENEWED, recipient="a@customer.example")
        _outbox(EventKind.RENEWED, recipient="b@customer.example")
    assert [getattr(c, "func", c) for c in callbacks] == [_ring]


def test_contract_notices_ring_delivery_after_commit_once(django_capture_on_commit_callbacks):
    from tests.factories.tenants import TenantFactory

    tenant = TenantFactory(contact_email="it@customer.example")
    with django_capture_on_commit_callbacks() as callbacks:
        notify(
            [
                Note(
                    kind=EventKind.RENEWED,
                    tenant=tenant,
                    key="c:1:renewed",
                    payload={},
                    subject=None,
                )
            ]
        )
    assert [getattr(c, "func", c) for c in callbacks] == [_ring]


def test_email_render_notice_posted_en_r6_absent_sentence_follows_with_a_space():
    # OPTiM ID+ has no R6 clause: the closing sentence is its own sentence, not glued on.
    row = _outbox(EventKind.NOTICE_POSTED, locale="en")
    row.payload = {**row.payload, "product": "optim-id-plus", "legal_basis": "general_interest"}
    _subject, text, html = email_render(row)
    for body in (text, html):
        assert (
            "by Mon, 31 Mar 2025. For what an objection leads to, please see your contract." in body
        )


def test_a_ring_while_a_run_is_queued_sends_nothing_more(settings):
    """Rings pile up no runs: while one is queued and has not started, it will read the rows
    of every commit made before it starts; once it has started, the next ring queues another."""
    from core import outbox
    from tenants.tasks import deliver_outbox

    outbox.ring_heard()
    with mock.patch.object(outbox.current_app, "send_task") as send:
        _ring()
        _ring()
        _ring()
        assert send.call_count == 1
        with mock.patch("tenants.delivery.outbox.outbox_deliver_due", return_value={}):
            deliver_outbox()  # the run starts: the mark goes
        _ring()
        assert send.call_count == 2
    outbox.ring_heard()


@pytest.mark.django_db(transaction=True)
def test_a_commit_that_bumps_a_generation_claims_the_ring_in_the_bumps_round_trip():
    """The commit's generation bump takes the doorbell's mark in its own round trip: one
    round trip to Redis after the commit, a ring sent; the next commit, while that run has
    not started, bumps and sends nothing more."""
    from django.db import connection, transaction
    from redis.connection import AbstractConnection

    from core import generations, outbox

    outbox.ring_heard()
    after_commit = [0]
    real = AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):  # type: ignore[no-untyped-def]
        after_commit[0] += not connection.in_atomic_block
        return real(self, command, check_health)

    with (
        mock.patch.object(outbox.current_app, "send_task") as send,
        mock.patch.object(AbstractConnection, "send_packed_command", counting),
    ):
        for _ in range(2):
            with transaction.atomic():
                generations.bump_on_commit("test:ring-generation")
                delivery_ring_on_commit()
    assert send.call_count == 1
    assert after_commit[0] == 2  # a bump and its claim per commit, no add of its own
    outbox.ring_heard()


@pytest.mark.django_db(transaction=True)
def test_a_mark_claimed_for_a_ring_the_broker_outage_skips_is_let_go():
    """The broker found down between the answer's write and its commit: the bump's claim
    took the mark, the ring is skipped, and the mark goes, so the next ring is not held back
    for its lifetime once the broker is back."""
    from django.core.cache import cache
    from django.db import transaction

    from core import generations, outbox

    outbox.ring_heard()
    try:
        with mock.patch.object(outbox.current_app, "send_task") as send:
            with transaction.atomic():
                generations.bump_on_commit("test:ring-generation")
                delivery_ring_on_commit()
                outbox._OUTAGE.failed(OSError("broker down"))
            assert send.call_count == 0
        assert cache.get(outbox._PENDING) is None
    finally:
        outbox._OUTAGE.succeeded()
        outbox.ring_heard()


def test_a_ring_that_failed_does_not_hold_back_the_next(settings):
    from core import outbox

    outbox.ring_heard()
    with mock.patch.object(outbox.current_app, "send_task", side_effect=OSError("broker down")):
        _ring()
    outbox._OUTAGE.succeeded()  # the retry pause over
    with mock.patch.object(outbox.current_app, "send_task") as send:
        _ring()
    assert send.call_count == 1
    outbox.ring_heard()
