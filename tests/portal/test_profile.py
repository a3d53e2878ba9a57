"""A signed-in person sets their own display name (portal and console) and, in the portal, their
title in the current tenant's company: member lists, the answer form and the receipt's
"回答した方" use them instead of a bare e-mail address; each change is audited."""

from __future__ import annotations

import pytest
from django.test import Client

from agreements.enums import Answer
from agreements.models import ConsentRecord
from core.errors import PermissionDenied
from core.models import AuditEntry
from tenants.scope import Scope
from tenants.services import profile_update
from tests.console.conftest import make_staff
from tests.portal.conftest import signed_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_member_sets_name_and_title_used_by_members_answer_and_receipt(world) -> None:
    client = signed_in(world.admin)
    response = client.post("/portal/profile/", {"display_name": "山田 花子", "title": "法務部長"})
    assert response.status_code == 302
    world.admin.refresh_from_db()
    world.admin.user.refresh_from_db()
    assert world.admin.user.get_full_name() == "山田 花子"
    assert world.admin.title == "法務部長"
    audit = AuditEntry.objects.get(action="update", object_id=world.admin.pk)
    assert audit.tenant_id == world.tenant.pk
    assert audit.data["changed"] == ["display_name", "title"]
    # Colleagues see the name and title, not only the address.
    members = signed_in(world.viewer).get("/portal/members/").content.decode()
    assert "山田 花子" in members
    assert "法務部長" in members
    # The answer form starts from them; the receipt names the person who answered.
    review = client.get(f"/portal/changes/{world.v2.pk}/").content.decode()
    assert 'value="山田 花子"' in review
    assert 'value="法務部長"' in review
    client.post(f"/portal/changes/{world.v2.pk}/answer/", {"answer": Answer.ACCEPTED})
    record = ConsentRecord.objects.get(tenant=world.tenant)
    receipt = client.get(f"/portal/receipts/{record.pk}/").content.decode()
    person = receipt.split('data-testid="receipt-person">', 1)[1].split("</dd>", 1)[0]
    assert "山田 花子" in person
    assert "法務部長" in person


def test_a_second_save_of_the_same_values_changes_nothing(world) -> None:
    client = signed_in(world.admin)
    client.post("/portal/profile/", {"display_name": "山田 花子", "title": "法務部長"})
    client.post("/portal/profile/", {"display_name": "山田 花子", "title": "法務部長"})
    assert AuditEntry.objects.filter(action="update", object_id=world.admin.pk).count() == 1


def test_one_line_and_only_ones_own(world) -> None:
    client = signed_in(world.admin)
    response = client.post("/portal/profile/", {"display_name": "山田\n花子", "title": ""})
    assert response.status_code == 400
    with pytest.raises(PermissionDenied):
        profile_update(
            scope=Scope.tenant_user(world.admin), user=world.viewer.user, display_name="他人"
        )


def test_staff_set_their_display_name_in_the_console() -> None:
    staff = make_staff("viewer")
    client = Client()
    client.force_login(staff)
    assert client.get("/console/profile/").status_code == 200
    response = client.post("/console/profile/", {"display_name": "佐藤 一郎"})
    assert response.status_code == 302
    staff.refresh_from_db()
    assert staff.get_full_name() == "佐藤 一郎"
    home = client.get("/console/").content.decode()
    assert "佐藤 一郎" in home
    assert AuditEntry.objects.filter(action="update", object_id=staff.pk).exists()
