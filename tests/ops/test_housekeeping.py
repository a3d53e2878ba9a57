"""Hourly housekeeping: expired Idempotency-Key records go, stale invitations expire."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings

from core import clock
from core.models import IdempotencyRecord
from tenants.enums import InvitationStatus
from tenants.models import Invitation
from terms_site.tasks import housekeeping
from tests.factories.tenants import TenantFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _record(key: str, expires_in: timedelta) -> IdempotencyRecord:
    return IdempotencyRecord.objects.create(
        owner="partner:1",
        key=key,
        method="POST",
        path="/api/v1/x/",
        body_hash="0" * 64,
        expires_at=clock.now() + expires_in,
    )


def test_housekeeping_purges_expired_keys_and_expires_old_invitations() -> None:
    _record("old", timedelta(seconds=-1))
    _record("fresh", timedelta(hours=1))
    tenant = TenantFactory()
    stale = Invitation.objects.create(
        tenant=tenant,
        email="a@x.example",
        token_hash="a" * 64,
        expires_at=clock.now() - timedelta(minutes=1),
    )
    live = Invitation.objects.create(
        tenant=tenant,
        email="b@x.example",
        token_hash="b" * 64,
        expires_at=clock.now() + timedelta(days=1),
    )
    assert housekeeping() == {"idempotency_purged": 1, "invitations_expired": 1}
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["fresh"]
    stale.refresh_from_db()
    live.refresh_from_db()
    assert (stale.status, live.status) == (InvitationStatus.EXPIRED, InvitationStatus.PENDING)
    assert housekeeping() == {"idempotency_purged": 0, "invitations_expired": 0}  # idempotent


def test_housekeeping_is_on_the_beat_schedule() -> None:
    assert settings.CELERY_BEAT_SCHEDULE["housekeeping"]["task"] == "ops.housekeeping"
