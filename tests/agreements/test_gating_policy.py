"""The gating policy of a version (R4): off by default; a publisher sets it when scheduling
an explicit-consent revision, with a legal rationale and a grace period; the schedule's audit
row records it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from agreements.enums import ConsentMode, LegalBasis
from agreements.services.version_articles import article_upsert
from agreements.services.version_drafts import version_draft_create
from agreements.services.versions.schedule import version_schedule
from core import clock
from core.enums import AuditAction
from core.errors import ValidationFailed
from core.models import AuditEntry
from tenants.scope import Scope
from tests.agreements.version_fixtures import *  # noqa: F403 -- fixtures
from tests.factories.agreements import VersionFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

TODAY = date(2025, 3, 3)
# Far enough for any minimum lead time a legal basis may carry (R2).
EFFECTIVE_ON = TODAY + timedelta(days=40)
RATIONALE = "個別契約第5条により、改定に同意のないお客様への提供を停止できる。"


@pytest.fixture(autouse=True)
def _today():
    with clock.frozen_at(TODAY):
        yield


@pytest.fixture
def draft(catalog, editor):
    document = catalog.biz_terms
    VersionFactory(
        document=document,
        label="2024-11-22",
        effective_on=date(2024, 11, 22),
        articles=[("本規約について", "本規約は本製品に適用されます。")],
    )
    version = version_draft_create(scope=Scope.staff(editor), document=document, label="2025-04")
    article_upsert(
        scope=Scope.staff(editor), version=version, number=2, title="同意", body="1. 新しい条項。"
    )
    return version


def _schedule(version, user, **overrides):
    values = {
        "notice_on": TODAY,
        "effective_on": EFFECTIVE_ON,
        "consent_mode": ConsentMode.EXPLICIT,
        "legal_basis": LegalBasis.EXPLICIT_CONSENT,
        "rationale": "新しい条項への個別の同意を得るため。",
    }
    values.update(overrides)
    return version_schedule(scope=Scope.staff(user), version=version, **values)


def test_version_schedule_r4_gating_policy_is_off_by_default(draft, publisher) -> None:
    version = _schedule(draft, publisher)
    assert (version.gating_enabled, version.gating_rationale, version.gating_grace_days) == (
        False,
        "",
        None,
    )
    entry = AuditEntry.objects.get(action=AuditAction.SCHEDULE, object_id=version.pk)
    assert entry.data["gating"] == {"enabled": False, "rationale": "", "grace_days": None}


def test_version_schedule_r4_publisher_sets_gating_with_rationale_and_grace_audited(
    draft, publisher
) -> None:
    version = _schedule(
        draft,
        publisher,
        gating_enabled=True,
        gating_rationale=f"  {RATIONALE}  ",
        gating_grace_days=14,
    )
    version.refresh_from_db()
    assert (version.gating_enabled, version.gating_rationale, version.gating_grace_days) == (
        True,
        RATIONALE,
        14,
    )
    entry = AuditEntry.objects.get(action=AuditAction.SCHEDULE, object_id=version.pk)
    assert entry.data["gating"] == {"enabled": True, "rationale": RATIONALE, "grace_days": 14}
    assert "gating after 14 days' grace" in entry.summary


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"gating_rationale": "  ", "gating_grace_days": 14}, "gating_rationale_required"),
        ({"gating_rationale": RATIONALE, "gating_grace_days": None}, "gating_grace_required"),
        ({"gating_rationale": RATIONALE, "gating_grace_days": 0}, "gating_grace_required"),
        (
            {
                "gating_rationale": RATIONALE,
                "gating_grace_days": 14,
                "consent_mode": ConsentMode.DEEMED,
                "legal_basis": LegalBasis.REASONABLE,
            },
            "gating_needs_explicit",
        ),
    ],
)
def test_version_schedule_r4_gating_needs_rationale_grace_and_explicit_mode(
    draft, publisher, overrides, code
) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        _schedule(draft, publisher, gating_enabled=True, **overrides)
    assert excinfo.value.code == code
    draft.refresh_from_db()
    assert draft.gating_enabled is False


def test_version_schedule_r4_gating_off_drops_stray_values(draft, publisher) -> None:
    version = _schedule(draft, publisher, gating_rationale=RATIONALE, gating_grace_days=5)
    assert (version.gating_enabled, version.gating_rationale, version.gating_grace_days) == (
        False,
        "",
        None,
    )
