"""The messages to people run in a sandbox too (docs/api.md, "Sandbox"): consent reminders,
renewal notices and the staff's deletion reminders, through the live services, once per slot,
with their events and webhooks as in production; the e-mails are logged, never sent."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest
from django.core import mail

from core import clock
from core.enums import EventKind, OutboxChannel, OutboxStatus
from core.models import Event, Outbox, PlannedAction
from tenants.delivery import destinations
from tests.api.conftest import World, key_client, open_sandbox

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _to(day: date) -> dict[str, str]:
    return {"to": f"{day.isoformat()}T09:00:00+09:00"}


def test_reminders_renewal_notices_and_staff_reminders_run_on_the_sandbox_clock(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No packet leaves the machine: the sandbox's receiver never resolves (a failed attempt).
    monkeypatch.setattr(destinations, "resolve", lambda host, port: [])
    sandbox_row, raw, _products = open_sandbox(world)
    client = key_client(raw)
    today = clock.business_date(sandbox_row.sandbox_now)
    planned_before = PlannedAction.objects.count()
    hook = client.post("/api/v1/webhooks/", {"url": "https://sandbox.example/hooks"}, format="json")
    assert hook.status_code == 201, hook.content

    def tenant_with_contract(name: str, email: str) -> tuple[int, int]:
        tenant = client.post(
            "/api/v1/tenants/", {"name": name, "contact_email": email}, format="json"
        ).json()
        contract = client.post(
            "/api/v1/contracts/",
            {
                "tenant": tenant["id"],
                "product": "optim-id-plus",
                "start_date": today.isoformat(),
                "billing_cycle": "annual",
                "amount_jpy": 120000,
            },
            format="json",
        ).json()
        return tenant["id"], contract["id"]

    renewing, renewing_contract = tenant_with_contract("更新商事", "it@renewing.example")
    leaving, leaving_contract = tenant_with_contract("退会商事", "it@leaving.example")
    # The leaver gives notice for today + 26 and asks for its data to be deleted (due the day
    # after the end): staff are reminded 7 days before.
    end = today + timedelta(days=26)
    notice = client.post(
        f"/api/v1/contracts/{leaving_contract}/terminations/",
        {"end_date": end.isoformat()},
        format="json",
    )
    assert notice.status_code == 201, notice.content
    deletion = client.post(f"/api/v1/contracts/{leaving_contract}/deletions/")
    assert deletion.status_code == 201, deletion.content
    # A revision put to explicit consent, effective in 10 days: the renewing tenant accepts,
    # the leaver stays silent.
    effective_on = today + timedelta(days=10)
    revision = client.post(
        "/api/v1/sandbox/revisions/",
        {
            "product": "optim-id-plus",
            "effective_on": effective_on.isoformat(),
            "consent_mode": "explicit",
        },
        format="json",
    ).json()
    answer = client.post(
        f"/api/v1/tenants/{renewing}/consents/",
        {
            "version": revision["version"],
            "answer": "accepted",
            "evidence": {
                "person_name": "山田 太郎",
                "obtained_at": clock.api_instant(sandbox_row.sandbox_now),
                "method": "書面",
            },
        },
        format="json",
    )
    assert answer.status_code == 201, answer.content
    deadline = date.fromisoformat(
        client.get(f"/api/v1/contracts/{renewing_contract}/").json()["facts"][
            "non_renewal_deadline"
        ]
    )

    # In two advances: the slots already told are not told again by the second.
    for stop in (today + timedelta(days=20), deadline + timedelta(days=1)):
        moved = client.post("/api/v1/sandbox/clock/advance/", _to(stop), format="json")
        assert moved.status_code == 200, moved.content

    events = Event.objects.filter(partner_id=sandbox_row.pk)

    def slots(kind: str, tenant_id: int, member: str) -> list[Any]:
        rows = events.filter(kind=kind, tenant_id=tenant_id)
        return sorted(e.payload[member] for e in rows)

    # No weekly reminders after the effective date: without a gating policy the last day to
    # answer was the day before it (docs/jobs.md).
    assert slots(EventKind.CONSENT_REMINDER, leaving, "reminder") == ["before1", "before7"]
    assert slots(EventKind.CONSENT_OUTSTANDING, leaving, "reminder") == ["outstanding"]
    assert not events.filter(
        kind__in=[EventKind.CONSENT_REMINDER, EventKind.CONSENT_OUTSTANDING], tenant_id=renewing
    ).exists()
    assert slots(EventKind.RENEWAL_NOTICE, renewing, "slot") == ["d14", "d60"]
    keys = Counter(e.payload["notice_key"] for e in events.filter(payload__has_key="notice_key"))
    assert [key for key, n in keys.items() if n > 1] == []
    # Their webhooks were queued for the sandbox's endpoint, as in production.
    hooked = Outbox.objects.filter(
        partner_id=sandbox_row.pk,
        channel=OutboxChannel.WEBHOOK,
        webhook_endpoint_id=hook.json()["id"],
    )
    assert {
        EventKind.CONSENT_REMINDER,
        EventKind.CONSENT_OUTSTANDING,
        EventKind.RENEWAL_NOTICE,
    } <= set(hooked.values_list("kind", flat=True))
    # The staff's deletion reminder: queued for the sandbox, logged, never mailed.
    (staff,) = Outbox.objects.filter(kind=EventKind.DELETION_REMINDER)
    assert (staff.partner_id, staff.status) == (sandbox_row.pk, OutboxStatus.LOGGED)
    assert staff.created_at == clock.start_of_day(end + timedelta(days=1) - timedelta(days=7)) + (
        timedelta(hours=9)
    )
    # Every e-mail about the sandbox's tenants was logged; nobody was mailed.
    emails = Outbox.objects.filter(partner_id=sandbox_row.pk, channel=OutboxChannel.EMAIL)
    assert emails.filter(kind=EventKind.CONSENT_REMINDER).exists()
    assert set(emails.values_list("status", flat=True)) == {OutboxStatus.LOGGED}
    assert [
        m for m in mail.outbox if {"it@renewing.example", "it@leaving.example"} & set(m.to)
    ] == []
    # No planned action: a sandbox's effects stay out of the live jobs' records.
    assert PlannedAction.objects.count() == planned_before
