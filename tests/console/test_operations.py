"""Product API keys (shown once, revocable) and the retry of failed deliveries."""

from __future__ import annotations

import pytest
from django.urls import reverse

from agreements.catalog import catalog_ensure
from agreements.models import ProductKey
from agreements.services.product_keys import product_key_authenticate
from core import clock
from core.enums import OutboxStatus
from core.models import Outbox

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_product_key_issued_once_and_revoked(client, publisher, viewer) -> None:
    product = catalog_ensure().biz
    client.force_login(viewer)
    url = reverse("console:product-key-issue", args=[product.pk])
    assert client.post(url, {f"p{product.pk}-name": "x"}).status_code == 403
    client.force_login(publisher)
    response = client.post(
        url, {f"p{product.pk}-name": "本番", f"p{product.pk}-scopes": ["status:read"]}
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    plain = response.context["issued_key"]
    assert product_key_authenticate(plain) is not None
    assert plain not in client.get(reverse("console:products")).content.decode()
    key = ProductKey.objects.get(product=product)
    client.post(reverse("console:product-key-revoke", args=[key.pk]))
    assert product_key_authenticate(plain) is None


def test_failed_deliveries_can_be_retried(client, editor, viewer) -> None:
    row = Outbox.objects.create(
        kind="contract.termination",
        channel="email",
        dedupe_key="test:1",
        recipient="it@customer.example",
        status=OutboxStatus.DEAD,
        attempts=8,
        last_error="550 mailbox unavailable",
        next_attempt_at=clock.now(),
    )
    client.force_login(viewer)
    page = client.get(reverse("console:deliveries"))
    assert "550 mailbox unavailable" in page.content.decode()
    assert client.post(reverse("console:deliveries"), {"ids": [row.pk]}).status_code == 403
    client.force_login(editor)
    client.post(reverse("console:deliveries"), {"ids": [row.pk]})
    row.refresh_from_db()
    assert row.status == OutboxStatus.PENDING
    assert row.attempts == 0


def test_the_deliveries_table_scrolls_in_a_named_keyboard_region(client, viewer) -> None:
    """axe scrollable-region-focusable: the wrap scrolls sideways on a narrow screen and may
    hold nothing focusable (no resendable row, or none at all), so the region itself takes
    the focus and is named by the page heading, as the other console tables."""
    client.force_login(viewer)
    body = client.get(reverse("console:deliveries")).content.decode()
    wrap = body.split('data-testid="deliveries-table-wrap"', 1)[0].rsplit("<div", 1)[1]
    assert 'class="table-wrap"' in wrap
    assert 'role="region"' in wrap
    assert 'tabindex="0"' in wrap
    assert 'aria-labelledby="deliveries-title"' in wrap
    assert 'id="deliveries-title"' in body
