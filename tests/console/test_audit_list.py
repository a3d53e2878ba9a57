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
