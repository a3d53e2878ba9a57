"""A publisher sends a draft back with a comment (差し戻し); the editors see it on the draft,
and the version's approval history lists created / sent back / scheduled."""

from __future__ import annotations

import pytest
from django.urls import reverse

from agreements.enums import VersionStatus
from agreements.selectors.reviews import open_send_back, version_review_history
from agreements.services.version_review import version_send_back
from agreements.services.versions import article_upsert, version_draft_create
from core import clock
from core.enums import AuditAction
from core.errors import Conflict, PermissionDenied, ValidationFailed
from core.services import audit_add
from tenants.scope import Scope
from tests.console.conftest import post_revision

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_publisher_sends_a_draft_back_and_the_editor_sees_why(
    client, world, editor, publisher
) -> None:
    client.force_login(publisher)
    response = client.post(
        reverse("console:version-detail", args=[world.draft.pk]),
        {"comment": "第1条の「すべての」は不要です。\n効力発生日も再確認してください。"},
    )
    assert response.status_code == 302
    world.draft.refresh_from_db()
    assert world.draft.status == VersionStatus.DRAFT
    client.force_login(editor)
    page = client.get(reverse("console:version-edit", args=[world.draft.pk])).content.decode()
    assert 'data-testid="sent-back"' in page
    assert "第1条の「すべての」は不要です。" in page
    detail = client.get(reverse("console:version-detail", args=[world.draft.pk]))
    steps = [s.action for s in detail.context["history"]]
    assert steps[-1] == "send_back"
    assert "差し戻し" in detail.content.decode()


def test_an_empty_comment_is_refused_beside_the_field(client, world, publisher) -> None:
    client.force_login(publisher)
    response = client.post(
        reverse("console:version-detail", args=[world.draft.pk]), {"comment": "   "}
    )
    assert response.status_code == 400
    assert "comment" in response.context["send_back_form"].errors
    with pytest.raises(ValidationFailed):
        version_send_back(scope=Scope.staff(publisher), version=world.draft, comment=" ")


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_only_publishers_send_back(client, world, role, request) -> None:
    user = request.getfixturevalue(role)
    client.force_login(user)
    response = client.post(
        reverse("console:version-detail", args=[world.draft.pk]), {"comment": "直してください"}
    )
    assert response.status_code == 403
    with pytest.raises(PermissionDenied):
        version_send_back(scope=Scope.staff(user), version=world.draft, comment="直してください")
    assert version_review_history(world.draft) == []


def test_history_lists_the_steps_and_scheduling_closes_the_send_back(
    world, editor, publisher
) -> None:
    version = post_revision(
        document=world.document, editor=editor, publisher=publisher, today=clock.today()
    )
    steps = version_review_history(version)
    assert [s.action for s in steps] == ["create", "schedule"]
    assert steps[-1].by == publisher.username
    assert open_send_back(steps) is None


def test_a_scheduled_version_cannot_be_sent_back(world, editor, publisher) -> None:
    version = post_revision(
        document=world.document, editor=editor, publisher=publisher, today=clock.today()
    )
    with pytest.raises(Conflict):
        version_send_back(scope=Scope.staff(publisher), version=version, comment="遅い")


def test_history_lists_the_creation_once_when_articles_are_added(
    client, world, editor, viewer
) -> None:
    """Adding an article updates the draft: the approval history says 作成 once, also for
    rows written before (an article's addition was audited as a `create` on the version)."""
    draft = version_draft_create(scope=Scope.staff(editor), document=world.document, label="r-2")
    article_upsert(
        scope=Scope.staff(editor), version=draft, number=9, title="新しい条", body="新しい条文。"
    )
    assert [s.action for s in version_review_history(draft)] == ["create"]
    audit_add(actor=editor, action=AuditAction.CREATE, obj=draft, summary="added article 10")
    assert [s.action for s in version_review_history(draft)] == ["create"]
    client.force_login(viewer)
    page = client.get(reverse("console:version-detail", args=[draft.pk])).content.decode()
    history = page[page.index('data-testid="approval-history"') :].split("</section>")[0]
    assert history.count("<li>") == 1
    assert "作成" in history
