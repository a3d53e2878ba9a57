"""Contracts in the portal: non-renewal with its concrete deadline (R11), withdrawal,
termination with an end date (R13), data deletion (R15) and the R18 warning."""

from __future__ import annotations

from datetime import date

import pytest

from agreements.enums import DeletionKind, NonRenewalStatus, TerminationReason
from agreements.models import DataDeletion, NonRenewalRequest, Termination
from agreements.services.contracts.roll import contracts_roll_due
from agreements.services.contracts.terminations import termination_request
from core import clock
from tests.factories.contracts import (
    biz_product,
    device_auth_option,
    idplus_product,
    make_contract,
    staff_scope,
)
from tests.factories.tenants import MembershipFactory, TenantFactory
from tests.portal.conftest import signed_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def answered(world, admin_client):
    """The admin has answered the pending revision, so the gate is open."""
    admin_client.post(f"/portal/changes/{world.v2.pk}/answer/", {"answer": "accepted"})
    return world


def test_non_renewal_on_the_deadline_day_succeeds(answered, admin_client) -> None:
    contract = answered.contract
    with clock.frozen_at(date(2025, 2, 28)):
        page = admin_client.get(f"/portal/contracts/{contract.pk}/").content.decode()
        assert "申込期限は<strong>2025年2月28日（金）</strong>（あと0日）" in page
        # R13: the first post only shows what would be filed; the confirmed one files it.
        shown = admin_client.post(f"/portal/contracts/{contract.pk}/non-renewal/")
        assert 'data-testid="confirm-step"' in shown.content.decode()
        assert not NonRenewalRequest.objects.filter(contract=contract).exists()
        response = admin_client.post(
            f"/portal/contracts/{contract.pk}/non-renewal/", {"confirm": "1"}
        )
    request = NonRenewalRequest.objects.get(contract=contract)
    assert response["Location"] == f"/portal/requests/non-renewal/{request.pk}/"
    assert (request.end_date, request.deadline, request.status) == (
        date(2025, 3, 31),
        date(2025, 2, 28),
        NonRenewalStatus.ACTIVE,
    )


def test_non_renewal_the_day_after_is_refused_with_both_dates_and_a_choice(
    answered, admin_client
) -> None:
    contract = answered.contract
    url = f"/portal/contracts/{contract.pk}/non-renewal/"
    with clock.frozen_at(date(2025, 3, 1)):
        refused = admin_client.post(url)
        body = refused.content.decode()
        assert refused.status_code == 409
        assert "2025-02-28" in body  # the deadline that passed
        assert "2026-03-31" in body  # the next possible end
        assert 'data-testid="non-renewal-next"' in body
        assert 'name="end_date" value="2026-03-31"' in body
        assert not NonRenewalRequest.objects.filter(contract=contract).exists()
        accepted = admin_client.post(url, {"end_date": "2026-03-31", "confirm": "1"})
    assert accepted.status_code == 302
    request = NonRenewalRequest.objects.get(contract=contract)
    assert (request.end_date, request.deadline) == (date(2026, 3, 31), date(2026, 2, 28))


def test_non_renewal_withdraw_before_its_deadline(answered, admin_client) -> None:
    contract = answered.contract
    with clock.frozen_at(date(2025, 2, 20)):
        admin_client.post(f"/portal/contracts/{contract.pk}/non-renewal/", {"confirm": "1"})
        request = NonRenewalRequest.objects.get(contract=contract)
        response = admin_client.post(
            f"/portal/contracts/{contract.pk}/non-renewal/withdraw/",
            {"request_id": request.pk, "confirm": "1"},
        )
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == NonRenewalStatus.WITHDRAWN


def test_termination_with_an_end_date(answered, admin_client) -> None:
    contract = answered.contract
    url = f"/portal/contracts/{contract.pk}/termination/"
    # R13: unconfirmed, nothing is filed (here the preview already refuses the late end).
    unconfirmed = admin_client.post(url, {"end_date": "2025-06-30"})
    assert unconfirmed.status_code == 409
    past = admin_client.post(url, {"end_date": "2025-03-01", "confirm": "on"})
    assert "過去の日付です" in past.content.decode()
    # R11/R13: 06-30 is past the period end (03-31) and its deadline (02-28): a non-renewal,
    # refused with the next possible end. An end before the period end is a termination.
    late = admin_client.post(url, {"end_date": "2025-06-30", "confirm": "on"})
    assert "2026-03-31" in late.content.decode()
    assert not Termination.objects.filter(contract=contract).exists()
    response = admin_client.post(url, {"end_date": "2025-03-25", "confirm": "on", "note": "移行"})
    assert response.status_code == 302
    termination = Termination.objects.get(contract=contract)
    assert (termination.end_date, termination.reason) == (
        date(2025, 3, 25),
        TerminationReason.CUSTOMER_REQUEST,
    )
    page = admin_client.get(f"/portal/contracts/{contract.pk}/").content.decode()
    assert "契約は2025年3月25日（火）に終了します" in page


def test_data_deletion_needs_an_end_then_shows_its_due_date(answered, admin_client) -> None:
    contract = answered.contract
    url = f"/portal/contracts/{contract.pk}/deletion/"
    refused = admin_client.post(url, {"confirm": "on"})
    assert "契約の終了日が決まった後" in refused.content.decode()
    admin_client.post(
        f"/portal/contracts/{contract.pk}/termination/",
        {"end_date": "2025-03-20", "confirm": "on"},
    )
    page = admin_client.get(f"/portal/contracts/{contract.pk}/").content.decode()
    # R15: an ID+ contract gets no Biz 10.3 timetable (the Biz page has its own test).
    assert "2025年4月21日（月）" not in page
    # ID+ 9.2 does say the accounts go on the end date: that much is stated (R13).
    assert (
        "アカウントは終了日をもって削除されます（利用規約第9条第1項、第9条第2項）。"
        "それ以外のデータの削除時期は、ご契約内容をご確認ください。" in page
    )
    response = admin_client.post(url, {"confirm": "on"}, follow=True)
    deletion = DataDeletion.objects.get(contract=contract, kind=DeletionKind.REQUESTED)
    # The later of the day after the end (03-21) and today + 14 days (03-24).
    assert deletion.due_on == date(2025, 3, 24)
    # R15: no deletion date promised for ID+ (no timetable in its available text).
    assert "2025年3月24日（月）に製品へ削除を指示します" in response.content.decode()
    assert "までに削除します" not in response.content.decode()


def test_r18_warning_when_ending_the_biz_contract_a_device_option_needs(db, today) -> None:
    tenant = TenantFactory()
    biz = biz_product()
    idplus = idplus_product()
    option = device_auth_option(idplus=idplus, biz=biz)
    biz_contract = make_contract(tenant=tenant, product=biz)
    make_contract(tenant=tenant, product=idplus, options=[option])
    client = signed_in(MembershipFactory(tenant=tenant))
    page = client.get(f"/portal/contracts/{biz_contract.pk}/").content.decode()
    assert 'data-testid="r18-warning"' in page
    assert "デバイス認証" in page


# --- What each product's terms say, on the contract page (R12, R13, R15, R16) -------------


def _page_for(contract, today) -> str:
    admin = MembershipFactory(tenant=contract.tenant, role="admin")
    with clock.frozen_at(today):
        return signed_in(admin).get(f"/portal/contracts/{contract.pk}/").content.decode()


def test_contract_page_r15_r16_biz_timetable_and_two_limb_claims_window(db) -> None:
    contract = make_contract(tenant=TenantFactory(), product=biz_product())

    contracts_roll_due(today=date(2025, 4, 1))
    page = _page_for(contract, date(2025, 4, 2))
    assert (
        "損害の発生から3か月又は契約終了後3か月（2025年6月30日（月））のいずれか早い日までに、"
        "書面で（利用規約第12条第3項）"
    ) in page
    assert (
        "2025年5月1日（木）以降、当社の判断で削除することがあります（利用規約第10条第3項）" in page
    )
    assert "1年間保有したのち、2026年4月1日（水）から順次削除します" in page
    assert "日割り" not in page
    assert "損害賠償請求の期限" not in page


def test_contract_page_r12_r13_idplus_says_no_proration_and_see_your_contract(db) -> None:
    contract = make_contract(tenant=TenantFactory(), product=idplus_product())
    page = _page_for(contract, date(2024, 9, 10))
    assert "原則として、料金の日割り計算は行いません（利用規約第7条第3項）。" in page
    assert (
        "終了日をもってアカウントは削除され、以後は復旧できません（利用規約第9条第1項、第9条第2項）。"
        in page
    )
    assert "第10条" not in page
    assert "第12条" not in page


def test_contract_page_r15_idplus_repeats_no_biz_deletion_wording_nor_its_14_days(db) -> None:
    contract = make_contract(tenant=TenantFactory(), product=idplus_product())
    # A known end (a termination), so the deletion request is offered.
    with clock.frozen_at(date(2024, 9, 10)):
        termination_request(
            scope=staff_scope(), contract=contract, end_date=date(2024, 10, 31), note=""
        )
    page = _page_for(contract, date(2024, 9, 10))
    assert "データの削除を依頼できます。削除の時期は、ご契約内容をご確認ください。" in page
    assert "日後のいずれか遅い日までに削除します" not in page
    assert "解約・更新しない旨の申込と同時、または利用期間の終了後" not in page
    assert "第10条" not in page


def test_contract_page_r12_biz_says_nothing_of_proration(db) -> None:
    contract = make_contract(tenant=TenantFactory(), product=biz_product())
    page = _page_for(contract, date(2024, 9, 10))
    assert "日割り" not in page
    assert "データは、下の「データの削除」のとおり取り扱います。" in page
