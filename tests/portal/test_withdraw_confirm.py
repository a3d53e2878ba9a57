"""Withdrawing a filed request is confirmed first, as filing is: a withdrawn non-renewal lets
the contract renew (with its date and fee), a withdrawn deletion request deletes nothing. The
first POST only shows that; the confirmation page starts at its heading (no JavaScript)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.conf import settings

from agreements.enums import DeletionStatus, NonRenewalStatus
from agreements.services import contracts as contract_services
from agreements.services import deletions as deletion_services
from core import clock
from tenants.scope import Scope
from tests.portal.conftest import signed_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

DAY = date(2025, 2, 10)


def _filed(world):
    scope = Scope.tenant_user(world.admin)
    request = contract_services.non_renewal_request(scope=scope, contract=world.contract)
    deletion = deletion_services.deletion_request(scope=scope, contract=world.contract)
    return request, deletion


def _focused(page: str) -> list[str]:
    return re.findall(r"<\w+[^>]*\sautofocus[^>]*>", page)


def test_withdrawing_a_non_renewal_is_confirmed_first_and_says_the_contract_renews(world) -> None:
    client = signed_in(world.admin)
    url = f"/portal/contracts/{world.contract.pk}/non-renewal/withdraw/"
    with clock.frozen_at(DAY):
        request, deletion = _filed(world)
        shown = client.post(url, {"request_id": request.pk})
        page = shown.content.decode()
        assert shown.status_code == 200
        request.refresh_from_db()
        assert request.status == NonRenewalStatus.ACTIVE  # nothing withdrawn yet
        assert (
            "契約は2025年3月31日（月）に終了せず、2025年4月1日（火）から自動更新されます。" in page
        )
        assert "月額 10,000円で更新されます。" in page
        # The deletion request that relied on the end goes with it (R15): said, not silent.
        assert 'data-testid="withdraw-deletion-cancelled"' in page
        assert 'name="confirm" value="1"' in page
        focused = _focused(page)
        assert len(focused) == 1, focused
        assert focused[0].startswith("<h1 "), focused
        confirmed = client.post(url, {"request_id": request.pk, "confirm": "1"})
    assert confirmed.status_code == 302
    request.refresh_from_db()
    deletion.refresh_from_db()
    assert request.status == NonRenewalStatus.WITHDRAWN
    assert deletion.status == DeletionStatus.CANCELLED


def test_withdrawing_a_deletion_request_is_confirmed_first(world) -> None:
    client = signed_in(world.admin)
    url = f"/portal/contracts/{world.contract.pk}/deletion/withdraw/"
    with clock.frozen_at(DAY):
        _, deletion = _filed(world)
        shown = client.post(url, {"deletion_id": deletion.pk})
        page = shown.content.decode()
        assert shown.status_code == 200
        deletion.refresh_from_db()
        assert deletion.status == DeletionStatus.SCHEDULED
        assert "この依頼による削除は行いません。" in page
        focused = _focused(page)
        assert len(focused) == 1, focused
        assert focused[0].startswith("<h1 "), focused
        confirmed = client.post(url, {"deletion_id": deletion.pk, "confirm": "1"})
    assert confirmed.status_code == 302
    deletion.refresh_from_db()
    assert deletion.status == DeletionStatus.CANCELLED


def test_withdraw_confirmation_in_english(world) -> None:
    client = signed_in(world.admin)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with clock.frozen_at(DAY):
        request, _ = _filed(world)
        page = client.post(
            f"/portal/contracts/{world.contract.pk}/non-renewal/withdraw/",
            {"request_id": request.pk},
        ).content.decode()
    assert "renew" in page
    assert "更新されます" not in page
