"""The console's schedule page sets a version's gating policy (R4): off by default; when a
publisher turns it on, the rationale and the grace period are required and the confirmation
states what it does."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from agreements.enums import VersionStatus
from core import clock

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

RATIONALE = "個別契約第5条により、改定に同意のないお客様への提供を停止できる。"


def _data(**changes: str) -> dict[str, str]:
    today = clock.today()
    data = {
        "notice_on": today.isoformat(),
        "effective_on": (today + timedelta(days=40)).isoformat(),
        "consent_mode": "explicit",
        "legal_basis": "explicit_consent",
        "rationale": "個別の同意を得るため",
    }
    data.update(changes)
    return data


def test_schedule_page_r4_gating_policy_off_by_default(client, world, publisher) -> None:
    client.force_login(publisher)
    url = reverse("console:version-schedule", args=[world.draft.pk])
    page = client.get(url)
    assert 'name="gating_enabled"' in page.content.decode()
    confirm = client.post(url, _data())
    assert confirm.status_code == 200
    assert "回答がないことを理由に利用は制限されません" in confirm.content.decode()
    reviewed = confirm.context["body_hash"]
    assert client.post(url, {**_data(), "body_hash": reviewed, "confirm": "1"}).status_code == 302
    world.draft.refresh_from_db()
    assert (world.draft.status, world.draft.gating_enabled) == (VersionStatus.SCHEDULED, False)


def test_schedule_page_r4_gating_policy_with_rationale_and_grace(client, world, publisher) -> None:
    client.force_login(publisher)
    url = reverse("console:version-schedule", args=[world.draft.pk])
    gated = _data(gating_enabled="on", gating_grace_days="14", gating_rationale=RATIONALE)
    confirm = client.post(url, gated)
    body = confirm.content.decode()
    assert 'data-testid="gating-policy"' in body
    assert "効力発生日から14日の猶予期間の経過後" in body
    # The confirmation carries the policy through its hidden fields.
    reviewed = confirm.context["body_hash"]
    done = client.post(
        url, {**gated, "gating_enabled": "True", "body_hash": reviewed, "confirm": "1"}
    )
    assert done.status_code == 302
    world.draft.refresh_from_db()
    assert (
        world.draft.gating_enabled,
        world.draft.gating_grace_days,
        world.draft.gating_rationale,
    ) == (True, 14, RATIONALE)


def test_schedule_page_r4_gating_policy_refusals_sit_beside_their_fields(
    client, world, publisher
) -> None:
    client.force_login(publisher)
    url = reverse("console:version-schedule", args=[world.draft.pk])
    missing = client.post(url, _data(gating_enabled="on"))
    assert missing.status_code == 400
    errors = missing.context["form"].errors
    assert {"gating_grace_days", "gating_rationale"} <= set(errors)
    deemed = client.post(
        url,
        {
            **_data(
                consent_mode="deemed",
                legal_basis="reasonable",
                gating_enabled="on",
                gating_grace_days="14",
                gating_rationale=RATIONALE,
            ),
            "confirm": "1",
        },
    )
    assert deemed.status_code == 400
    assert "gating_enabled" in deemed.context["form"].errors
    world.draft.refresh_from_db()
    assert world.draft.status == VersionStatus.DRAFT
