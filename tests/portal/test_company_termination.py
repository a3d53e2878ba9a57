"""R14: an end the company decided is shown to the customer as the company's decision, with
its article and reason, never as the customer's own request (依頼済み, a receipt); and while a
termination ends the contract first, no non-renewal is offered for a later date."""

from __future__ import annotations

from datetime import date

import pytest

from agreements.services.contracts.terminations import termination_request
from core import clock
from tests.factories.contracts import biz_product, idplus_product, staff_scope
from tests.portal.conftest import biz_renewing, build_world, signed_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.mark.parametrize(
    ("product", "reason", "note", "said"),
    [
        (
            "biz",
            "terms_violation",
            "",
            "当社は、利用規約第13条第1項第2号に基づき、この契約を2025年3月20日（木）をもって終了します",
        ),
        (
            "idplus",
            "listed_grounds",
            "利用料金の未払い",
            "当社は、利用規約第14条第2項に基づき、この契約を2025年3月20日（木）をもって終了します",
        ),
    ],
)
def test_r14_company_termination_is_not_shown_as_the_customers_request(
    db, product, reason, note, said
) -> None:
    world = build_world(product=biz_product() if product == "biz" else idplus_product())
    with clock.frozen_at(date(2025, 3, 3)):
        termination_request(
            scope=staff_scope(),
            contract=world.contract,
            end_date=date(2025, 3, 20),
            reason=reason,
            note=note,
        )
        page = (
            signed_in(world.admin).get(f"/portal/contracts/{world.contract.pk}/").content.decode()
        )
    assert 'data-testid="company-termination"' in page
    assert said in page
    assert 'data-testid="termination-requested"' not in page
    assert "/portal/requests/termination/" not in page
    # The termination ends it before the period does: no non-renewal to file.
    assert 'data-testid="non-renewal-moot"' in page
    assert 'data-testid="non-renewal-apply"' not in page


def test_r14_customer_termination_keeps_its_receipt(db) -> None:
    world = build_world(product=biz_product())
    client = signed_in(world.admin)
    with clock.frozen_at(date(2025, 3, 3)):
        client.post(
            f"/portal/contracts/{world.contract.pk}/termination/",
            {"end_date": "2025-03-20", "confirm": "1"},
        )
        page = client.get(f"/portal/contracts/{world.contract.pk}/").content.decode()
    assert 'data-testid="termination-requested"' in page
    assert 'data-testid="company-termination"' not in page


def test_r14_company_termination_before_a_filed_non_renewal_says_it_ends_first(db) -> None:
    world = build_world(product=biz_renewing())
    client = signed_in(world.admin)
    with clock.frozen_at(date(2025, 2, 3)):
        client.post(
            f"/portal/contracts/{world.contract.pk}/non-renewal/",
            {"end_date": "2025-03-31", "confirm": "1"},
        )
        termination_request(
            scope=staff_scope(),
            contract=world.contract,
            end_date=date(2025, 3, 20),
            reason="terms_violation",
        )
        page = client.get(f"/portal/contracts/{world.contract.pk}/").content.decode()
    assert (
        "受け付けた更新しない旨の申込による終了日（2025年3月31日（月））より前の"
        "2025年3月20日（木）に、この契約は終了する予定です。" in page
    )
    assert "申込を取り下げる" not in page
    assert 'data-testid="company-termination"' in page


def test_r14_home_shows_the_company_termination_end_before_a_filed_non_renewal(db) -> None:
    """The home page's contract table names the end that comes first: the company's
    termination on 3月20日, not the non-renewal filed for 3月31日."""
    world = build_world(product=biz_renewing())
    client = signed_in(world.admin)
    with clock.frozen_at(date(2025, 2, 3)):
        client.post(
            f"/portal/contracts/{world.contract.pk}/non-renewal/",
            {"end_date": "2025-03-31", "confirm": "1"},
        )
        before = client.get("/portal/").content.decode()
        termination_request(
            scope=staff_scope(),
            contract=world.contract,
            end_date=date(2025, 3, 20),
            reason="terms_violation",
        )
        after = client.get("/portal/").content.decode()
    assert "申込済み（2025年3月31日（月）に終了）" in before
    assert "当社による契約終了（2025年3月20日（木）に終了）" in after
    assert "申込済み（2025年3月31日（月）に終了）" not in after
    assert "解約予定" not in after


def test_r6_a_confirmed_rejection_case_says_accepting_withdraws_it(db) -> None:
    """A termination the company confirmed over a rejection (Biz 2.4) can still be undone by
    accepting before its end: the contract page says so, and where to ask for an earlier end."""
    from agreements.models import TerminationCase
    from agreements.services.consents.cases import case_confirm
    from tests.portal.conftest import signed_in as _signed_in

    world = build_world(product=biz_renewing())
    client = _signed_in(world.admin)
    url = f"/portal/changes/{world.v2.pk}/answer/"
    client.post(url, {"answer": "rejected", "confirm": "True"})
    case = TerminationCase.objects.get(tenant=world.tenant)
    case_confirm(scope=staff_scope(), case=case)
    page = client.get(f"/portal/contracts/{world.contract.pk}/").content.decode()
    assert 'data-testid="company-termination"' in page
    assert 'data-testid="case-revocable"' in page
    assert "改定後の規約に同意いただくと、この終了の手続きは取り下げられます。" in page
