"""Before scheduling, the publisher reads the notice e-mail customers will receive, with the
dates typed in the form, in Japanese and English; nothing is written."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from agreements.enums import VersionStatus
from core import clock
from core.models import Outbox

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_confirmation_shows_the_notice_email(client, world, publisher) -> None:
    client.force_login(publisher)
    today = clock.today()
    effective = today + timedelta(days=10)
    outbox_before = Outbox.objects.count()
    response = client.post(
        reverse("console:version-schedule", args=[world.draft.pk]),
        {
            "notice_on": today.isoformat(),
            "effective_on": effective.isoformat(),
            "consent_mode": "deemed",
            "legal_basis": "general_interest",
            "rationale": "適用範囲の明確化",
        },
    )
    assert response.status_code == 200
    previews = response.context["email_preview"]
    assert [p.locale for p in previews] == ["ja", "en"]
    ja = previews[0]
    assert world.document.title in ja.subject
    assert f"{effective.year}年{effective.month}月{effective.day}日" in ja.body
    assert "（お客様の名称）" in ja.body
    body = response.content.decode()
    assert 'data-testid="email-preview"' in body
    assert Outbox.objects.count() == outbox_before  # a preview sends nothing
    world.draft.refresh_from_db()
    assert world.draft.status == VersionStatus.DRAFT
    assert world.draft.effective_on is None  # the copy, not the draft, carried the dates


def test_no_preview_before_the_form_is_filled(client, world, publisher) -> None:
    client.force_login(publisher)
    response = client.get(reverse("console:version-schedule", args=[world.draft.pk]))
    assert response.context["email_preview"] == []
