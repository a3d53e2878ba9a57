"""`reconcile` describes live data only (docs/api.md, "Sandbox"): a sandbox's messages are due
by its own clock, so in real time they would read as overdue, dead or interrupted."""

from __future__ import annotations

from datetime import timedelta

import pytest

from agreements.jobs.reconcile import reconcile
from core import clock
from core.models import Delivery, Outbox
from tests.factories.tenants import PartnerFactory, TenantFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _message(key: str, *, status: str, tenant_id: int, partner_id: int | None) -> Outbox:
    return Outbox.objects.create(
        kind="notice.posted",
        channel="webhook" if partner_id else "email",
        dedupe_key=key,
        tenant_id=tenant_id,
        partner_id=partner_id,
        recipient="https://partner.example/hooks",
        status=status,
        next_attempt_at=clock.now() - timedelta(days=2),
    )


def test_reconcile_counts_no_sandbox_messages_or_delivery_attempts() -> None:
    live = PartnerFactory()
    sandbox = PartnerFactory(sandbox_of=live)
    live_tenant = TenantFactory(partner=live)
    sandbox_tenant = TenantFactory(partner=sandbox)
    long_ago = clock.now() - timedelta(days=1)
    for owner, tenant in (("live", live_tenant), ("sandbox", sandbox_tenant)):
        for partner_id in (tenant.partner_id, None):  # a webhook and a customer's e-mail
            who = "partner" if partner_id else "customer"
            _message(
                f"{owner}:{who}:dead", status="dead", tenant_id=tenant.pk, partner_id=partner_id
            )
            _message(
                f"{owner}:{who}:pending",
                status="pending",
                tenant_id=tenant.pk,
                partner_id=partner_id,
            )
            sent = _message(
                f"{owner}:{who}:sent", status="sent", tenant_id=tenant.pk, partner_id=partner_id
            )
            Delivery.objects.create(outbox=sent, attempt=1, attempted_at=long_ago)
            Delivery.objects.create(outbox=sent, attempt=2, attempted_at=long_ago, succeeded=True)
            failed = _message(
                f"{owner}:{who}:failed", status="failed", tenant_id=tenant.pk, partner_id=partner_id
            )
            Delivery.objects.create(outbox=failed, attempt=1, attempted_at=long_ago)

    findings = {f.name: f for f in reconcile()}

    for name in ("outbox_dead_letters", "outbox_overdue", "attempts_unreported_unsent"):
        examples = findings[name].examples
        assert examples, name
        assert all(e.startswith("live:") for e in examples), (name, examples)
    assert findings["outbox_dead_letters"].count == 2
    assert findings["outbox_overdue"].count == 4  # pending and failed, live only
    assert findings["attempts_unreported_unsent"].count == 2
    assert findings["possible_raw_resends"].count == 2
