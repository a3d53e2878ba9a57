"""A console viewer could read live invitation links in the Django admin.

Invitation e-mails are queued with `invitation_url` (the token that joins the tenant) in the
outbox payload, and the Outbox (and Event) admin showed payloads to every staff role that may
read. Now the admin masks secrets in every payload it shows, a sent or dead-lettered
invitation keeps no token at all, and a dead one is invited again rather than resent
(docs/security.md, "secrets in stored payloads").
"""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.test import Client
from django.urls import reverse

from core import clock
from core.enums import EventKind, OutboxStatus
from core.masking import mask_secrets
from core.models import Event, Outbox
from core.redaction import REDACTED
from tenants.delivery.outbox import outbox_deliver_due, outbox_retry
from tenants.enums import InvitationStatus, Role
from tenants.models import Invitation
from tenants.scope import Scope
from tenants.services import invitation_create
from tests.api.conftest import make_staff
from tests.factories.tenants import StaffFactory, TenantFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

INVITEE = "new.admin@customer.example"


class FailingBackend(BaseEmailBackend):
    def send_messages(self, email_messages):  # type: ignore[no-untyped-def]
        raise ConnectionRefusedError("smtp down")


def _invite() -> tuple[Invitation, str, Outbox]:
    invitation, token = invitation_create(
        scope=Scope.staff(StaffFactory(is_superuser=True)),
        tenant=TenantFactory(),
        email=INVITEE,
        role=Role.ADMIN,
    )
    row = Outbox.objects.get(kind=EventKind.INVITATION, recipient=INVITEE)
    return invitation, token, row


def _client(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def test_admin_viewer_reads_no_live_invitation_link_in_the_outbox() -> None:
    """The attack: a console viewer opens the queued invitation in /admin/core/outbox/ and
    copies the link. The page shows the row, its link masked; the token is nowhere."""
    _invitation, token, row = _invite()
    assert token in row.payload["invitation_url"]  # queued, not sent: the mailer needs it
    viewer = _client(make_staff("viewer"))
    listing = viewer.get(reverse("admin:core_outbox_changelist"))
    page = viewer.get(reverse("admin:core_outbox_change", args=[row.pk]))
    assert (listing.status_code, page.status_code) == (200, 200)
    for response in (listing, page):
        assert token not in response.content.decode()
    body = page.content.decode()
    assert f"/portal/invitations/{REDACTED}/" in body
    assert INVITEE in body  # the rest of the row is still shown


def test_admin_masks_secrets_in_event_payloads() -> None:
    token = "Zk3pQ9vXw2LmN8rT5yB1cD4eF7gH0jKa"
    event = Event.objects.create(
        kind="test.secret",
        occurred_at=clock.now(),
        payload={
            "accept_url": f"https://terms.example.jp/portal/invitations/{token}/",
            "data": {"signing_secret": "whsec_live", "api_key": "tk_live", "role": "admin"},
        },
    )
    # The event admin is Django's model permissions (a superuser here): no reader sees secrets.
    reader = _client(make_staff(superuser=True))
    page = reader.get(reverse("admin:core_event_change", args=[event.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    for secret in (token, "whsec_live", "tk_live"):
        assert secret not in body
    assert "admin" in body


def test_a_sent_invitation_keeps_no_token_and_the_rest_of_its_payload() -> None:
    invitation, token, row = _invite()
    assert outbox_deliver_due() == {"email.sent": 1}
    (message,) = mail.outbox
    assert token in message.body  # the invitee got the working link
    row.refresh_from_db()
    assert token not in str(row.payload)
    assert (row.payload["role"], row.payload["expires_at"]) == (
        Role.ADMIN,
        clock.api_instant(invitation.expires_at),
    )
    assert row.payload["invitation_url"].endswith(f"/portal/invitations/{REDACTED}/")
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.PENDING  # the link itself still works


def test_a_failed_attempt_keeps_the_link_for_the_retry_then_it_goes(settings) -> None:
    settings.EMAIL_BACKEND = "tests.security.test_invitation_secrets.FailingBackend"
    settings.TERMS_OUTBOX_MAX_ATTEMPTS = 3
    _invitation, token, row = _invite()
    assert outbox_deliver_due() == {"email.failed": 1}
    row.refresh_from_db()
    assert token in row.payload["invitation_url"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    row.next_attempt_at = clock.now()
    row.save(update_fields=["next_attempt_at"])
    assert outbox_deliver_due() == {"email.sent": 1}
    assert token in mail.outbox[0].body
    row.refresh_from_db()
    assert token not in str(row.payload)


def test_a_dead_invitation_keeps_no_token_and_is_invited_again_not_resent(settings) -> None:
    settings.EMAIL_BACKEND = "tests.security.test_invitation_secrets.FailingBackend"
    settings.TERMS_OUTBOX_MAX_ATTEMPTS = 1
    _invitation, token, row = _invite()
    assert outbox_deliver_due() == {"email.dead": 1}
    row.refresh_from_db()
    assert row.status == OutboxStatus.DEAD
    assert token not in str(row.payload)
    # The console's failed-deliveries page: no token, no retry box for it, a note instead.
    page = _client(make_staff("viewer")).get(reverse("console:deliveries"))
    body = page.content.decode()
    assert page.status_code == 200
    assert token not in body
    assert f'value="{row.pk}"' not in body
    assert "再送不可（招待し直してください）" in body
    # A retry (console or service) would send an e-mail without its link: it is left alone.
    editor = _client(make_staff("editor"))
    editor.post(reverse("console:deliveries"), {"ids": [row.pk]})
    assert outbox_retry(scope=Scope.staff(StaffFactory(is_superuser=True)), ids=[row.pk]) == 0
    row.refresh_from_db()
    assert row.status == OutboxStatus.DEAD


def test_mask_secrets_by_field_name() -> None:
    token = "a" * 43
    assert mask_secrets(
        {
            "invitation_url": f"https://t.example/portal/invitations/{token}/?lang=ja",
            "notice_url": "https://t.example/notices/12/",
            "reset_link": f"https://t.example/r/?token={token}",
            "secret": "whsec_x",
            "password": "pw",
            "nested": [{"session_token": "t"}],
            "role": "admin",
        }
    ) == {
        "invitation_url": f"https://t.example/portal/invitations/{REDACTED}/?lang=ja",
        "notice_url": "https://t.example/notices/12/",
        "reset_link": f"https://t.example/r/?token={REDACTED}",
        "secret": REDACTED,
        "password": REDACTED,
        "nested": [{"session_token": REDACTED}],
        "role": "admin",
    }
