"""Every date the portal and /verify/ show a person carries its weekday, written by the one
formatter (core.dates through the *_wd filters): 2026年12月16日（水） / Wed, 16 Dec 2026 —
contract lists and pages, a rejection's consequence, answers, receipts and their check."""

from __future__ import annotations

from datetime import date

import pytest
from django.conf import settings

from agreements.models import ConsentRecord, RequestReceipt
from agreements.services import contracts as contract_services
from agreements.services import deletions as deletion_services
from core import clock
from tenants.scope import Scope
from tests.console.test_no_iso_dates import EN_DATE, JA_DATE_NO_WEEKDAY, visible_text
from tests.portal.conftest import biz_renewing, build_world, signed_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.mark.parametrize("language", ["ja", "en"])
def test_portal_and_verify_dates_carry_their_weekday(db, language) -> None:
    with clock.frozen_at(date(2025, 2, 10)):
        world = build_world(product=biz_renewing(), effective_on=date(2025, 3, 20))
        scope = Scope.tenant_user(world.admin)
        request = contract_services.non_renewal_request(scope=scope, contract=world.contract)
        deletion_services.deletion_request(scope=scope, contract=world.contract)
    client = signed_in(world.admin)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    with clock.frozen_at(date(2025, 3, 10)):
        client.post(f"/portal/changes/{world.v2.pk}/answer/", {"answer": "accepted"})
        record = ConsentRecord.objects.get(tenant=world.tenant)
        contract = f"/portal/contracts/{world.contract.pk}/"
        pages = {
            url: client.get(url).content.decode()
            for url in (
                "/portal/",
                "/portal/contracts/",
                contract,
                f"/portal/changes/{world.v2.pk}/",
                "/portal/receipts/",
                f"/portal/receipts/{record.pk}/",
                f"/portal/requests/non-renewal/{request.pk}/",
                f"/verify/?hash={record.hash}",
                f"/verify/?hash={RequestReceipt.objects.first().digest}",
            )
        }
        pages["reject"] = client.post(
            f"/portal/changes/{world.v2.pk}/answer/", {"answer": "rejected"}
        ).content.decode()
        pages["withdraw"] = client.post(
            f"{contract}non-renewal/withdraw/", {"request_id": request.pk}
        ).content.decode()
    pattern = JA_DATE_NO_WEEKDAY if language == "ja" else EN_DATE
    found = {
        url: dates
        for url, html in pages.items()
        if (dates := pattern.findall(visible_text(html, skip_ja=language == "en")))
    }
    assert found == {}
