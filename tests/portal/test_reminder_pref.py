"""A tenant admin sets in the portal whether the tenant receives the optional consent reminders:
through the service (an audit row: who, old → new), refused to a viewer (who sees the setting
read-only and whom to ask), CSRF-protected like every portal form."""

from __future__ import annotations

import pytest
from django.test import Client

from core.errors import PermissionDenied
from core.models import AuditEntry
from tenants import services
from tenants.scope import Scope

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_reminder_pref_admin_turns_reminders_off_and_on_audited(world, admin_client) -> None:
    page = admin_client.get("/portal/members/").content.decode()
    assert 'data-testid="reminder-pref"' in page
    assert "規約の改定のお知らせ（掲示したとき）" in page  # what is always sent, said plainly
    assert 'action="/portal/contacts/reminders/"' in page
    response = admin_client.post("/portal/contacts/reminders/", {"receive": "0"})
    assert response.status_code == 302
    world.tenant.refresh_from_db()
    assert world.tenant.consent_reminders is False
    audit = AuditEntry.objects.get(object_id=world.tenant.pk, summary="consent_reminders")
    assert audit.actor == world.admin.user
    assert audit.tenant_id == world.tenant.pk
    assert audit.data == {"changes": {"consent_reminders": [True, False]}}
    page = admin_client.get("/portal/members/").content.decode()
    assert "同意のリマインドを受け取らない設定にしました。" in page
    # The same value again writes nothing.
    admin_client.post("/portal/contacts/reminders/", {"receive": "0"})
    assert AuditEntry.objects.filter(summary="consent_reminders").count() == 1
    admin_client.post("/portal/contacts/reminders/", {"receive": "1"})
    world.tenant.refresh_from_db()
    assert world.tenant.consent_reminders is True


def test_reminder_pref_a_viewer_sees_it_read_only_and_is_refused(world, viewer_client) -> None:
    page = viewer_client.get("/portal/members/").content.decode()
    assert 'data-testid="reminder-state"' in page
    assert 'action="/portal/contacts/reminders/"' not in page
    assert "リマインドの設定は、このテナントの管理者が行います。" in page
    assert world.admin.user.email in page  # whom to ask
    response = viewer_client.post("/portal/contacts/reminders/", {"receive": "0"})
    assert response.status_code == 403
    world.tenant.refresh_from_db()
    assert world.tenant.consent_reminders is True
    with pytest.raises(PermissionDenied):
        services.tenant_reminders_set(
            scope=Scope.tenant_user(world.viewer), tenant=world.tenant, receive=False
        )


def test_reminder_pref_post_needs_the_csrf_token(world) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.admin.user)
    response = client.post("/portal/contacts/reminders/", {"receive": "0"})
    assert response.status_code == 403
    world.tenant.refresh_from_db()
    assert world.tenant.consent_reminders is True


def test_reminder_pref_an_invalid_choice_is_shown_on_the_form(world, admin_client) -> None:
    response = admin_client.post("/portal/contacts/reminders/", {"receive": "maybe"})
    assert response.status_code == 400
    world.tenant.refresh_from_db()
    assert world.tenant.consent_reminders is True
