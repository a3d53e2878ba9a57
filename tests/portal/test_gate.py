"""The consent gate: admins are sent to the pending explicit revision first, viewers see a
banner, and the lookup costs at most one query cold and none warm."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import RequestFactory

from agreements.enums import ConsentMode, ConsentStatus
from agreements.models import ConsentState
from agreements.services.consents import consent_answer, consents_apply_effective
from core import clock
from tenants.scope import Scope
from tests.factories.tenants import StaffFactory
from tests.portal.conftest import build_world, signed_in
from web.portal.gate import gate_invalidate, gate_items
from web.portal.middleware import ConsentGateMiddleware
from web.requests import PortalContext

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_gate_admin_is_sent_to_the_pending_explicit_revision(world, admin_client) -> None:
    review = f"/portal/changes/{world.v2.pk}/"
    for url in ("/portal/", "/portal/contracts/", "/portal/receipts/", "/portal/members/"):
        response = admin_client.get(url)
        assert (response.status_code, response["Location"]) == (302, review)
    page = admin_client.get(review)
    assert page.status_code == 200
    assert "回答するまで、ポータルの他の画面は使えません" in page.content.decode()


def test_gate_opens_after_the_admin_answers(world, admin_client) -> None:
    assert admin_client.get("/portal/").status_code == 302
    admin_client.post(f"/portal/changes/{world.v2.pk}/answer/", {"answer": "accepted"})
    assert admin_client.get("/portal/").status_code == 200


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


def test_gate_outstanding_after_the_effective_date_still_gates(world, admin_client) -> None:
    with clock.frozen_at(date(2025, 4, 2)):
        consents_apply_effective(version=world.v2, today=date(2025, 4, 2))
        state = ConsentState.objects.get(tenant=world.tenant, document=world.document)
        assert state.status == ConsentStatus.OUTSTANDING
        response = admin_client.get("/portal/contracts/")
    assert response["Location"] == f"/portal/changes/{world.v2.pk}/"


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
    with django_assert_num_queries(0):
        warm = middleware.process_view(request, view, (), {})
    assert cold["Location"] == warm["Location"] == f"/portal/changes/{world.v2.pk}/"


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
