"""The dashboard's 今後の予定 panel follows the filter above it: revisions by product,
renewals and deletions by product and sales channel; delivery errors, which belong to no
product, are said to be unfiltered."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from agreements.catalog import catalog_ensure
from agreements.enums import VersionStatus
from core import clock
from tests.factories.agreements import ContractFactory, VersionFactory
from tests.factories.tenants import PartnerFactory, TenantFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def both_products(db):
    """A revision taking effect soon and an auto-renewing contract ending this month, for
    each product; the ID+ tenant is sold through a partner, the Biz one directly."""
    catalog = catalog_ensure()
    today = clock.today()
    month_start = today.replace(day=1)
    for document, label, tenant in (
        (catalog.biz_terms, "Biz改定予定", TenantFactory(name="直販の甲社", partner=None)),
        (
            catalog.id_plus_terms,
            "IDプラス改定予定",
            TenantFactory(name="代理店経由の乙社", partner=PartnerFactory(name="代理店A")),
        ),
    ):
        VersionFactory(
            document=document,
            label=label,
            status=VersionStatus.SCHEDULED,
            notice_on=today,
            effective_on=today + timedelta(days=10),
        )
        ContractFactory(
            tenant=tenant,
            product=document.product,
            start_date=month_start,
            term_months=1,
            auto_renew=True,
            notice_months=1,
        )
    return catalog


def test_upcoming_panel_follows_the_product_filter(client, viewer, both_products) -> None:
    client.force_login(viewer)
    everything = client.get(reverse("console:dashboard")).content.decode()
    assert "Biz改定予定" in everything
    assert "IDプラス改定予定" in everything
    assert "直販の甲社" in everything
    assert "代理店経由の乙社" in everything
    assert 'data-testid="upcoming-filter"' not in everything

    page = client.get(
        reverse("console:dashboard"), {"product": both_products.biz.pk}
    ).content.decode()
    upcoming = page[page.index('id="upcoming-title"') :]
    assert "Biz改定予定" in upcoming
    assert "直販の甲社" in upcoming
    assert "IDプラス改定予定" not in upcoming
    assert "代理店経由の乙社" not in upcoming
    # Said plainly: the panel is filtered, delivery errors are not.
    assert 'data-testid="upcoming-filter"' in upcoming
    assert 'data-testid="unfiltered"' in upcoming


def test_upcoming_panel_follows_the_sales_channel_filter(client, viewer, both_products) -> None:
    client.force_login(viewer)
    page = client.get(reverse("console:dashboard"), {"partner": "direct"}).content.decode()
    upcoming = page[page.index('id="upcoming-title"') :]
    assert "直販の甲社" in upcoming
    assert "代理店経由の乙社" not in upcoming
    # A revision concerns every channel: still listed, and the page says why.
    assert "IDプラス改定予定" in upcoming
    assert "すべての販売経路に共通" in upcoming
