"""A tenant admin keeps further notification contacts in the portal: notices and reminders go to
each of them (tenants.notify.tenant_recipients, the one answer to "who is told"), every addition
and removal is audited on the tenant, the R15 purge deletes them, and a notice e-mail sent to
one of them is a notice that reached the tenant (R3)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agreements.selectors.consents.reach import notice_reach
from core import clock
from core.enums import EventKind, OutboxStatus
from core.errors import Conflict, PermissionDenied
from core.models import AuditEntry, Outbox
from tenants import services
from tenants.models import NotificationContact
from tenants.notify import Note, notify, tenant_recipients
from tenants.scope import Scope
from tests.portal.conftest import build_world

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _admin_scope(world) -> Scope:
    return Scope.tenant_user(world.admin)


def test_admin_adds_a_contact_in_the_portal_and_notices_go_to_it(world, admin_client) -> None:
    world.tenant.contact_email = "it@portal.example"
    world.tenant.save()
    response = admin_client.post(
        "/portal/contacts/add/",
        {"name": "法務部 佐藤", "email": "Legal@Portal.example", "locale": "en"},
    )
    assert response.status_code == 302
    contact = NotificationContact.objects.get(tenant=world.tenant)
    assert (contact.name, contact.email, contact.locale) == (
        "法務部 佐藤",
        "Legal@Portal.example",
        "en",
    )
    audit = AuditEntry.objects.get(action="create", object_id=contact.pk)
    assert audit.tenant_id == world.tenant.pk
    assert audit.actor == world.admin.user
    page = admin_client.get("/portal/members/").content.decode()
    assert "legal@portal.example" in page
    assert "it@portal.example" in page
    notify([Note(kind=EventKind.CONSENT_REMINDER, tenant=world.tenant, key="k", payload={})])
    sent = dict(
        Outbox.objects.filter(channel="email", tenant_id=world.tenant.pk).values_list(
            "recipient", "locale"
        )
    )
    assert sent == {
        world.admin.user.email.lower(): "ja",
        "it@portal.example": "ja",
        "legal@portal.example": "en",  # the contact's own language
    }


def test_removal_is_audited_and_stops_the_notices(world, admin_client) -> None:
    contact = services.contact_add(
        scope=_admin_scope(world), tenant=world.tenant, name="総務", email="ga@portal.example"
    )
    assert admin_client.post(f"/portal/contacts/{contact.pk}/remove/").status_code == 302
    assert not NotificationContact.objects.filter(pk=contact.pk).exists()
    audit = AuditEntry.objects.get(action="remove", object_id=contact.pk)
    assert audit.tenant_id == world.tenant.pk
    addresses = [a for a, _l in tenant_recipients([world.tenant])[world.tenant.pk]]
    assert "ga@portal.example" not in addresses


def test_viewers_and_other_tenants_are_refused(world, viewer_client, admin_client) -> None:
    response = viewer_client.post(
        "/portal/contacts/add/", {"name": "総務", "email": "ga@portal.example"}
    )
    assert response.status_code in {302, 403}
    assert not NotificationContact.objects.exists()
    viewer_scope = Scope.tenant_user(world.viewer)
    with pytest.raises(PermissionDenied):
        services.contact_add(
            scope=viewer_scope, tenant=world.tenant, name="総務", email="ga@portal.example"
        )
    other = build_world(name="別テナント株式会社")
    theirs = services.contact_add(
        scope=Scope.system(), tenant=other.tenant, name="総務", email="ga@other.example"
    )
    assert admin_client.post(f"/portal/contacts/{theirs.pk}/remove/").status_code == 404
    assert NotificationContact.objects.filter(pk=theirs.pk).exists()


def test_duplicates_and_the_limit_are_refused(world) -> None:
    world.tenant.contact_email = "it@portal.example"
    world.tenant.save()
    scope = _admin_scope(world)
    with pytest.raises(Conflict):  # the primary contact address, whatever its case
        services.contact_add(scope=scope, tenant=world.tenant, name="IT", email="IT@portal.example")
    for n in range(services.MAX_CONTACTS):
        services.contact_add(scope=scope, tenant=world.tenant, name=f"{n}", email=f"{n}@p.example")
    with pytest.raises(Conflict):
        services.contact_add(scope=scope, tenant=world.tenant, name="0", email="0@P.example")
    with pytest.raises(Conflict):
        services.contact_add(scope=scope, tenant=world.tenant, name="x", email="x@p.example")


def test_an_address_that_is_also_an_admin_gets_one_message(world) -> None:
    services.contact_add(
        scope=_admin_scope(world),
        tenant=world.tenant,
        name="管理者",
        email=world.admin.user.email.upper(),
    )
    recipients = tenant_recipients([world.tenant])[world.tenant.pk]
    assert [a for a, _l in recipients].count(world.admin.user.email.lower()) == 1


def test_recipients_are_one_query_for_any_number_of_tenants(db, today) -> None:
    worlds = [build_world(name=f"連絡先{n}株式会社") for n in range(3)]
    for w in worlds:
        services.contact_add(
            scope=Scope.system(), tenant=w.tenant, name="総務", email=f"ga{w.tenant.pk}@x.example"
        )
    with CaptureQueriesContext(connection) as captured:
        found = tenant_recipients([w.tenant for w in worlds])
    assert len(captured.captured_queries) == 1
    # The admin, the contact address where the tenant has one, the further contact.
    assert [len(found[w.tenant.pk]) for w in worlds] == [
        2 + bool(w.tenant.contact_email) for w in worlds
    ]


def test_r3_a_notice_sent_to_a_contact_reached_the_tenant(world) -> None:
    world.admin.user.email = ""
    world.admin.user.save()
    world.tenant.contact_email = ""
    world.tenant.save()  # the further contact is the tenant's only recipient
    services.contact_add(
        scope=Scope.system(), tenant=world.tenant, name="法務", email="legal@portal.example"
    )
    notify(
        [
            Note(
                kind=EventKind.NOTICE_POSTED,
                tenant=world.tenant,
                key=f"version:{world.v2.pk}:posted",
                payload={},
                subject=world.v2,
            )
        ]
    )
    row = Outbox.objects.get(tenant_id=world.tenant.pk, channel="email")
    assert row.recipient == "legal@portal.example"
    assert world.tenant.pk not in notice_reach(
        version=world.v2, tenant_ids=[world.tenant.pk], before=None
    )
    Outbox.objects.filter(pk=row.pk).update(status=OutboxStatus.SENT, sent_at=clock.now())
    reach = notice_reach(version=world.v2, tenant_ids=[world.tenant.pk], before=None)
    assert reach[world.tenant.pk].ref == f"outbox:{row.pk}"


def test_r15_the_purge_deletes_the_contacts(world) -> None:
    from agreements.services.redaction import tenant_redact

    services.contact_add(
        scope=Scope.system(), tenant=world.tenant, name="法務", email="legal@portal.example"
    )
    tenant_redact(tenant=world.tenant)
    assert not NotificationContact.objects.filter(tenant=world.tenant).exists()
