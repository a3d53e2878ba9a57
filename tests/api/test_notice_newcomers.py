"""A tenant that contracts after a revision's notice was posted, before the revision takes
effect, is bound by it on its effective date and owes it an answer (R4): it is told as the
tenants bound at the posting were — a `notice.posted` event for its partner (feed and webhook)
and the notice e-mail — once; a contract that starts on or after the effective date agrees to
the new version by contracting and is told nothing (docs/api.md, "The consent flow")."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from core import clock
from core.enums import EventKind, OutboxChannel
from core.models import Event, Outbox
from tests.api.conftest import World, key_client, open_sandbox

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_a_tenant_contracting_after_the_notice_is_told_of_the_revision_r3_r4(world: World) -> None:
    sandbox_row, raw, _products = open_sandbox(world)
    client = key_client(raw)
    today = clock.business_date(sandbox_row.sandbox_now)

    def tenant(name: str) -> int:
        made = client.post(
            "/api/v1/tenants/",
            {"name": name, "contact_email": f"it@{len(name)}.example"},
            format="json",
        )
        assert made.status_code == 201, made.content
        return int(made.json()["id"])

    def contract(tenant_id: int, start: date) -> Any:
        made = client.post(
            "/api/v1/contracts/",
            {
                "tenant": tenant_id,
                "product": "optim-id-plus",
                "start_date": start.isoformat(),
                "billing_cycle": "annual",
                "amount_jpy": 120000,
            },
            format="json",
        )
        assert made.status_code == 201, made.content
        return made.json()

    early = tenant("先行商事")
    contract(early, today)
    effective_on = today + timedelta(days=40)
    revision = client.post(
        "/api/v1/sandbox/revisions/",
        {
            "product": "optim-id-plus",
            "effective_on": effective_on.isoformat(),
            "consent_mode": "explicit",
        },
        format="json",
    )
    assert revision.status_code == 201, revision.content
    version = revision.json()["version"]

    def notices(tenant_id: int) -> list[dict[str, Any]]:
        feed = client.get("/api/v1/events/", {"tenant": tenant_id, "kind": "notice.posted"})
        assert feed.status_code == 200, feed.content
        return feed.json()["results"]

    assert [e["data"]["version_id"] for e in notices(early)] == [version]

    # Contracts after the posting, before the effective date: told, as the early one was.
    late = tenant("後発商事")
    contract(late, today)
    [told] = notices(late)
    [early_told] = notices(early)
    assert told["data"]["version_id"] == version
    assert told["data"]["effective_on"] == effective_on.isoformat()
    tenant_members = ("tenant_id", "tenant_name")
    assert {k: v for k, v in told["data"].items() if k not in tenant_members} == {
        k: v for k, v in early_told["data"].items() if k not in tenant_members
    }
    # The customer gets the notice e-mail (R3: the notice must reach it), as the early one did.
    emails = Outbox.objects.filter(kind=EventKind.NOTICE_POSTED, channel=OutboxChannel.EMAIL)
    assert emails.filter(tenant_id=late).count() == emails.filter(tenant_id=early).count() == 1
    # It owes the revision an answer, like the early one.
    status = client.get(f"/api/v1/tenants/{late}/consents/").json()
    pending = [row for row in status if row.get("pending_version_status") is not None]
    assert pending, status
    assert pending[0]["pending_version_status"] == "no_answer", status
    assert pending[0]["owed"] is True

    # A second contract of the same tenant tells it nothing new.
    contract(late, today + timedelta(days=5))
    assert len(notices(late)) == 1

    # A contract that starts after the effective date agrees to the new version by contracting
    # (one that starts on it is in force on that date, and owes an answer: rules.answer_owed).
    after = tenant("後日商事")
    contract(after, effective_on + timedelta(days=1))
    assert notices(after) == []
    assert Event.objects.filter(kind=EventKind.NOTICE_POSTED, tenant_id=after).count() == 0
