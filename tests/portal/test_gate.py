"""The pending-answer banner (R4): a tenant whose explicit-consent answer is pending sees a
banner on every page and the change first on the home page, and keeps every contractual right
(contracts, non-renewal, termination, deletion, receipts, members) before and after the
effective date; the lookup costs at most one query cold and none warm."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import RequestFactory

from agreements.enums import ConsentMode, ConsentStatus, NonRenewalStatus, TerminationReason
from agreements.models import ConsentState, DataDeletion, NonRenewalRequest, Termination
from agreements.services.consents import consent_answer, consents_apply_effective
from agreements.services.contracts.roll import contracts_roll_due
from core import clock
from tenants.scope import Scope
from tests.factories.tenants import StaffFactory
from tests.portal.conftest import build_world, signed_in
from web.portal.gate import gate_invalidate, gate_items
from web.portal.middleware import ConsentGateMiddleware
from web.requests import PortalContext

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

RIGHTS_PAGES = ("/portal/", "/portal/contracts/", "/portal/receipts/", "/portal/members/")
# The ID+ contract's first period ends 2025-03-31; its non-renewal deadline is 2025-02-28.
DEADLINE = date(2025, 2, 28)


def _banner(body: str, version_id: int) -> bool:
    return 'data-testid="gate-banner"' in body and f"/portal/changes/{version_id}/" in body


def test_gate_r4_admin_is_never_redirected_and_sees_the_banner(world, admin_client) -> None:
    for url in (*RIGHTS_PAGES, f"/portal/contracts/{world.contract.pk}/"):
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert _banner(response.content.decode(), world.v2.pk), url
    page = admin_client.get(f"/portal/changes/{world.v2.pk}/").content.decode()
    assert "ポータルの他の画面は使えません" not in page
    assert "契約上のお手続きはこれまでどおりご利用いただけます" in page


def test_gate_r4_home_page_lists_the_pending_answer_first(world, admin_client) -> None:
    body = admin_client.get("/portal/").content.decode()
    pending = body.index('id="pending-heading"')
    assert pending < body.index('id="contracts-heading"') < body.index('id="documents-heading"')
    assert body.index(f"/portal/changes/{world.v2.pk}/", pending) < body.index(
        'id="contracts-heading"'
    )


def test_gate_r4_banner_goes_once_the_admin_answers(world, admin_client) -> None:
    assert _banner(admin_client.get("/portal/").content.decode(), world.v2.pk)
    admin_client.post(f"/portal/changes/{world.v2.pk}/answer/", {"answer": "accepted"})
    response = admin_client.get("/portal/")
    assert response.status_code == 200
    assert 'data-testid="gate-banner"' not in response.content.decode()


@pytest.mark.parametrize(
    ("notice_on", "effective_on"),
    [
        (date(2025, 2, 10), date(2025, 3, 15)),  # before the effective date: `no_answer`
        (date(2025, 1, 10), date(2025, 2, 20)),  # after it: `outstanding`
    ],
    ids=["before-effective", "after-effective"],
)
def test_gate_r4_non_renewal_on_its_deadline_day_is_recorded(
    db, notice_on: date, effective_on: date
) -> None:
    with clock.frozen_at(notice_on):
        world = build_world(
            name="期限日商事株式会社", notice_on=notice_on, effective_on=effective_on
        )
    client = signed_in(world.admin)
    contract = world.contract
    with clock.frozen_at(DEADLINE):
        if effective_on <= DEADLINE:
            consents_apply_effective(version=world.v2, today=effective_on)
        page = client.get(f"/portal/contracts/{contract.pk}/")
        assert page.status_code == 200
        assert _banner(page.content.decode(), world.v2.pk)
        # R13: confirmed on screen first, then filed (and given a receipt).
        shown = client.post(f"/portal/contracts/{contract.pk}/non-renewal/")
        assert 'data-testid="confirm-step"' in shown.content.decode()
        response = client.post(f"/portal/contracts/{contract.pk}/non-renewal/", {"confirm": "1"})
    request = NonRenewalRequest.objects.get(contract=contract)
    assert (response.status_code, response["Location"]) == (
        302,
        f"/portal/requests/non-renewal/{request.pk}/",
    )
    assert (request.end_date, request.deadline, request.status) == (
        date(2025, 3, 31),
        DEADLINE,
        NonRenewalStatus.ACTIVE,
    )


@pytest.mark.parametrize("on", [date(2025, 3, 10), date(2025, 4, 2)], ids=["before", "after"])
def test_gate_r4_termination_and_deletion_work_with_an_answer_pending(db, on: date) -> None:
    with clock.frozen_at(date(2025, 3, 10)):
        world = build_world(name=f"解約{on.day}商事株式会社")
    client = signed_in(world.admin)
    contract = world.contract
    if on > world.v2.effective_on:
        # Let the first period run on: renew it as the lifecycle would have on 2025-04-01.
        with clock.frozen_at(date(2025, 4, 1)):
            contracts_roll_due(today=date(2025, 4, 1))
            consents_apply_effective(version=world.v2, today=date(2025, 4, 1))
    end = date(2025, 3, 25) if on < world.v2.effective_on else date(2025, 4, 20)
    with clock.frozen_at(on):
        assert gate_items(world.tenant.pk), "an answer is pending"
        response = client.post(
            f"/portal/contracts/{contract.pk}/termination/",
            {"end_date": end.isoformat(), "confirm": "on"},
        )
        assert response.status_code == 302
        deletion = client.post(f"/portal/contracts/{contract.pk}/deletion/", {"confirm": "on"})
        assert deletion.status_code == 302
    termination = Termination.objects.get(contract=contract)
    assert (termination.end_date, termination.reason) == (end, TerminationReason.CUSTOMER_REQUEST)
    assert DataDeletion.objects.filter(contract=contract).exists()


def test_gate_r4_receipts_and_members_work_with_an_answer_pending(world, admin_client) -> None:
    invited = admin_client.post(
        "/portal/members/invite/", {"email": "colleague@customer.example", "role": "viewer"}
    )
    assert invited.status_code == 302
    assert "/portal/changes/" not in invited["Location"]
    admin_client.post(f"/portal/changes/{world.v2.pk}/answer/", {"answer": "rejected"})
    # A rejection keeps the banner off (answered) and its receipt readable.
    receipts = admin_client.get("/portal/receipts/")
    assert receipts.status_code == 200


def test_gate_viewer_sees_a_banner_not_a_redirect(world, viewer_client) -> None:
    response = viewer_client.get("/portal/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="gate-banner"' in body
    assert f"/portal/changes/{world.v2.pk}/" in body
    assert "回答はテナントの管理者が行います" in body


def test_gate_ignores_deemed_mode_revisions(db, today) -> None:
    world = build_world(name="みなし商事株式会社", mode=ConsentMode.DEEMED)
    assert world.v2.consent_mode == ConsentMode.DEEMED
    assert signed_in(world.admin).get("/portal/").status_code == 200


def test_gate_r4_outstanding_after_the_effective_date_keeps_the_banner(world, admin_client) -> None:
    with clock.frozen_at(date(2025, 4, 2)):
        consents_apply_effective(version=world.v2, today=date(2025, 4, 2))
        state = ConsentState.objects.get(tenant=world.tenant, document=world.document)
        assert state.status == ConsentStatus.OUTSTANDING
        response = admin_client.get("/portal/contracts/")
    assert response.status_code == 200
    assert _banner(response.content.decode(), world.v2.pk)


def test_gate_r4_no_banner_for_a_revision_effective_after_the_filed_end(
    world, admin_client
) -> None:
    """A termination ending before the revision takes effect: no answer is owed (R4)."""
    admin_client.post(
        f"/portal/contracts/{world.contract.pk}/termination/",
        {"end_date": "2025-03-25", "confirm": "on"},
    )
    gate_invalidate(world.tenant.pk)
    assert gate_items(world.tenant.pk) == ()
    body = admin_client.get("/portal/").content.decode()
    assert 'data-testid="gate-banner"' not in body
    assert 'data-testid="pending-document"' not in body


def test_gate_does_not_gate_a_tenant_whose_contract_ended(world) -> None:
    world.contract.status = "ended"
    world.contract.ended_on = date(2025, 3, 1)
    world.contract.end_reason = "expired"
    world.contract.save()
    gate_invalidate(world.tenant.pk)
    assert gate_items(world.tenant.pk) == ()


def test_gate_lookup_is_one_query_cold_and_none_warm(
    world, django_assert_max_num_queries, django_assert_num_queries
) -> None:
    gate_invalidate(world.tenant.pk)
    with django_assert_max_num_queries(1):
        cold = gate_items(world.tenant.pk)
    with django_assert_num_queries(0):
        warm = gate_items(world.tenant.pk)
    assert [item.version_id for item in cold] == [world.v2.pk]
    assert warm == cold


def test_gate_middleware_adds_at_most_one_query_cold_and_none_warm(
    world, django_assert_max_num_queries, django_assert_num_queries
) -> None:
    """The middleware's own cost, measured around process_view with the portal context set
    (the current-tenant middleware's membership read is not the gate's)."""
    membership = world.admin
    membership.tenant  # noqa: B018 -- load the tenant before counting
    request = RequestFactory().get("/portal/")
    request.portal = PortalContext(user=membership.user, membership=membership)
    middleware = ConsentGateMiddleware(lambda r: None)

    def view(request):  # a portal page that the gate checks
        return None

    view.portal_gate = "check"
    gate_invalidate(world.tenant.pk)
    with django_assert_max_num_queries(1):
        cold = middleware.process_view(request, view, (), {})
        cold_items = request.consent_gate
    with django_assert_num_queries(0):
        warm = middleware.process_view(request, view, (), {})
    # R4: it never answers for the view (no redirect), it only sets the banner's items.
    assert cold is None
    assert warm is None
    assert [item.version_id for item in cold_items] == [world.v2.pk]
    assert request.consent_gate == cold_items


def test_gate_answer_invalidates_the_cached_lookup(world, admin_client) -> None:
    assert [i.version_id for i in gate_items(world.tenant.pk)] == [world.v2.pk]
    admin_client.post(f"/portal/changes/{world.v2.pk}/answer/", {"answer": "accepted"})
    assert gate_items(world.tenant.pk) == ()


def test_gate_sees_an_answer_given_outside_the_portal_at_once(
    world, django_capture_on_commit_callbacks
) -> None:
    assert [i.version_id for i in gate_items(world.tenant.pk)] == [world.v2.pk]  # now cached
    staff = StaffFactory()
    with django_capture_on_commit_callbacks(execute=True):
        consent_answer(
            scope=Scope.staff(staff), tenant=world.tenant, version=world.v2, answer="accepted"
        )
    assert gate_items(world.tenant.pk) == ()


def test_gate_r4_banner_goes_at_once_when_the_revision_is_withdrawn(
    world, admin_client, django_capture_on_commit_callbacks
) -> None:
    """A withdrawn revision waits for no answer: the cached banner (read just before) must not
    outlive the withdrawal, which changes no tenant's own generation."""
    from agreements.services.versions.schedule import version_withdraw

    assert _banner(admin_client.get("/portal/").content.decode(), world.v2.pk)  # now cached
    with django_capture_on_commit_callbacks(execute=True):
        version_withdraw(
            scope=Scope.staff(StaffFactory(is_superuser=True)),
            version=world.v2,
            reason="誤記のため",
        )
    assert gate_items(world.tenant.pk) == ()
    assert 'data-testid="gate-banner"' not in admin_client.get("/portal/").content.decode()
