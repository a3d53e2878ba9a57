"""The audit log as staff read it: what an object is and what was done, in words, filtered by a
list of the kinds recorded; the recorded summary is shown as written."""

from __future__ import annotations

import pytest
from django.urls import reverse

from core.enums import AuditAction
from core.services import audit_add

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_audit_list_names_objects_and_actions_in_words(client, world, viewer, editor) -> None:
    audit_add(
        actor=editor,
        action=AuditAction.SCHEDULE,
        obj=world.draft,
        summary="draft draft-1: scheduled",
    )
    client.force_login(viewer)
    page = client.get(reverse("console:audit-list")).content.decode()
    assert "規約の版 #" in page
    assert "agreements.termsversion#" not in page
    assert '<span class="badge" data-action="schedule">予定登録</span>' in page
    assert '<option value="agreements.termsversion">規約の版</option>' in page
    assert '<span lang="en" data-testid="audit-recorded">draft draft-1: scheduled</span>' in page


def test_a_partners_page_shows_what_staff_did_to_its_keys(client, viewer) -> None:
    from tenants.scope import Scope
    from tenants.services.keys import partner_key_issue, partner_key_revoke
    from tests.factories.tenants import PartnerFactory, StaffFactory

    partner, other = PartnerFactory(), PartnerFactory()
    scope = Scope.staff(StaffFactory(is_superuser=True))
    key, _raw = partner_key_issue(scope=scope, partner=partner, name="本番", scopes=["read"])
    partner_key_revoke(scope=scope, key=key)
    theirs, _raw = partner_key_issue(scope=scope, partner=other, name="他社", scopes=["read"])
    client.force_login(viewer)
    page = client.get(reverse("console:partner-detail", args=[partner.pk])).content.decode()
    assert 'data-action="issue_key"' in page
    assert 'data-action="revoke_key"' in page
    assert theirs.prefix not in page  # another partner's key is not this partner's trail
