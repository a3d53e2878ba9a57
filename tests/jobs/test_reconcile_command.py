"""`manage.py reconcile` keeps customers' e-mail addresses out of its output unless asked."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from core import clock
from core.models import Outbox
from tenants.notify import dedupe_key

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

ADDRESS = "taro.yamada@customer.example"


@pytest.fixture
def dead_letter() -> Outbox:
    return Outbox.objects.create(
        kind="notice.posted",
        channel="email",
        dedupe_key=dedupe_key("notice.posted", "version:7", 42, f"email:{ADDRESS}"),
        tenant_id=42,
        recipient=ADDRESS,
        status="dead",
        next_attempt_at=clock.now(),
    )


def _reconcile(*args: str) -> str:
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("reconcile", *args, stdout=out, stderr=io.StringIO())
    assert exit_.value.code == 1  # the dead letter is a finding
    return out.getvalue()


def test_reconcile_masks_email_addresses_by_default(dead_letter) -> None:
    text = _reconcile()
    (line,) = [line for line in text.splitlines() if "outbox_dead_letters" in line]
    assert ADDRESS not in text
    assert "customer.example" not in text
    # The rest of the key stays, so the row can still be found.
    assert dead_letter.dedupe_key.replace(ADDRESS, "[redacted]") in line


def test_reconcile_json_masks_email_addresses_by_default(dead_letter) -> None:
    report = json.loads(_reconcile("--json"))
    (finding,) = [f for f in report["findings"] if f["name"] == "outbox_dead_letters"]
    assert finding["count"] == 1
    assert finding["examples"] == [dead_letter.dedupe_key.replace(ADDRESS, "[redacted]")]


def test_reconcile_shows_email_addresses_when_asked(dead_letter) -> None:
    text = _reconcile("--show-personal-data")
    assert f"e.g. {dead_letter.dedupe_key}" in text
    report = json.loads(_reconcile("--json", "--show-personal-data"))
    (finding,) = [f for f in report["findings"] if f["name"] == "outbox_dead_letters"]
    assert finding["examples"] == [dead_letter.dedupe_key]
