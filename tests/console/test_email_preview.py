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


def _review(client, draft, *, lead_days: int, **fields: str):
    """The schedule form's first step (the review), notice today, effective `lead_days` later."""
    today = clock.today()
    return client.post(
        reverse("console:version-schedule", args=[draft.pk]),
        {
            "notice_on": today.isoformat(),
            "effective_on": (today + timedelta(days=lead_days)).isoformat(),
            "consent_mode": "deemed",
            "legal_basis": "general_interest",
            "rationale": "適用範囲の明確化",
            **fields,
        },
    )


def test_confirmation_shows_the_notice_email(client, world, publisher) -> None:
    client.force_login(publisher)
    effective = clock.today() + timedelta(days=10)
    outbox_before = Outbox.objects.count()
    response = _review(client, world.draft, lead_days=10)
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


def test_r2_the_review_step_refuses_what_the_final_step_would_all_at_once(
    client, world, publisher
) -> None:
    """The review ran no checks: an effective date 3 days after the notice (type (i): 7 days'
    lead, R2) reached 「次の内容で予定登録します」 with the e-mail preview, and only the final
    submit refused. The review runs the final step's checks and shows every refusal."""
    client.force_login(publisher)
    # explicit_consent needs the explicit mode: a second refusal.
    response = _review(client, world.draft, lead_days=3, legal_basis="explicit_consent")
    assert response.status_code == 400
    body = response.content.decode()
    assert 'data-testid="schedule-confirmation"' not in body
    assert 'data-testid="email-preview"' not in body
    assert response.context["email_preview"] == []
    errors = response.context["form"].errors
    assert "効力発生日は掲示日から7日以上後" in " ".join(errors["effective_on"])
    assert "「明示の同意」方式でのみ予定登録できます" in " ".join(errors["consent_mode"])
    world.draft.refresh_from_db()
    assert world.draft.status == VersionStatus.DRAFT


def test_r2_the_review_accepts_the_minimum_lead_time(client, world, publisher) -> None:
    client.force_login(publisher)
    response = _review(client, world.draft, lead_days=7)
    assert response.status_code == 200
    assert 'data-testid="schedule-confirmation"' in response.content.decode()
