"""A partner API key is shown once at issue, never again, and stops working when revoked."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tenants.auth import partner_key_authenticate
from tests.console.conftest import make_staff
from tests.factories.tenants import PartnerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_key_issued_once_then_revoked(page, live_server, login, shot) -> None:
    partner = PartnerFactory(name="キー確認パートナー株式会社")
    login(make_staff("publisher"))
    page.goto(f"{live_server.url}/console/partners/{partner.pk}/")
    page.fill("#id_name", "本番連携")
    page.get_by_role("button", name="発行").click()
    issued = page.get_by_test_id("issued-key")
    expect(issued).to_be_visible()
    key = issued.inner_text().strip()
    assert key.startswith("tpk_")
    assert partner_key_authenticate(key) is not None
    shot("console-key-issued")

    # Shown once: the partner's page no longer contains it.
    page.goto(f"{live_server.url}/console/partners/{partner.pk}/")
    expect(page.get_by_test_id("issued-key")).to_have_count(0)
    assert key not in page.content()
    prefix = key.split("_")[1]
    row = page.locator(f"[data-testid=key-table] tr[data-prefix='{prefix}']")
    expect(row).to_contain_text("有効")

    row.get_by_role("button", name=f"{prefix}… を失効").click()
    expect(page.get_by_text(f"キー {prefix}… を失効させました。")).to_be_visible()
    expect(row).to_contain_text("失効")
    assert partner_key_authenticate(key) is None
    shot("console-key-revoked")
