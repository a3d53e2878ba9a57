"""Audit actions are shown to staff by their label in the page's language (AuditAction,
context "audit action"), never by their stored code (`update`, `send_back`, …)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from agreements.services.version_review import version_send_back
from agreements.services.versions import version_draft_update
from core.enums import AuditAction
from core.models import AuditEntry
from tenants.scope import Scope

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

BADGE = re.compile(r'<span class="badge" data-action="([a-z_]+)">([^<]*)</span>')


@pytest.fixture
def audited(world, editor, publisher):
    version_draft_update(scope=Scope.staff(editor), version=world.draft, title="新しい題名")
    version_send_back(scope=Scope.staff(publisher), version=world.draft, comment="第1条を確認")
    return world.draft


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("ja", {"update": "更新", "send_back": "差し戻し"}),
        ("en", {"update": "Updated", "send_back": "Sent back"}),
    ],
)
def test_audit_actions_are_labelled_in_the_page_language(
    client, viewer, audited, language, expected
) -> None:
    client.force_login(viewer)
    for url in (
        reverse("console:version-detail", args=[audited.pk]),
        reverse("console:audit-list") + f"?type=agreements.termsversion&id={audited.pk}",
    ):
        html = client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()
        badges = dict(BADGE.findall(html))
        assert {code: badges.get(code) for code in expected} == expected, url


def test_every_audit_action_has_a_label_in_both_languages() -> None:
    from django.utils import translation

    for action in AuditAction:
        with translation.override("ja"):
            ja = AuditEntry(action=action.value).action_label
        with translation.override("en"):
            en = AuditEntry(action=action.value).action_label
        assert ja != action.value
        assert en != action.value
        assert ja != en
