"""The audit tables read each row to staff in the page's language, from its action and data
(dates in the one style), and keep the recorded English summary one click away."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.urls import reverse

from agreements.services.version_articles import article_upsert
from agreements.services.versions import version_draft_update
from core.enums import AuditAction
from core.services import audit_add
from tenants.enums import Role
from tenants.scope import Scope
from tenants.services.reminder_prefs import tenant_reminders_set
from tests.factories.tenants import MembershipFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def rows(world, editor, publisher):
    version_draft_update(
        scope=Scope.staff(editor), version=world.draft, effective_on=date(2099, 3, 1)
    )
    audit_add(
        actor=publisher,
        action=AuditAction.TERMINATE,
        obj=world.contract,
        summary="non_payment: end 2026-11-27",
        data={"reason": "non_payment", "end_date": "2026-11-27"},
    )
    audit_add(
        actor=publisher,
        action=AuditAction.REMIND,
        obj=world.current,
        summary=f"reminded 1 tenants of {world.current.label}",
        data={"sent": 1, "skipped_recent": 0, "tenant_ids": [world.tenant.pk]},
    )
    audit_add(
        actor=publisher,
        action=AuditAction.WITHDRAW,
        obj=world.current,
        summary=f"withdrew {world.current.label}",
        data={"reason": "誤記があったため", "notified": 3},
    )
    return world


def test_audit_list_reads_each_row_in_japanese_and_keeps_the_recorded_text(
    client, viewer, rows
) -> None:
    client.force_login(viewer)
    page = client.get(reverse("console:audit-list")).content.decode()
    assert "解約: 利用料金を支払わないとき（終了日 2026年11月27日（金））" in page
    assert "1社に回答をお願いする再通知を送りました。" in page
    assert "撤回しました。理由: 誤記があったため" in page
    assert "改定案の項目を変更しました: 効力発生日" in page
    # The recorded text stays available, marked as recorded and as English.
    assert '<code lang="en">non_payment: end 2026-11-27</code>' in page
    assert "概要（記録のまま）" not in page
    assert '<td class="audit-summary" lang="en">' not in page


def test_audit_list_reads_each_row_in_english(client, viewer, rows) -> None:
    client.force_login(viewer)
    page = client.get(reverse("console:audit-list"), HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert "Terminated: The fees are not paid (ends Fri, 27 Nov 2026)" in html
    assert "Sent a reminder to 1 tenant." in html
    assert "Withdrawn. Reason: 誤記があったため" in html
    assert "Changed the draft: Effective date" in html


def test_contract_page_audit_trail_is_read_too(client, viewer, rows) -> None:
    client.force_login(viewer)
    page = client.get(reverse("console:contract-detail", args=[rows.contract.pk]))
    assert "解約: 利用料金を支払わないとき（終了日 2026年11月27日（金））" in page.content.decode()


def test_a_row_without_a_reading_shows_the_recorded_text(client, viewer, world, editor) -> None:
    audit_add(actor=editor, action=AuditAction.UPDATE, obj=world.tenant, summary="name, notes")
    client.force_login(viewer)
    page = client.get(reverse("console:audit-list")).content.decode()
    assert '<span lang="en" data-testid="audit-recorded">name, notes</span>' in page


def test_audit_reads_the_portal_reminder_setting_as_a_sentence(client, viewer, world) -> None:
    admin = Scope.tenant_user(MembershipFactory(tenant=world.tenant, role=Role.ADMIN))
    tenant_reminders_set(scope=admin, tenant=world.tenant, receive=False)
    client.force_login(viewer)
    page = client.get(reverse("console:audit-list")).content.decode()
    assert "同意のリマインドを受け取らない設定にしました。" in page
    tenant_reminders_set(scope=admin, tenant=world.tenant, receive=True)
    english = client.get(reverse("console:audit-list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Consent reminders are now turned on." in english
    assert "Consent reminders are now turned off." in english


def test_audit_reads_article_edits_without_internal_field_names(
    client, viewer, world, editor
) -> None:
    article_upsert(
        scope=Scope.staff(editor), version=world.draft, number=30, title="準拠法", body="日本法"
    )
    client.force_login(viewer)
    page = client.get(reverse("console:audit-list")).content.decode()
    read = re.findall(r'data-testid="audit-text">([^<]*)</span>', page)
    assert "第30条（準拠法）を追加しました。" in read
    for internal in ("added", "article", "改定案の項目を変更しました"):
        assert not [text for text in read if internal in text], internal


def test_audit_does_not_call_a_version_in_force_the_draft(client, viewer, world) -> None:
    audit_add(
        actor=None,
        action=AuditAction.UPDATE,
        obj=world.current,
        summary=f"effective {world.current.label} on 2026-12-17",
        data={"superseded": True},
    )
    audit_add(
        actor=None,
        action=AuditAction.UPDATE,
        obj=world.current,
        summary=f"consents of {world.current.label} settled on 2026-12-17",
        data={"consents": {"deemed": 4, "outstanding": 0, "unnotified": 1, "batches": 1}},
    )
    client.force_login(viewer)
    page = client.get(reverse("console:audit-list")).content.decode()
    assert "効力を生じました。それまでの版は効力を失いました。" in page
    assert "みなし同意 4件、未回答 0件、未通知 1件" in page
    assert "改定案" not in page
    english = client.get(reverse("console:audit-list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Changed the draft" not in english
    assert "Took effect; the previous version ceased to be in force." in english
