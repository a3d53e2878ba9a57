"""R15: after a tenant's backup purge no copy of its people's data is left, and nothing queued
to them is sent (docs/security.md, "personal data outlives the purge")."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django.core.serializers.json import DjangoJSONEncoder

from agreements.services.contracts.roll import contracts_roll_due
from agreements.services.deletions import deletions_order_due, tenant_redact
from core import clock
from core.enums import AuditAction, OutboxChannel, OutboxStatus
from core.models import AuditEntry, Delivery, Event, IdempotencyRecord, Outbox
from core.redaction import REDACTED, Scrubber
from core.services import outbox_add
from tenants.delivery.outbox import outbox_deliver_batch
from tenants.enums import Role
from tenants.models import Tenant
from tenants.scope import Scope
from tenants.services import invitation_create, tenant_update
from tests.api.conftest import key_client
from tests.factories.contracts import biz_product, make_contract, staff_scope
from tests.factories.tenants import (
    MembershipFactory,
    PartnerFactory,
    TenantFactory,
    UserFactory,
    make_partner_key,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

MEMBER = "hanako.member@customer.example"
INVITEE = "invitee@outside.example"
OLD_CONTACT = "old-contact@customer.example"
NEW_CONTACT = "new-contact@customer.example"
STAFF_MAILBOX = "legal@optim.example"


def _copies(tenant_id: int) -> str:
    """Every stored copy the purge must reach, as one searchable text."""
    rows = [
        *AuditEntry.objects.filter(tenant_id=tenant_id).values(
            "actor_label", "summary", "data", "action", "object_id"
        ),
        *Outbox.objects.filter(tenant_id=tenant_id).values(
            "recipient", "dedupe_key", "payload", "last_error"
        ),
        *Delivery.objects.filter(outbox__tenant_id=tenant_id).values("error"),
        *Event.objects.filter(tenant_id=tenant_id).values("payload"),
    ]
    return json.dumps(rows, ensure_ascii=False, cls=DjangoJSONEncoder).lower()


@pytest.fixture
def purged_world(settings):
    """A tenant whose contract ended, with people in every copy, up to the day of the purge."""
    settings.TERMS_STAFF_EMAIL = STAFF_MAILBOX
    tenant = TenantFactory(contact_email=OLD_CONTACT)
    member = MembershipFactory(
        tenant=tenant,
        role=Role.ADMIN,
        user=UserFactory(username=MEMBER, email=MEMBER, first_name="花子", last_name="山田"),
    )
    make_contract(tenant=tenant, product=biz_product())
    contracts_roll_due(today=date(2025, 4, 1))  # expired on 2025-03-31
    staff = staff_scope()
    invitation_create(scope=staff, tenant=tenant, email=INVITEE)
    tenant_update(scope=Scope.tenant_user(member), tenant=tenant, contact_email=NEW_CONTACT)
    # A bounce that quotes the address, as mail servers do.
    bounced = outbox_add(
        kind="consent.reminder",
        channel=OutboxChannel.EMAIL,
        dedupe_key=f"consent.reminder:x:{tenant.pk}:email:{MEMBER}",
        payload={"greeting": "山田 花子 様"},
        recipient=MEMBER,
        tenant_id=tenant.pk,
    )
    assert bounced is not None
    Outbox.objects.filter(pk=bounced.pk).update(
        status=OutboxStatus.DEAD, last_error=f"550 5.1.1 <{MEMBER}>: user unknown"
    )
    Delivery.objects.create(
        outbox=bounced,
        attempt=1,
        error=f"550 5.1.1 <{MEMBER}>: user unknown",
        attempted_at=bounced.created_at,
    )
    before = _copies(tenant.pk)
    for value in (MEMBER, INVITEE, OLD_CONTACT, NEW_CONTACT, "山田 花子"):
        assert value in before, value  # the copies the purge must reach exist
    return tenant


def test_redaction_leaves_no_address_or_name_in_audit_outbox_deliveries_or_events(
    purged_world,
) -> None:
    tenant = purged_world
    counts = deletions_order_due(today=date(2026, 4, 1))
    assert counts["redacted"] == 1
    copies = _copies(tenant.pk)
    for value in (MEMBER, INVITEE, OLD_CONTACT, NEW_CONTACT, "山田", "花子"):
        assert value not in copies, value
    # What happened stays: the invitation, the contact change and the redaction, by id.
    actions = set(AuditEntry.objects.filter(tenant_id=tenant.pk).values_list("action", flat=True))
    assert {AuditAction.INVITE, AuditAction.UPDATE, AuditAction.REDACT} <= actions
    invite = AuditEntry.objects.get(tenant_id=tenant.pk, action=AuditAction.INVITE)
    assert (invite.summary, invite.data["email"], invite.data["role"]) == (
        REDACTED,
        REDACTED,
        Role.VIEWER,
    )
    change = AuditEntry.objects.get(tenant_id=tenant.pk, action=AuditAction.UPDATE)
    assert change.data["changes"]["contact_email"] == [REDACTED, REDACTED]
    assert change.actor_label == REDACTED  # the tenant user who changed it
    dead = Outbox.objects.get(tenant_id=tenant.pk, kind="consent.reminder")
    assert (dead.status, dead.recipient, dead.dedupe_key) == (
        OutboxStatus.DEAD,
        "",
        f"redacted:{dead.pk}",
    )


def test_redaction_cancels_email_queued_to_the_tenant_and_none_is_sent(
    purged_world, mailoutbox
) -> None:
    tenant = purged_world
    deletions_order_due(today=date(2026, 4, 1))
    to_tenant = Outbox.objects.filter(tenant_id=tenant.pk, channel=OutboxChannel.EMAIL).exclude(
        recipient=STAFF_MAILBOX
    )
    # The invitation and the deletion order queued at purge time, never sent.
    cancelled = set(to_tenant.filter(status=OutboxStatus.CANCELLED).values_list("kind", flat=True))
    assert {"tenant.invitation", "deletion.ordered"} <= cancelled
    assert not to_tenant.filter(status__in=[OutboxStatus.PENDING, OutboxStatus.FAILED]).exists()
    while sum(outbox_deliver_batch().values()):
        pass
    recipients = {address for message in mailoutbox for address in message.to}
    assert recipients <= {STAFF_MAILBOX}
    assert (
        not Outbox.objects.filter(tenant_id=tenant.pk, status=OutboxStatus.SENT)
        .exclude(recipient=STAFF_MAILBOX)
        .exclude(channel=OutboxChannel.WEBHOOK)
        .exists()
    )


def test_redaction_keeps_staff_messages_and_a_second_run_changes_nothing(purged_world) -> None:
    tenant = purged_world
    deletions_order_due(today=date(2026, 4, 1))
    copies = _copies(tenant.pk)
    assert tenant_redact(tenant=tenant) == 0
    assert _copies(tenant.pk) == copies


@pytest.mark.unit
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("invited Taro@Customer.Example as viewer", f"invited {REDACTED} as viewer"),
        ("550 <x.y+tag@sub.example.co.jp>: unknown", f"550 <{REDACTED}>: unknown"),
        ("山田 花子 様", f"{REDACTED} {REDACTED} 様"),
        ("deletion requested: due 2026-04-01", "deletion requested: due 2026-04-01"),
        ("A", "A"),
    ],
)
def test_scrubber_removes_known_values_and_addresses_only(text: str, expected: str) -> None:
    scrubber = Scrubber.of(["山田", "花子", "A", None])
    assert scrubber.text(text) == expected
    assert scrubber.json({"summary": text, "n": 3, "list": [text]}) == {
        "summary": expected,
        "n": 3,
        "list": [expected],
    }


# --- Two copies the purge once missed -------------------------------------------


def test_redaction_clears_an_external_ref_shaped_like_an_address(purged_world) -> None:
    tenant = purged_world
    Tenant.objects.filter(pk=tenant.pk).update(external_ref="CRM:hanako.member@customer.example")
    other = TenantFactory(partner=tenant.partner, external_ref="CRM-0002")
    deletions_order_due(today=date(2026, 4, 1))
    tenant.refresh_from_db()
    other.refresh_from_db()
    assert tenant.redacted_at is not None
    assert tenant.external_ref == ""
    assert other.external_ref == "CRM-0002"


def test_redaction_keeps_a_plain_external_ref(purged_world) -> None:
    tenant = purged_world
    Tenant.objects.filter(pk=tenant.pk).update(external_ref="CRM-0001")
    deletions_order_due(today=date(2026, 4, 1))
    tenant.refresh_from_db()
    assert (tenant.redacted_at is not None, tenant.external_ref) == (True, "CRM-0001")


def test_redaction_drops_idempotency_replays_of_the_tenants_data(purged_world, settings) -> None:
    """The replay: the same Idempotency-Key after the purge returned the invitation
    with the invitee's address."""
    settings.TERMS_IDEMPOTENCY_TTL_HOURS = 24 * 400  # still within its TTL on the purge day
    tenant = purged_world
    partner = tenant.partner or PartnerFactory()
    if tenant.partner is None:
        Tenant.objects.filter(pk=tenant.pk).update(partner=partner)
    client = key_client(make_partner_key(partner)[1])
    other = TenantFactory(partner=partner)
    with clock.frozen_at(date(2026, 3, 31)):
        invite = {"email": "second.invitee@outside.example", "role": "viewer"}
        first = client.post(
            f"/api/v1/tenants/{tenant.pk}/invitations/",
            invite,
            format="json",
            HTTP_IDEMPOTENCY_KEY="inv-1",
        )
        assert first.status_code == 201, first.content
        unrelated = client.post(
            f"/api/v1/tenants/{other.pk}/invitations/",
            {"email": "someone@else.example", "role": "viewer"},
            format="json",
            HTTP_IDEMPOTENCY_KEY="inv-2",
        )
        assert unrelated.status_code == 201, unrelated.content
    assert IdempotencyRecord.objects.count() == 2
    deletions_order_due(today=date(2026, 4, 1))
    stored = b"".join(bytes(r.response_body or b"") for r in IdempotencyRecord.objects.all())
    assert b"second.invitee@outside.example" not in stored
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["inv-2"]
    with clock.frozen_at(date(2026, 4, 1)):
        replay = client.post(
            f"/api/v1/tenants/{tenant.pk}/invitations/",
            invite,
            format="json",
            HTTP_IDEMPOTENCY_KEY="inv-1",
        )
    # Not replayed from the stored body: the request runs again.
    assert replay.get("Idempotent-Replayed") is None
