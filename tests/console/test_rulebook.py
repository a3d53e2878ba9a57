"""The console's read-only page of each product's rulebook, and contract facts per product."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from core import clock
from tests.factories.contracts import idplus_product, make_contract
from tests.factories.tenants import TenantFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_rulebook_page_r14_r16_lists_each_product_with_articles(client, viewer) -> None:
    client.force_login(viewer)
    page = client.get(reverse("console:rulebook")).content.decode()
    assert 'data-testid="rulebook-optimal-biz"' in page
    assert 'data-testid="rulebook-optim-id-plus"' in page
    assert "第12条第3項" in page  # Biz R16
    assert "第14条第2項" in page  # ID+ R14
    assert "months_after_end" in page
    assert "全文ではありません" in page  # the ID+ text is an excerpt


def test_rulebook_page_needs_a_staff_sign_in(client) -> None:
    response = client.get(reverse("console:rulebook"))
    assert response.status_code in (302, 403)


def test_contract_detail_r17_cap_only_on_biz_with_the_intent_note(client, world, viewer) -> None:
    client.force_login(viewer)
    biz_page = client.get(reverse("console:contract-detail", args=[world.contract.pk]))
    assert "故意又は重大な過失による損害には適用されません" in biz_page.content.decode()
    idplus = make_contract(tenant=TenantFactory(), product=idplus_product())
    with clock.frozen_at(date(2024, 6, 1)):
        page = client.get(reverse("console:contract-detail", args=[idplus.pk])).content.decode()
    assert "利用規約に定めなし（ご契約内容を確認）" in page
    assert "原則として日割りなし（利用規約第7条第3項）" in page
    assert "第13条" not in page
